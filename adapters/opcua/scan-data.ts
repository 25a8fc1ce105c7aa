/**
 * Codes out of AutoID scan results (OPC 30010 9.3.8 ScanResult: CodeType, ScanData, Timestamp, ...), whether
 * node-opcua decoded the structure or left it opaque, and the ISO/IEC 15434 envelope around them. No I/O here.
 */

const GS = 0x1d;
const RS = 0x1e;
const EOT = 0x04;

/**
 * `[)>` RS `05` GS data RS [EOT] -> data, keeping an AIM symbology id in front (ISO/IEC 15434 format 05: GS1
 * element strings). Other formats are left as they are, for the parser to refuse with its reason.
 */
export function stripIso15434(code: string): string {
  const p = code.length >= 3 && code.charCodeAt(0) === 0x5d ? 3 : 0; // `]xy`
  if (
    code.length - p < 7 ||
    code.charCodeAt(p) !== 0x5b ||
    code.charCodeAt(p + 1) !== 0x29 ||
    code.charCodeAt(p + 2) !== 0x3e ||
    code.charCodeAt(p + 3) !== RS ||
    code.charCodeAt(p + 4) !== 0x30 ||
    code.charCodeAt(p + 5) !== 0x35 ||
    code.charCodeAt(p + 6) !== GS
  ) {
    return code;
  }
  let end = code.length;
  if (end > 0 && code.charCodeAt(end - 1) === EOT) end--;
  if (end > 0 && code.charCodeAt(end - 1) === RS) end--;
  return code.slice(0, p) + code.slice(p + 7, end);
}

/** A code without an AIM symbology id gets the reader's one, when configured. */
export function withSymbology(code: string, symbologyId: string | undefined): string {
  if (symbologyId === undefined || code.length === 0 || code.charCodeAt(0) === 0x5d) return code;
  return symbologyId + code;
}

/** ScanData union (OPC 30010 9.4.2): 1 ByteString, 2 String, 3 Epc, 4 Custom. */
export function scanDataCode(sd: unknown): string | null {
  if (sd === null || typeof sd !== 'object') return typeof sd === 'string' ? sd : null;
  const o = sd as Record<string, unknown>;
  if (typeof o.string === 'string') return o.string;
  if (Buffer.isBuffer(o.byteString)) return o.byteString.toString('latin1');
  const custom = o.custom as { value?: unknown } | undefined;
  if (custom !== undefined && custom !== null && typeof custom.value === 'string') return custom.value;
  return null;
}

/** Opaque structure as node-opcua leaves it when it cannot decode: the encoding node id and the body. */
interface Opaque {
  buffer: Buffer;
}

function isOpaque(x: unknown): x is Opaque {
  return x !== null && typeof x === 'object' && Buffer.isBuffer((x as Opaque).buffer) && !('scanData' in (x as object));
}

/**
 * The body of a ScanResult subtype in OPC UA binary (Part 6 5.2.7): EncodingMask (optional fields), CodeType
 * (String), ScanData (union: UInt32 switch, then the field), Timestamp. The base fields come first in every
 * subtype, so they can be read without knowing it.
 */
export function decodeScanResultBody(b: Buffer): { code: string | null; tsMs: number | undefined } {
  let p = 4; // EncodingMask
  const str = (): Buffer | null => {
    const n = b.readInt32LE(p);
    p += 4;
    if (n < 0) return null;
    const s = b.subarray(p, p + n);
    p += n;
    return s;
  };
  str(); // CodeType
  const sw = b.readUInt32LE(p);
  p += 4;
  let code: string | null = null;
  if (sw === 1 || sw === 2) {
    const s = str();
    code = s === null ? null : s.toString(sw === 2 ? 'utf8' : 'latin1');
  } else {
    return { code: null, tsMs: undefined };
  }
  let tsMs: number | undefined;
  if (p + 8 <= b.length) {
    // DateTime: 100 ns ticks since 1601-01-01.
    const ticks = b.readBigInt64LE(p);
    if (ticks > 0n) tsMs = Number(ticks / 10_000n) - 11_644_473_600_000;
  }
  return { code, tsMs };
}

export interface ScanCodes {
  codes: string[];
  tsMs: number | undefined;
  /** Results whose data is not a code (EPC, custom types): counted, not decided. */
  unreadable: number;
}

/** The codes of a ScanResult[] (an event field or the Results of Scan). */
/** AutoIdOperationStatusEnumeration (OPC 30010 9.1.1), by value. */
const AUTOID_STATUS = [
  'SUCCESS', 'MISC_ERROR_TOTAL', 'MISC_ERROR_PARTIAL', 'PERMISSION_ERROR', 'PASSWORD_ERROR', 'REGION_NOT_FOUND_ERROR',
  'OPERATION_NOT_SUPPORTED', 'OUT_OF_RANGE_ERROR', 'NO_IDENTIFIER', 'MULTIPLE_IDENTIFIERS', 'READ_ERROR', 'DECODING_ERROR',
  'MATCH_ERROR', 'CODE_NOT_SUPPORTED', 'WRITE_ERROR', 'NOT_SUPPORTED_BY_DEVICE', 'NOT_SUPPORTED_BY_TAG', 'DEVICE_NOT_READY',
  'INVALID_CONFIGURATION', 'RF_COMMUNICATION_ERROR', 'DEVICE_FAULT', 'TAG_HAS_LOW_BATTERY',
];
const SUCCESS = 0;
const NO_IDENTIFIER = 8;

/**
 * The failure a Scan call's Status output names, e.g. "20 (DEVICE_FAULT)"; null for SUCCESS, NO_IDENTIFIER (nothing
 * to read: a no-read) or no Status at all (a server that leaves it out says nothing against its results).
 */
export function scanFailure(status: unknown): string | null {
  if (typeof status !== 'number' || status === SUCCESS || status === NO_IDENTIFIER) return null;
  return `${status} (${AUTOID_STATUS[status] ?? 'unknown'})`;
}

export function scanResultCodes(value: unknown): ScanCodes {
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  const out: ScanCodes = { codes: [], tsMs: undefined, unreadable: 0 };
  for (const r of list) {
    let code: string | null = null;
    let tsMs: number | undefined;
    if (isOpaque(r)) {
      try {
        ({ code, tsMs } = decodeScanResultBody(r.buffer));
      } catch {
        code = null;
      }
    } else if (r !== null && typeof r === 'object') {
      const o = r as Record<string, unknown>;
      code = scanDataCode(o.scanData);
      if (o.timestamp instanceof Date && o.timestamp.getTime() > 0) tsMs = o.timestamp.getTime();
    }
    if (code === null) {
      out.unreadable++;
      continue;
    }
    out.codes.push(code);
    if (out.tsMs === undefined) out.tsMs = tsMs;
  }
  return out;
}
