/**
 * Values for lmdb-js async puts, carved out of large buffers that are never written twice. lmdb-js keeps a
 * reference to each value until its write is done, so a view into an arena keeps that arena alive as long as
 * needed, and the hot path allocates one view per value instead of a buffer (and a native address lookup).
 */
const DEFAULT_BYTES = 256 * 1024;

export class Arena {
  /** The current arena; write at `pos` after room(). */
  buf: Buffer;
  pos = 0;
  private readonly size: number;

  constructor(size = DEFAULT_BYTES) {
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Make sure `n` bytes can be written at `pos` (a new arena when not). */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.buf = Buffer.allocUnsafe(n > this.size ? n : this.size);
    this.pos = 0;
  }

  /** The bytes written from `start` to `end` as a value; the next value starts after them (8-byte aligned). */
  take(start: number, end: number): Buffer {
    this.pos = (end + 7) & ~7;
    return this.buf.subarray(start, end);
  }
}

/** Write `s` as latin1 at `o` (each UTF-16 unit's low byte, as Buffer.write does); returns the end. */
export function writeLatin1(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i) & 0xff;
  return o + s.length;
}
