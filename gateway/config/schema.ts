/**
 * The one configuration schema. Every numeric key states its unit in its name.
 * Defaults here are the built-in defaults that run on a fresh machine (DESIGN.md "Command line").
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { mqttFields } from './mqtt-schema.js';
import { opcuaSchema } from './opcua-schema.js';
import { OPERATIONS, STATUSES, type OperationName, type StatusName } from '../reasons.js';

/** NATS subject token / MQTT topic level: no dots, wildcards, slashes or spaces. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const token = (what: string) =>
  z.string().regex(TOKEN, `${what} must be 1-64 characters of A-Z a-z 0-9 _ - (it becomes an MQTT topic level and a NATS subject token)`);

const port = z.number().int().min(0).max(65535);
const OPERATION_NAMES = Object.keys(OPERATIONS) as [OperationName, ...OperationName[]];
const STATUS_NAMES = Object.keys(STATUSES).filter((s) => s !== 'UNKNOWN') as [StatusName, ...StatusName[]];

/** The host name, made usable as a gateway id. */
export function defaultGatewayId(): string {
  const h = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return h.length > 0 ? h : 'scangate';
}

export const stationSchema = z.strictObject({
  id: token('station id'),
  operation: z.enum(OPERATION_NAMES),
  /** Payload that means "the scanner saw nothing" (NO_READ). */
  noReadToken: z.string().min(1).max(64).default('NOREAD'),
  /** Character the scanner sends instead of GS (0x1D). */
  gsSubstitute: z.string().length(1).optional(),
  /** DD=00 in an expiry: accept (last day of month), warn, or reject. */
  dd00Policy: z.enum(['accept', 'warn', 'reject']).default('accept'),
  /** AIM symbology ids accepted at this station; absent: every GS1 symbology. */
  allowedSymbologies: z.array(z.string().regex(/^\][A-Za-z][0-9A-Za-z]$/, 'an AIM id such as ]d2')).min(1).optional(),
  /** The same code at this station within this window is a duplicate read (same verdict again, no event). */
  duplicateReadWindowMs: z.number().int().min(0).max(3_600_000).default(2000),
  /** Statuses a serial may be in for this station's operation (replaces the default table's list). */
  allowFrom: z.array(z.enum(STATUS_NAMES)).min(1).optional(),
  /** Serials not in the cache are accepted and created (e.g. commissioning unassigned serials). */
  allowUnknown: z.boolean().default(false),
  /** A returns station: receive also accepts SHIPPED serials. */
  returns: z.boolean().default(false),
  /** Aggregation: refuse a child that is in another container (true), or move it (false). */
  strictAggregation: z.boolean().default(true),
  /** Aggregation: children are items (cases) or containers (pallets). */
  childType: z.enum(['item', 'container']).default('item'),
  /** Aggregation: children per container; the container closes when full. 0 = no limit. */
  capacity: z.number().int().min(0).max(100_000).default(0),
  /** Aggregation: children must share the first child's GTIN (gtin) or GTIN and lot (gtin-lot). */
  homogeneous: z.enum(['none', 'gtin', 'gtin-lot']).default('none'),
  /** GTINs this station works on (GTIN_NOT_ON_ORDER otherwise); a setOrder control command replaces it. */
  orderGtins: z.array(z.string().regex(/^\d{14}$/, 'a GTIN-14')).optional(),
  /** Refuse items expiring within this many days (EXPIRED). */
  shortDateMarginDays: z.number().int().min(0).max(3650).default(0),
});

export const lineSchema = z.strictObject({
  id: token('line id'),
  stations: z.array(stationSchema).min(1),
});

export const configSchema = z.strictObject({
  gatewayId: token('gatewayId').default(defaultGatewayId),
  dataDir: z.string().min(1).default('./data'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  site: z
    .strictObject({
      id: token('site id').default('demo'),
      lines: z.array(lineSchema).min(1).default(() => [
        { id: 'L1', stations: OPERATION_NAMES.map((op) => stationSchema.parse({ id: op, operation: op })) },
      ]),
    })
    .prefault({}),
  mqtt: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(1883),
      topicPrefix: z
        .string()
        .regex(/^[^#+]+[^/#+]$/, 'topic prefix must not contain + or # and must not end with /')
        .default('scangate/v1'),
      /** QoS of verdict and reject publications. */
      verdictQos: z.union([z.literal(0), z.literal(1)], { error: 'must be 0 or 1 (QoS 2 is not offered for verdicts)' }).default(1),
      /** Clients without credentials are accepted from loopback addresses only, and only when this is true. */
      allowAnonymousLoopback: z.boolean().default(true),
      // Broker mode, TLS, WebSocket, users and roles, limits, external broker: gateway/config/mqtt-schema.ts.
      ...mqttFields,
    })
    .prefault({}),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8080),
    })
    .prefault({}),
  nats: z
    .strictObject({
      servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'a NATS URL such as nats://127.0.0.1:4222')).min(1).default(['nats://127.0.0.1:4222']),
      /** Create the streams the gateway needs when they are missing. */
      ensureStreams: z.boolean().default(true),
      eventsStream: token('stream name').default('SCANGATE_EVENTS'),
      /** Duplicate window of the events stream, in ms (DESIGN.md: at least 2 minutes). */
      duplicateWindowMs: z.number().int().min(120_000).max(86_400_000).default(120_000),
      /** Ping interval in ms: a dead link is noticed after maxPingOut unanswered pings, ~ pingIntervalMs * (maxPingOut + 1). */
      pingIntervalMs: z.number().int().min(500).max(600_000).default(2_000),
      maxPingOut: z.number().int().min(1).max(100).default(2),
      /** Connect timeout per attempt, in ms. */
      connectTimeoutMs: z.number().int().min(100).max(60_000).default(2_000),
      /** How long to wait for a PubAck before retrying the batch with the same id, in ms. */
      publishTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
      /** Outstanding (un-acked) batch publishes at once. */
      publishWindow: z.number().int().min(1).max(1024).default(32),
      /** Delay between reconnect attempts / failed publish retries, in ms. */
      retryDelayMs: z.number().int().min(10).max(60_000).default(1_000),
      /** Credentials: at most one of user+password, token, nkeySeedFile, credsFile ('' = not used). */
      user: z.string().default(''),
      password: z.string().default(''),
      token: z.string().default(''),
      /** File holding an nkey seed (SU...), for nkey authentication. */
      nkeySeedFile: z.string().default(''),
      /** NATS credentials file (user JWT + seed), as written by nsc. */
      credsFile: z.string().default(''),
      tls: z
        .strictObject({
          /** CA certificate(s) (PEM) to verify the server; '' = the system's CAs. Setting any TLS file turns TLS on. */
          caFile: z.string().default(''),
          /** Client certificate (PEM) and its key, when the server verifies clients. */
          certFile: z.string().default(''),
          keyFile: z.string().default(''),
        })
        .prefault({}),
      /** Central -> gateway status stream, consumed by the durable consumer scangate-{gatewayId}. */
      statusStream: token('stream name').default('SCANGATE_STATUS'),
      /** Apply central's status updates to the cache. */
      statusSync: z.boolean().default(true),
      /** Redelivery delay of an unacknowledged status or peer message, in ms. */
      syncAckWaitMs: z.number().int().min(500).max(3_600_000).default(30_000),
      /** Apply the accepted transitions of the site's other gateways (from the events stream) to the cache. */
      peerSync: z.boolean().default(false),
      /** Answer lookups on scangate.v1.query.{site}.{gatewayId}. */
      query: z.boolean().default(true),
    })
    .superRefine((n, ctx) => {
      const used = [n.user !== '' || n.password !== '' ? 'user' : '', n.token !== '' ? 'token' : '', n.nkeySeedFile !== '' ? 'nkeySeedFile' : '', n.credsFile !== '' ? 'credsFile' : ''].filter((x) => x);
      if (used.length > 1) ctx.addIssue({ code: 'custom', path: [used[1]!], message: `only one way to authenticate may be set, found ${used.join(' and ')}` });
      if ((n.user === '') !== (n.password === '')) ctx.addIssue({ code: 'custom', path: [n.user === '' ? 'user' : 'password'], message: 'user and password go together' });
      if ((n.tls.certFile === '') !== (n.tls.keyFile === '')) ctx.addIssue({ code: 'custom', path: ['tls', n.tls.certFile === '' ? 'certFile' : 'keyFile'], message: 'tls.certFile and tls.keyFile go together' });
    })
    .prefault({}),
  batch: z
    .strictObject({
      /** A batch closes when it holds this many events, */
      maxEvents: z.number().int().min(1).max(100_000).default(500),
      /** or this many encoded bytes, */
      maxBytes: z.number().int().min(1024).max(8_000_000).default(512_000),
      /** or when its first event is this old, in ms. */
      maxDelayMs: z.number().int().min(1).max(60_000).default(100),
    })
    .prefault({}),
  outbox: z
    .strictObject({
      /** Upper bound of unsent events on disk, in bytes; when reached, reads are no longer acknowledged. */
      maxBytes: z.number().int().min(1_048_576).default(1_073_741_824),
      /** sync: a read is acknowledged after its event is flushed to disk; commit: after the LMDB commit (faster, not power-loss safe). */
      durability: z.enum(['sync', 'commit']).default('sync'),
      /**
       * Group commit, in ms: the writes of this long share one LMDB transaction and one disk flush (0: the writes
       * of one event turn). Acknowledgements wait up to this much longer; verdicts never wait for it.
       */
      groupCommitMs: z.number().int().min(0).max(100).default(2),
      /**
       * Free space the data directory's filesystem keeps, in bytes: below it reads are held unacknowledged,
       * control commands refused and the status and peer syncs wait (SG_ERR_DISK_LOW), so that LMDB stops
       * writing well before the disk is full. 0 turns the check off.
       */
      minFreeDiskBytes: z.number().int().min(0).default(268_435_456),
    })
    .prefault({}),
  cache: z
    .strictObject({
      /** LMDB map size, in bytes: address space reserved at open; lmdb-js maps more when the file outgrows it. */
      mapSizeBytes: z.number().int().min(16_777_216).default(17_179_869_184),
    })
    .prefault({}),
  shutdown: z
    .strictObject({
      /** Graceful shutdown budget, in ms. */
      timeoutMs: z.number().int().min(100).max(60_000).default(4_500),
    })
    .prefault({}),
  /** PLCs over OPC UA (off by default). */
  opcua: opcuaSchema,
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type StationConfig = z.output<typeof stationSchema>;
export type LineConfig = z.output<typeof lineSchema>;
