/**
 * The `opcua` section: PLCs (OPC UA servers) the gateway connects to as a client, and how each of their readers
 * maps to a station, hands over its reads and takes its decisions back. Off by default, so that the built-in
 * defaults run without a PLC. Cross-field checks (stations exist, ids unique) are in opcuaCrossCheck, called from
 * cross-check.ts. Every numeric key states its unit.
 */
import { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import type { Config } from './schema.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const token = (what: string) => z.string().regex(TOKEN, `${what} must be 1-64 characters of A-Z a-z 0-9 _ -`);

/** `ns=3;s=Line1.Reader1`, `nsu=urn:plc;i=1001`, `i=2258` (OPC UA Part 6 5.3.1.10 string form, plus nsu=). */
export const NODE_ID_RE = /^(ns=\d{1,5};|nsu=[^;]+;)?(i=\d{1,10}|s=.+|g=[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|b=[A-Za-z0-9+/=]+)$/;
const nodeId = z.string().regex(NODE_ID_RE, 'a node id such as ns=3;s=Line1.Reader1 or nsu=urn:my-plc;s=Line1.Reader1');

export const OPCUA_SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
/** Policies offered: the RSA-OAEP/PSS ones only (Basic128Rsa15 and Basic256 use PKCS#1 v1.5, CVE-2023-46809). */
export const OPCUA_SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export const OPCUA_WAYS = ['event', 'scan', 'data', 'counter'] as const;
export const OPCUA_DECISION_MODES = ['none', 'structure', 'nodes', 'method'] as const;

const decisionSchema = z.strictObject({
  /** none: no write-back (verdicts on MQTT only); structure: one {seq, decision, reasonCode} node; nodes: three nodes; method: a call. */
  mode: z.enum(OPCUA_DECISION_MODES).default('none'),
  /** structure: the node written with {seq, decision, reasonCode} (fields matched by name, case-insensitive). */
  node: nodeId.optional(),
  /** nodes: where the seq goes (written last, in the same request: it tells the PLC the other two are set). */
  seqNode: nodeId.optional(),
  /** nodes: where the decision value goes. */
  valueNode: nodeId.optional(),
  /** nodes: where the reason code goes (optional). */
  reasonCodeNode: nodeId.optional(),
  /** method: the object the method is called on, and the method (input arguments seq, decision, reasonCode). */
  objectNode: nodeId.optional(),
  methodNode: nodeId.optional(),
  /** Values written for an accepted / rejected read. */
  acceptValue: z.number().int().min(0).max(65535).default(1),
  rejectValue: z.number().int().min(0).max(65535).default(2),
});

const readerSchema = z
  .strictObject({
    /** Reader name (logs, metrics, the device of the reads). */
    id: token('reader id'),
    /** The station whose rules decide this reader's reads. */
    line: token('line id'),
    station: token('station id'),
    /** event: AutoID scan events; scan: call Scan on each trigger; data: a {seq, code, ts} structure; counter: LastScanData + a counter. */
    way: z.enum(OPCUA_WAYS),
    /** event, scan: the AutoID device object (OPC 30010 AutoIdDeviceType). */
    device: nodeId.optional(),
    /** event: which scan events: autoid (AutoIdScanEventType and every subtype) or optical (OpticalScanEventType). */
    eventType: z.enum(['autoid', 'optical']).default('autoid'),
    /** event: a property of the PLC's scan event type that carries its read sequence number (for gaps and the write-back). */
    seqField: z.strictObject({ namespaceUri: z.string().min(1), name: z.string().min(1) }).optional(),
    /** scan: a UInt32 node the PLC counts up when a product is at the reader; its value is the read's seq. */
    triggerNode: nodeId.optional(),
    /** scan: Duration of the Scan call (ScanSettings), in ms. */
    scanTimeoutMs: z.number().int().min(1).max(60_000).default(1_000),
    /** data: the structured variable {seq, code, ts}. */
    dataNode: nodeId.optional(),
    /** data: field names in the structure, when they are not seq, code, ts (matched case-insensitively). */
    fields: z
      .strictObject({ seq: z.string().min(1).default('seq'), code: z.string().min(1).default('code'), ts: z.string().min(1).default('ts') })
      .prefault({}),
    /** counter: the code (e.g. the device's LastScanData) and the UInt32 read counter written after it. */
    codeNode: nodeId.optional(),
    counterNode: nodeId.optional(),
    /** AIM symbology id put in front of a code that comes without one (e.g. ]d2), so station symbology rules apply. */
    symbologyId: z.string().regex(/^\][A-Za-z][0-9A-Za-z]$/, 'an AIM id such as ]d2').optional(),
    decision: decisionSchema.prefault({}),
  })
  .superRefine((r, ctx) => {
    const need = (key: 'device' | 'triggerNode' | 'dataNode' | 'codeNode' | 'counterNode') => {
      if (r[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is required for way "${r.way}"` });
    };
    if (r.way === 'event' || r.way === 'scan') need('device');
    if (r.way === 'scan') need('triggerNode');
    if (r.way === 'data') need('dataNode');
    if (r.way === 'counter') {
      need('codeNode');
      need('counterNode');
    }
    const d = r.decision;
    const needD = (key: 'node' | 'seqNode' | 'valueNode' | 'objectNode' | 'methodNode') => {
      if (d[key] === undefined) ctx.addIssue({ code: 'custom', path: ['decision', key], message: `is required for decision mode "${d.mode}"` });
    };
    if (d.mode === 'structure') needD('node');
    if (d.mode === 'nodes') {
      needD('seqNode');
      needD('valueNode');
    }
    if (d.mode === 'method') {
      needD('objectNode');
      needD('methodNode');
    }
  });

const endpointSchema = z
  .strictObject({
    /** Name of the PLC (logs, metrics). */
    id: token('endpoint id'),
    /** opc.tcp://host:port[/path] */
    url: z.string().regex(/^opc\.tcp:\/\/[^\s/:]+(:\d{1,5})?(\/\S*)?$/, 'an OPC UA URL such as opc.tcp://10.0.0.5:4840'),
    /** The connection is refused when the server does not offer this mode with this policy. */
    securityMode: z.enum(OPCUA_SECURITY_MODES).default('SignAndEncrypt'),
    securityPolicy: z.enum(OPCUA_SECURITY_POLICIES).default('Basic256Sha256'),
    /** User identity; without it the session is anonymous. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** File holding the password (first line), instead of `password`. */
    passwordFile: z.string().min(1).optional(),
    /** How often the PLC sends what changed, in ms (a PLC may revise it upwards). */
    publishingIntervalMs: z.number().int().min(1).max(60_000).default(20),
    /** Publishing intervals without change before the PLC sends a keep-alive. */
    keepAliveCount: z.number().int().min(1).max(1000).default(10),
    /** Publishing intervals without contact after which the PLC drops the subscription (>= 3 x keepAliveCount). */
    lifetimeCount: z.number().int().min(3).max(100_000).default(1500),
    /** How long the PLC keeps the session, and the reads queued for it, while the gateway is away, in ms. */
    sessionTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(120_000),
    /** Time limit of one request (read, write, call), in ms. */
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Reads (or events) the PLC queues per reader between two publishes and during short outages. */
    queueSize: z.number().int().min(1).max(100_000).default(1_000),
    /** Write-back requests outstanding at once on this session. */
    maxWritesInFlight: z.number().int().min(1).max(64).default(4),
    /** A decision not written within this time (session down) is dropped and counted, in ms. */
    decisionMaxAgeMs: z.number().int().min(100).max(3_600_000).default(30_000),
    readers: z.array(readerSchema).min(1),
  })
  .superRefine((e, ctx) => {
    if ((e.securityMode === 'None') !== (e.securityPolicy === 'None')) {
      ctx.addIssue({ code: 'custom', path: ['securityPolicy'], message: `"${e.securityPolicy}" does not go with security mode "${e.securityMode}" (None goes with None only)` });
    }
    if (e.lifetimeCount < 3 * e.keepAliveCount) {
      ctx.addIssue({ code: 'custom', path: ['lifetimeCount'], message: `must be at least 3 x keepAliveCount (${3 * e.keepAliveCount}) (OPC UA Part 4 5.13.2)` });
    }
    if (e.password !== undefined && e.passwordFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
    }
    if (e.username === undefined && (e.password !== undefined || e.passwordFile !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'is required with a password' });
    }
  });

export const opcuaSchema = z
  .strictObject({
    /** Connect to the PLCs in `endpoints`. */
    enabled: z.boolean().default(false),
    /** Application name in the gateway's certificate and sessions. */
    applicationName: z.string().min(1).max(64).default('scangate'),
    /** PKI folder: own/ (the gateway's certificate), trusted/certs (servers it trusts), rejected/. Empty: {dataDir}/pki/opcua. */
    pkiDir: z.string().default(''),
    /** The gateway's own certificate and key (PEM); empty: a self-signed one is created in {pkiDir}/own. */
    certificateFile: z.string().default(''),
    privateKeyFile: z.string().default(''),
    /** Trust any server certificate (commissioning only): by default an unknown one is refused and put in {pkiDir}/rejected. */
    trustUnknownServers: z.boolean().default(false),
    /** First and longest wait between connection attempts, in ms; attempts never stop. */
    /** Short on purpose: reads the PLC makes between its return and the gateway's next attempt are lost (counted). */
    reconnectInitialDelayMs: z.number().int().min(10).max(60_000).default(250),
    reconnectMaxDelayMs: z.number().int().min(100).max(600_000).default(2_000),
    /** The PLCs (file only). */
    endpoints: z.array(endpointSchema).min(1).optional(),
  })
  .prefault({});

export type OpcuaConfig = z.output<typeof opcuaSchema>;
export type OpcuaEndpointConfig = z.output<typeof endpointSchema>;
export type OpcuaReaderConfig = z.output<typeof readerSchema>;
export type OpcuaDecisionConfig = z.output<typeof decisionSchema>;

/** Cross-field checks of the opcua section against the rest of the configuration. */
export function opcuaCrossCheck(c: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const o = c.opcua;
  if (o.enabled && (o.endpoints === undefined || o.endpoints.length === 0)) {
    issues.push({ path: 'opcua.endpoints', message: 'is required when opcua.enabled is true', hint: 'list the PLCs: [{id, url, readers: [...]}]' });
  }
  if ((o.certificateFile === '') !== (o.privateKeyFile === '')) {
    issues.push({ path: o.certificateFile === '' ? 'opcua.certificateFile' : 'opcua.privateKeyFile', message: 'certificateFile and privateKeyFile go together', hint: 'give both, or neither for a generated certificate' });
  }
  if (o.reconnectMaxDelayMs < o.reconnectInitialDelayMs) {
    issues.push({ path: 'opcua.reconnectMaxDelayMs', message: `must be at least reconnectInitialDelayMs (${o.reconnectInitialDelayMs})` });
  }
  const stations = new Set<string>();
  for (const line of c.site.lines) for (const st of line.stations) stations.add(`${line.id}/${st.id}`);
  const endpointIds = new Set<string>();
  (o.endpoints ?? []).forEach((e, ei) => {
    if (endpointIds.has(e.id)) issues.push({ path: `opcua.endpoints.${ei}.id`, message: `endpoint id "${e.id}" is declared twice`, hint: 'endpoint ids must be unique' });
    endpointIds.add(e.id);
    const readerIds = new Set<string>();
    e.readers.forEach((r, ri) => {
      const at = `opcua.endpoints.${ei}.readers.${ri}`;
      if (readerIds.has(r.id)) issues.push({ path: `${at}.id`, message: `reader id "${r.id}" is declared twice on endpoint ${e.id}`, hint: 'reader ids must be unique per endpoint' });
      readerIds.add(r.id);
      if (!stations.has(`${r.line}/${r.station}`)) {
        issues.push({ path: `${at}.station`, message: `station ${r.line}/${r.station} is not declared in site.lines`, hint: 'map the reader to a declared line and station' });
      }
    });
  });
  return issues;
}
