/**
 * Values from the PLC as a reader checks them (a seq, a status) and as the log shows them. No I/O here.
 */
import type { DataValue } from 'node-opcua';

/**
 * A seq, counter or trigger value: a non-negative integer Number (every OPC UA integer type up to 32 bits, and
 * Double holding one). Anything else (null, a String, an array, Int64 as node-opcua's [high, low]) is not one:
 * `Number(null)` is 0, which would read as a PLC counting from 0 again.
 */
export function seqValue(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** A value as the log shows it: its type, and the value itself when it is short text or a number. */
export function shown(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a ByteString';
  if (v instanceof Date) return `a DateTime ${Number.isNaN(v.getTime()) ? 'Invalid' : v.toISOString()}`;
  if (typeof v === 'object') {
    const name = (v as { schema?: { name?: unknown } }).schema?.name;
    return typeof name === 'string' ? `a ${name} structure` : `an object {${fieldsOf(v as Record<string, unknown>)}}`;
  }
  return `${typeof v} ${JSON.stringify(String(v).slice(0, 40))}`;
}

/** A structure's field names, for the log. */
export function fieldsOf(o: Record<string, unknown>): string {
  const k = Object.keys(o);
  return k.slice(0, 12).join(', ') + (k.length > 12 ? ', ...' : '');
}

/** Severity Good (Part 4 7.39.1), whatever the info bits (an overflow bit is still a good value). */
export function goodSeverity(dv: DataValue): boolean {
  return (dv.statusCode.value & 0xc0000000) === 0;
}
