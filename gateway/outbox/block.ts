/**
 * Journal blocks: the events a write group appends are stored as one journal value, keyed by the first one's
 * event seq, instead of one value each. One put per group instead of one per read, on the main thread and in
 * LMDB's writer; one delete per group when central has them.
 *
 *   [0xB1][u32 LE count][count x ([u32 LE length][journal value: kind byte, then the event])]
 *
 * The events of a block have consecutive seqs (key, key + 1, ...), and a block never holds events of two
 * batches (a batch is sealed at a block's end). A journal value that does not start with 0xB1 is a single event
 * (kind byte 4 or 5), as journals written before blocks hold them: both are read alike.
 */

export const BLOCK = 0xb1;
const HEAD = 5;

/** One block from journal values (each [kind][event]); `bytes` is the sum of their lengths. */
export function encodeBlock(values: readonly Uint8Array[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(HEAD + 4 * values.length + bytes);
  out[0] = BLOCK;
  out.writeUInt32LE(values.length, 1);
  let o = HEAD;
  for (const v of values) {
    out.writeUInt32LE(v.length, o);
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}

/** How many events a journal value holds. */
export function eventCount(value: Uint8Array): number {
  if (value.length === 0) return 0;
  if (value[0] !== BLOCK) return 1;
  return (value[1]! | (value[2]! << 8) | (value[3]! << 16)) + value[4]! * 0x1000000;
}

/** Calls `fn(value, index)` for each event of a journal value (views into it; copy to keep). */
export function forEachEvent(value: Uint8Array, fn: (event: Buffer, index: number) => void): void {
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (b.length === 0) return;
  if (b[0] !== BLOCK) {
    fn(b, 0);
    return;
  }
  const n = b.readUInt32LE(1);
  let o = HEAD;
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(o);
    fn(b.subarray(o + 4, o + 4 + len), i);
    o += 4 + len;
  }
}

/** The events of a journal value with their seqs (the value's key is the first one's). */
export function eventsOf(key: number, value: Uint8Array): { seq: number; value: Buffer }[] {
  const out: { seq: number; value: Buffer }[] = [];
  forEachEvent(value, (ev, i) => out.push({ seq: key + i, value: ev }));
  return out;
}

/** Sum of the lengths of the events of a journal value (what the outbox counts as its bytes). */
export function eventBytes(value: Uint8Array): number {
  if (value.length === 0 || value[0] !== BLOCK) return value.length;
  let total = 0;
  forEachEvent(value, (ev) => (total += ev.length));
  return total;
}
