/**
 * The `mqtt` section of the configuration beyond host/port/prefix: broker mode, TLS, WebSocket, users and
 * roles, limits, and the external-broker client. Spread into the `mqtt` object of schema.ts; the cross-field
 * checks are in mqttCrossCheck (called from cross-check.ts). Every numeric key states its unit in its name.
 */
import { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import type { Config } from './schema.js';

const port = z.number().int().min(0).max(65535);

/** `$scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>` (what `scangate passwd` prints). */
export const PASSWORD_HASH_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,}={0,2})\$([A-Za-z0-9+/]{32,}={0,2})$/;

export const MQTT_ROLES = ['scanner', 'lineController', 'monitor', 'admin'] as const;
export type MqttRole = (typeof MQTT_ROLES)[number];

const LEVEL = /^(\+|[A-Za-z0-9_-]{1,64})$/;

export const mqttUserSchema = z.strictObject({
  /** MQTT user name; the client id must be this name, or start with `{username}-`. */
  username: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'user name must be 1-64 characters of A-Z a-z 0-9 _ . @ -'),
  /** Salted scrypt hash from `scangate passwd`; absent: the user authenticates with a client certificate only. */
  passwordHash: z.string().regex(PASSWORD_HASH_RE, 'a hash as printed by `scangate passwd` ($scrypt$ln=..,r=..,p=..$salt$hash)').optional(),
  role: z.enum(MQTT_ROLES),
  /** lineController: the lines whose verdicts it may read and whose stations it may control (`+`: every line). */
  lines: z.array(z.string().regex(LEVEL, 'a line id or +')).min(1, 'at least one line id (or +)').optional(),
  /** scanner: the stations it may publish reads for, as `line/station` (either may be `+`). */
  stations: z
    .array(z.string().regex(/^(\+|[A-Za-z0-9_-]{1,64})\/(\+|[A-Za-z0-9_-]{1,64})$/, 'a station as line/station, e.g. L1/pack (+ for any)'))
    .min(1, 'at least one station as line/station (or +/+)')
    .optional(),
});
export type MqttUserConfig = z.output<typeof mqttUserSchema>;

/** Fields of the `mqtt` section added to host/port/topicPrefix/verdictQos/allowAnonymousLoopback. */
export const mqttFields = {
  /** embedded: scangate is the broker (aedes); external: scangate is a client of an existing broker. */
  mode: z.enum(['embedded', 'external']).default('embedded'),
  /** Plain TCP listener of the embedded broker on host:port (false: TLS and/or WebSocket only). */
  tcpEnabled: z.boolean().default(true),
  /**
   * A read held unacknowledged (outbox full, disk low) longer than this, in ms, is not decided when room comes back
   * but recorded as a SYSTEM_UNAVAILABLE reject (the line rejected the product meanwhile); 0: decided however late.
   */
  maxHoldMs: z.number().int().min(0).max(3_600_000).default(3_000),
  /** Role of anonymous clients (accepted from loopback only, when allowAnonymousLoopback is true). */
  anonymousRole: z.enum(MQTT_ROLES).default('admin'),
  /** Users of the embedded broker (file only). */
  users: z.array(mqttUserSchema).optional(),
  tls: z
    .strictObject({
      /** TLS listener of the embedded broker. */
      enabled: z.boolean().default(false),
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(8883),
      /** PEM files: server certificate (chain), its private key, and the CA that signs client certificates. */
      certFile: z.string().default(''),
      keyFile: z.string().default(''),
      caFile: z.string().default(''),
      /** Mutual TLS: refuse clients without a certificate signed by caFile; the certificate's CN is the user name. */
      clientCertRequired: z.boolean().default(false),
    })
    .prefault({}),
  websocket: z
    .strictObject({
      /** MQTT over WebSocket listener of the embedded broker. */
      enabled: z.boolean().default(false),
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(8083),
      path: z.string().regex(/^\/[^\s]*$/, 'a URL path such as /mqtt').default('/mqtt'),
      /** wss: serve over TLS with mqtt.tls.certFile/keyFile. */
      tls: z.boolean().default(false),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest MQTT packet accepted, in bytes (the connection is closed beyond it). */
      maxPacketBytes: z.number().int().min(1024).max(268_435_455).default(262_144),
      /** Most levels in a topic or topic filter. */
      maxTopicLevels: z.number().int().min(8).max(100).default(16),
      /** Most client connections at once, over every listener. */
      maxConnections: z.number().int().min(1).max(1_000_000).default(1000),
      /** New connections accepted per remote address per second; more are closed at once. */
      maxConnectsPerAddressPerS: z.number().int().min(1).max(100_000).default(20),
      /** Time for a new connection to send CONNECT, in ms. */
      connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** A subscriber whose socket does not drain within this time is disconnected, in ms. */
      drainTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
      /** Bytes waiting to be written to one subscriber; messages for it beyond this are dropped (counted). */
      subscriberQueueMaxBytes: z.number().int().min(16_384).max(1_073_741_824).default(1_048_576),
      /** QoS 1 messages kept for one persistent session (clean: false) while it is away or not acknowledging. */
      sessionQueueMaxMessages: z.number().int().min(1).max(1_000_000).default(1000),
    })
    .prefault({}),
  external: z
    .strictObject({
      /** Broker URL: mqtt://, mqtts://, ws:// or wss://. */
      url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'a broker URL such as mqtt://broker:1883').default('mqtt://127.0.0.1:1883'),
      username: z.string().default(''),
      password: z.string().default(''),
      /** Client id of the persistent session; empty: scangate-{gatewayId}. Must be unique per gateway. */
      clientId: z.string().max(128).default(''),
      /** Shared subscription group ($share/{group}/...): gateways in one group split the reads; empty: none. */
      sharedGroup: z.string().regex(/^([A-Za-z0-9_-]{1,64})?$/, 'a group name of A-Z a-z 0-9 _ -').default(''),
      /** PEM files for mqtts/wss: CA of the broker, and a client certificate and key when the broker asks. */
      caFile: z.string().default(''),
      certFile: z.string().default(''),
      keyFile: z.string().default(''),
      /** MQTT keepalive, in seconds. */
      keepaliveS: z.number().int().min(0).max(65_535).default(30),
      /** Delay between reconnect attempts, in ms. */
      reconnectPeriodMs: z.number().int().min(10).max(600_000).default(1000),
      /** Time for a connection attempt, in ms. */
      connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** Verdicts handed to the broker and not yet acknowledged; more are dropped (counted). */
      maxPendingVerdicts: z.number().int().min(10).max(1_000_000).default(10_000),
    })
    .prefault({}),
};

/**
 * The checks of one user that need nothing but the user: the stations or lines its role needs, and no others.
 * Paths start with `at` (mqttCrossCheck: mqtt.users.N; `scangate passwd`: the entry it prints).
 */
export function mqttUserRoleIssues(u: MqttUserConfig, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (u.role === 'scanner' && u.stations === undefined) {
    issues.push({ path: `${at}.stations`, message: 'a scanner needs the stations it reads for', hint: 'e.g. stations: [L1/pack]' });
  }
  if (u.role === 'lineController' && u.lines === undefined) {
    issues.push({ path: `${at}.lines`, message: 'a line controller needs its lines', hint: 'e.g. lines: [L1]' });
  }
  if (u.stations !== undefined && u.role !== 'scanner') {
    issues.push({ path: `${at}.stations`, message: `only scanners have stations (role is ${u.role})`, hint: 'remove it or change the role' });
  }
  if (u.lines !== undefined && u.role !== 'lineController') {
    issues.push({ path: `${at}.lines`, message: `only line controllers have lines (role is ${u.role})`, hint: 'remove it or change the role' });
  }
  return issues;
}

/** Cross-field checks of the mqtt section (called from crossCheck). */
export function mqttCrossCheck(c: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const m = c.mqtt;
  const lines = new Map(c.site.lines.map((l) => [l.id, new Set(l.stations.map((s) => s.id))]));
  const names = new Set<string>();
  (m.users ?? []).forEach((u, i) => {
    const at = `mqtt.users.${i}`;
    if (names.has(u.username)) issues.push({ path: `${at}.username`, message: `"${u.username}" is declared twice`, hint: 'user names must be unique' });
    names.add(u.username);
    issues.push(...mqttUserRoleIssues(u, at));
    u.lines?.forEach((l, j) => {
      if (l !== '+' && !lines.has(l)) issues.push({ path: `${at}.lines.${j}`, message: `line "${l}" is not declared in site.lines`, hint: 'use a declared line id or +' });
    });
    u.stations?.forEach((s, j) => {
      const [l, st] = s.split('/') as [string, string];
      if (l === '+') return;
      const stations = lines.get(l);
      if (stations === undefined) issues.push({ path: `${at}.stations.${j}`, message: `line "${l}" is not declared in site.lines`, hint: 'use a declared line/station' });
      else if (st !== '+' && !stations.has(st)) {
        issues.push({ path: `${at}.stations.${j}`, message: `station "${st}" is not declared on line ${l}`, hint: 'use a declared line/station' });
      }
    });
    if (u.passwordHash === undefined && !(m.tls.enabled && m.tls.clientCertRequired)) {
      issues.push({
        path: `${at}.passwordHash`,
        message: 'a user without a password can only authenticate with a client certificate',
        hint: 'add a hash from `scangate passwd`, or enable mqtt.tls.clientCertRequired',
      });
    }
  });
  if (m.tls.enabled || (m.websocket.enabled && m.websocket.tls)) {
    if (m.tls.certFile === '') issues.push({ path: 'mqtt.tls.certFile', message: 'TLS needs a server certificate', hint: 'a PEM file with the certificate chain' });
    if (m.tls.keyFile === '') issues.push({ path: 'mqtt.tls.keyFile', message: 'TLS needs the private key of the certificate', hint: 'a PEM file' });
  }
  if ((m.external.certFile === '') !== (m.external.keyFile === '')) {
    // One without the other was ignored: the client connected without its certificate.
    const missing = m.external.certFile === '' ? 'certFile' : 'keyFile';
    issues.push({ path: `mqtt.external.${missing}`, message: 'mqtt.external.certFile and keyFile go together (the client certificate and its key)', hint: `set mqtt.external.${missing} too, or neither` });
  }
  if (m.tls.clientCertRequired && m.tls.caFile === '') {
    issues.push({ path: 'mqtt.tls.caFile', message: 'mutual TLS needs the CA that signs client certificates', hint: 'a PEM file' });
  }
  if (m.tls.clientCertRequired && !m.tls.enabled) {
    issues.push({ path: 'mqtt.tls.clientCertRequired', message: 'needs mqtt.tls.enabled', hint: 'enable the TLS listener' });
  }
  if (m.mode === 'embedded') {
    if (!m.tcpEnabled && !m.tls.enabled && !m.websocket.enabled) {
      issues.push({ path: 'mqtt.tcpEnabled', message: 'the embedded broker has no listener', hint: 'enable the TCP, TLS or WebSocket listener' });
    }
    const listeners: [string, boolean, string, number][] = [
      ['mqtt.port', m.tcpEnabled, m.host, m.port],
      ['mqtt.tls.port', m.tls.enabled, m.tls.host, m.tls.port],
      ['mqtt.websocket.port', m.websocket.enabled, m.websocket.host, m.websocket.port],
      ['http.port', c.http.enabled, c.http.host, c.http.port],
    ];
    for (let i = 0; i < listeners.length; i++) {
      for (let j = i + 1; j < listeners.length; j++) {
        const [ka, ea, ha, pa] = listeners[i]!;
        const [kb, eb, hb, pb] = listeners[j]!;
        // mqtt.port against http.port is checked by crossCheck itself.
        if (ka === 'mqtt.port' && kb === 'http.port') continue;
        if (ea && eb && pa !== 0 && pa === pb && sameHost(ha, hb)) {
          issues.push({ path: kb, message: `is the same as ${ka} (${pa})`, hint: 'give every listener its own port' });
        }
      }
    }
  }
  return issues;
}

function sameHost(a: string, b: string): boolean {
  return a === b || a === '0.0.0.0' || b === '0.0.0.0' || a === '::' || b === '::';
}
