/**
 * Typed errors with stable codes. Every code is listed here once, documented in README.md
 * ("Error codes"), and never reused for another meaning (test/unit/errors.test.ts checks both).
 */
export const ERROR_CODES = {
  SG_ERR_CONFIG_INVALID: 'The configuration does not match the schema or fails a cross-field check.',
  SG_ERR_CONFIG_READ: 'The configuration file cannot be read (a file that is not valid YAML is SG_ERR_CONFIG_INVALID, path (yaml)).',
  SG_ERR_PORT_IN_USE: 'A listener cannot bind: the address/port is taken or not allowed.',
  SG_ERR_DATA_DIR: 'The data directory cannot be created or written.',
  SG_ERR_STORE: 'The LMDB store failed to open, read or write.',
  SG_ERR_NATS_UNREACHABLE: 'The NATS servers cannot be reached (the gateway keeps deciding; events wait in the outbox).',
  SG_ERR_NATS_STREAM: 'A JetStream stream cannot be created or does not match what the gateway needs.',
  SG_ERR_PUBLISH: 'A batch publish to JetStream failed (it stays in the outbox and is retried).',
  SG_ERR_NATS_AUTH: 'NATS credentials or TLS files cannot be read, or the server refused them.',
  SG_ERR_STREAM_FULL: 'The events stream refuses new messages (discard new, its limits reached); batches wait in the outbox.',
  SG_ERR_OUTBOX_FULL: 'The outbox reached outbox.maxBytes; reads are held unacknowledged until the uplink frees space.',
  SG_ERR_DISK_LOW: 'The data directory\'s filesystem has less than outbox.minFreeDiskBytes free; reads are held unacknowledged, control commands refused, and the status and peer syncs wait until space is freed.',
  SG_ERR_NATS_SUBJECT_CONFLICT: 'Another publisher uses this gatewayId on the events stream (two gateways with one id, or a replaced data directory).',
  SG_ERR_STATUS_SYNC: 'A status or peer message could not be decoded or applied to the cache, or some of its updates are not valid (refused, the rest applied).',
  SG_ERR_QUERY_INVALID: 'A query request is not valid JSON or names no known lookup.',
  SG_ERR_UPLINK_LOCKED: 'Another process (the running daemon) owns this data directory\'s uplink.',
  SG_ERR_IMPORT_INVALID: 'An import file has invalid rows; nothing was imported.',
  SG_ERR_IMPORT_READ: 'An import file cannot be read or has an unknown format.',
  SG_ERR_IMPORT_INTERRUPTED: 'An import written in several transactions was interrupted; the cache holds part of its serials until the same file is imported again.',
  SG_ERR_USAGE: 'A command line is not valid.',
  SG_ERR_SIM_SITE: 'The gateway under load test does not declare the simulator\'s virtual site (its stations or their capacities).',
  SG_ERR_SIM_STOPPED: 'The simulator was stopped (Ctrl-C) before it offered any load, so there is no report.',
  SG_ERR_SHUTDOWN_TIMEOUT: 'Graceful shutdown did not finish in time.',
  SG_ERR_CLOSED: 'The component is closed.',
  SG_ERR_INTERNAL: 'A failure no handler caught (a promise rejected with no one waiting on it); logged, and the daemon goes on.',
  SG_ERR_TLS: 'A TLS certificate, key or CA file cannot be read or is not usable.',
  SG_ERR_MQTT_UNREACHABLE: 'The external MQTT broker cannot be reached (reads wait at the broker; the client retries).',
  SG_ERR_OPCUA_CONNECT: 'An OPC UA server (PLC) cannot be reached or the connection broke; the gateway retries forever.',
  SG_ERR_OPCUA_SECURITY: 'The OPC UA server does not offer the configured security mode and policy; the gateway does not fall back.',
  SG_ERR_OPCUA_CERT_UNTRUSTED: 'The OPC UA server certificate is not in the trust list; it was put in the rejected folder.',
  SG_ERR_OPCUA_AUTH: 'The OPC UA server refused the user identity (user name, password or anonymous).',
  SG_ERR_OPCUA_NODE: 'A configured OPC UA node does not exist or has an unusable data type.',
  SG_ERR_OPCUA_SUBSCRIPTION: 'An OPC UA subscription or monitored item was lost or could not be created; it is recreated.',
  SG_ERR_OPCUA_READS_LOST: 'A gap in a PLC read sequence: reads the gateway never received (counted, recorded as NO_READ).',
  SG_ERR_OPCUA_WRITE: 'A decision could not be written back to the PLC.',
  SG_ERR_OPCUA_SCAN: 'A Scan call (AutoID way scan) timed out or failed, or a trigger was dropped from a full Scan backlog: decided as NO_READ.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error scangate raises on purpose. `hint` says how to fix it. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.hint = opts.hint;
  }

  /** One line for an operator: code, message, hint. */
  describe(): string {
    return `${this.code}: ${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

/** One problem in a configuration: where (dotted path, file line when known), what, how to fix. */
export interface ConfigIssue {
  path: string;
  message: string;
  hint?: string;
  line?: number;
}

/** The configuration is invalid; `issues` lists every problem found, not just the first. */
export class ConfigError extends GatewayError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source: string) {
    super(
      'SG_ERR_CONFIG_INVALID',
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n` +
        issues
          .map((i) => `  - ${i.path || '(root)'}${i.line ? ` (line ${i.line})` : ''}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`)
          .join('\n'),
      { hint: 'fix the listed keys; `scangate config check --config FILE` re-checks without starting' },
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Describe any error for an operator: GatewayError with code and hint, others with their message. */
export function describeError(err: unknown): string {
  if (err instanceof GatewayError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
