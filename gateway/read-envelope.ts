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
  // A UTF-8 byte order mark, then blanks, then `{`: JSON (some tools write the mark before a JSON text).
  let i = payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x09)) i++;
  if (payload[i] !== 0x7b) return { code: payload.toString('latin1'), raw: payload };
  let j: unknown;
  try {
    j = JSON.parse(payload.toString('utf8', i));
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
  // An empty or null parent is no parent (as in the protobuf form, where "" means not sent).
  const parent = o.parent === null || o.parent === '' ? undefined : o.parent;
  if (parent !== undefined && typeof parent !== 'string') return '"parent" must be a string (an SSCC: 18 digits, or a read of one)';
  if (typeof o.code === 'string') {
    if (parent !== undefined) return '"parent" goes with "codes" (a camera read): send {"codes": [...], "parent": "..."}';
    env.code = o.code;
    return env;
  }
  if (Array.isArray(o.codes)) {
    if (o.codes.length === 0 || o.codes.length > MAX_CODES || !o.codes.every((c) => typeof c === 'string')) {
      return `"codes" must be a list of 1-${MAX_CODES} strings`;
    }
    return withCodes(env, o.codes as string[], parent as string | undefined);
  }
  return 'JSON payload needs a "code" string';
}

/**
 * A camera read's codes into `env`: one code without a parent is a plain read; with a parent it stays a camera
 * read, so that its parent is checked and used like any other's.
 */
export function withCodes(env: ReadEnvelope, codes: string[], parent: string | undefined): ReadEnvelope {
  if (codes.length === 1 && parent === undefined) {
    env.code = codes[0]!;
    return env;
  }
  env.codes = codes;
  if (parent !== undefined) env.parent = parent;
  return env;
}

/**
 * What a read carries, as the key of duplicate reads and redeliveries: the code, or a camera read's codes with
 * its parent, marked so that it never equals a raw code (a raw read of the same codes joined is another read).
 */
export function readKey(env: ReadEnvelope): string {
  return env.codes === undefined ? env.code : `\u0002${env.parent ?? ''}\u0002${env.codes.join('\u001e')}`;
}
