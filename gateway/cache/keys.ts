/**
 * Compact binary keys. A GTIN-14 is < 10^14 < 2^47 and fits 6 bytes; the serial (GS1 character set 82,
 * at most 20 characters) follows as latin1 bytes. So a key is 7-26 bytes instead of 15-34 characters.
 */

const TWO_32 = 0x1_0000_0000;

/** 14-digit GTIN -> 6-byte big-endian integer written at `off`. */
function writeGtin(buf: Buffer, gtin: string, off: number): void {
  let n = 0;
  for (let i = 0; i < gtin.length; i++) n = n * 10 + (gtin.charCodeAt(i) - 48);
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  buf.writeUInt16BE(hi, off);
  buf.writeUInt32BE(lo, off + 2);
}

function readGtin(buf: Buffer, off: number): string {
  const n = buf.readUInt16BE(off) * TWO_32 + buf.readUInt32BE(off + 2);
  return String(n).padStart(14, '0');
}

/** Key of a serialised item: 6 bytes GTIN + serial bytes. */
export function serialKey(gtin: string, serial: string): Buffer {
  const buf = Buffer.allocUnsafe(6 + serial.length);
  writeGtin(buf, gtin, 0);
  buf.write(serial, 6, 'latin1');
  return buf;
}

/** serialKey written into `buf` (at least 6 + 64 bytes): a view of it, valid until the next call. */
export function serialKeyInto(buf: Buffer, gtin: string, serial: string): Buffer {
  writeGtin(buf, gtin, 0);
  const n = buf.write(serial, 6, 'latin1');
  return buf.subarray(0, 6 + n);
}

/** Inverse of serialKey. */
export function parseSerialKey(key: Buffer): { gtin: string; serial: string } {
  return { gtin: readGtin(key, 0), serial: key.toString('latin1', 6) };
}

/** Key of a lot: 6 bytes GTIN + lot bytes. Same shape as a serial key, kept in its own table. */
export const lotKey = serialKey;
