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
  buf[off] = (hi >>> 8) & 0xff;
  buf[off + 1] = hi & 0xff;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = (lo >>> 16) & 0xff;
  buf[off + 4] = (lo >>> 8) & 0xff;
  buf[off + 5] = lo & 0xff;
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

const MAX_SERIAL = 64;

/**
 * serialKey written into one reused buffer, returned as a view of it valid until the next call (lmdb-js copies
 * a key before a get or put returns). The views of every length are made once: nothing is allocated per key.
 * Serials longer than 64 characters are cut there (GS1 allows 20).
 */
export class SerialKeyScratch {
  private readonly buf = Buffer.allocUnsafe(6 + MAX_SERIAL);
  private readonly views: Buffer[] = [];

  constructor() {
    for (let n = 0; n <= 6 + MAX_SERIAL; n++) this.views.push(this.buf.subarray(0, n));
  }

  key(gtin: string, serial: string): Buffer {
    writeGtin(this.buf, gtin, 0);
    const n = serial.length < MAX_SERIAL ? serial.length : MAX_SERIAL;
    for (let i = 0; i < n; i++) this.buf[6 + i] = serial.charCodeAt(i) & 0xff;
    return this.views[6 + n]!;
  }
}

/** Inverse of serialKey. */
export function parseSerialKey(key: Buffer): { gtin: string; serial: string } {
  return { gtin: readGtin(key, 0), serial: key.toString('latin1', 6) };
}

/** Key of a lot: 6 bytes GTIN + lot bytes. Same shape as a serial key, kept in its own table. */
export const lotKey = serialKey;
