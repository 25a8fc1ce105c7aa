/**
 * The envelope of a read: the code(s) and what the scanner says about them. Parsed from the MQTT payload
 * (raw bytes, or JSON when the first non-blank byte is `{`; DESIGN.md read topic), or built by an adapter.
 */

export interface ReadEnvelope {
  /** The code as read (raw, latin1); '' with `codes`. */
  code: string;
  /** Camera/aggregation reads: several codes at once. */
  codes?: string[];
  /** The container the codes go into, when the scanner knows it. */
  parent?: string;
  seq?: number;
  device?: string;
  tsMs?: number;
  /** The payload as received. */
  raw: Buffer;
}

/** Most codes one camera read may carry. */
export const MAX_CODES = 1000;

/** Raw bytes, or JSON when the first non-blank byte is `{` (DESIGN.md read topic). A string is an error. */
export function readEnvelope(payload: Buffer): ReadEnvelope | string {
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x09)) i++;
  if (payload[i] !== 0x7b) return { code: payload.toString('latin1'), raw: payload };
  let j: unknown;
  try {
    j = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return `payload starts with { but is not valid JSON: ${(err as Error).message}`;
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return 'JSON payload must be an object';
  const o = j as Record<string, unknown>;
  const env: ReadEnvelope = { code: '', raw: payload };
  if (o.seq !== undefined) {
    if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 0) return '"seq" must be a non-negative integer';
    env.seq = o.seq;
  }
  if (o.device !== undefined) {
    if (typeof o.device !== 'string' || o.device.length > 128) return '"device" must be a string of at most 128 characters';
    env.device = o.device;
  }
  if (o.ts !== undefined) {
    const ts = typeof o.ts === 'number' ? o.ts : typeof o.ts === 'string' ? Date.parse(o.ts) : NaN;
    if (!Number.isFinite(ts) || ts < 0) return '"ts" must be epoch milliseconds or an ISO 8601 time';
    env.tsMs = ts;
  }
  if (typeof o.code === 'string') {
    env.code = o.code;
    return env;
  }
  if (Array.isArray(o.codes)) {
    if (o.codes.length === 0 || o.codes.length > MAX_CODES || !o.codes.every((c) => typeof c === 'string')) {
      return `"codes" must be a list of 1-${MAX_CODES} strings`;
    }
    if (o.codes.length === 1) {
      env.code = o.codes[0] as string;
      return env;
    }
    env.codes = o.codes as string[];
    if (o.parent !== undefined) {
      if (typeof o.parent !== 'string') return '"parent" must be a string';
      env.parent = o.parent;
    }
    return env;
  }
  return 'JSON payload needs a "code" string';
}
