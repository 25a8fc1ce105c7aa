/**
 * Recent reads per read point, for DUPLICATE_READ (DESIGN.md guarantee 5): the same code at the same station
 * within the station's window gets the original verdict again and no event. A redelivered message carries the
 * same code, so it is found the same way; the same (device, seq) with another code is a new read (a scanner
 * that counts from 1 again), never the old verdict.
 *
 * Built for the hot path and for the garbage collector: the verdicts of the last seconds (tens of thousands at
 * full rate) are kept as compact records (dup-verdict.ts) in one ring buffer outside the JS heap, found through a set-associative
 * hash table in typed arrays. Nothing is allocated per read, nothing lives long on the heap (before, two Maps
 * of verdict objects per station: their lookups were a tenth of the decision's time and their entries were most
 * of what the old generation collected). A match is exact: the station and the code are compared with the
 * entry's own copy, never a hash alone.
 *
 * Bounded: the ring holds RING_BYTES; an entry overwritten by newer ones is gone even inside its window, as is
 * one pushed out of a full bucket (counted in `evicted`).
 */

const RING_BYTES = 32 * 1024 * 1024;
const WAYS = 4;
const BUCKETS = 32_768; // 131,072 slots
const HEADER = 24; // [u32 entry length][u32 station][f64 atMs][u32 code units | WIDE][u32 record bytes], then the code
/** The code is stored as UTF-16 units (2 bytes each); else as one byte per character (all below 256). */
const WIDE = 0x8000_0000;

/** The code's length with WIDE set when a character does not fit one byte. */
function unitsOf(code: string): number {
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) > 0xff) return (code.length | WIDE) >>> 0;
  return code.length;
}

/** Bytes the code takes in an entry. */
function codeBytes(units: number): number {
  return units & WIDE ? 2 * (units & ~WIDE) : units;
}

/** Whether the code hashed last has a character above 0xff (hash() finds out on its way). */
let hashedWide = false;

/** 32-bit FNV-1a over the station and the UTF-16 units of the code. */
function hash(station: number, code: string): number {
  let h = (0x811c9dc5 ^ station) >>> 0;
  let any = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    any |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  hashedWide = any > 0xff;
  return h | 0;
}

function initSlots(n: number): Float64Array {
  const a = new Float64Array(3 * n);
  for (let s = 0; s < n; s++) a[3 * s] = -1;
  return a;
}

export class DupIndex {
  private readonly ringSize: number;
  private ring: Buffer | null = null;
  /** Absolute write position (bytes ever written, entries 8-byte aligned). */
  private head = 0;
  /**
   * The slots, three numbers each side by side (one or two cache lines per bucket): the absolute ring position
   * of the entry (-1: empty), the time it was remembered, and the code's hash.
   */
  private readonly slots = initSlots(BUCKETS * WAYS);
  /** Entries pushed out of a full bucket before their window ended. */
  evicted = 0;
  /** Entries added. */
  added = 0;
  /** Verdicts too large to keep (a camera read of thousands of codes): their repeats are decided again. */
  tooLarge = 0;

  constructor(ringBytes = RING_BYTES) {
    this.ringSize = ringBytes;
  }

  /** The record remembered for this code at this station if younger than windowMs (a view: copy to keep). */
  get(station: number, code: string, nowMs: number, windowMs: number): Buffer | undefined {
    const h = hash(station, code);
    this.memoStation = station;
    this.memoCode = code;
    this.memoHash = h;
    this.memoWide = hashedWide;
    const ring = this.ring;
    if (ring === null) return undefined;
    const base = (h & (BUCKETS - 1)) * WAYS;
    const floor = this.head - this.ringSize;
    const sl = this.slots;
    for (let s = base; s < base + WAYS; s++) {
      const p = sl[3 * s]!;
      if (p < 0 || sl[3 * s + 2] !== h || p < floor || nowMs - sl[3 * s + 1]! >= windowMs) continue;
      const o = p % this.ringSize;
      if (!this.sameEntry(o, station, code)) continue;
      const u32 = this.u32!;
      const start = o + HEADER + codeBytes(u32[(o >> 2) + 4]!);
      return ring.subarray(start, start + u32[(o >> 2) + 5]!);
    }
    return undefined;
  }

  /**
   * Room for an entry of this code with a record of up to `recordMax` bytes: returns the ring and the offset to
   * write the record at; then call commit() with the record's end. Nothing is remembered until commit(). Null when the
   * entry would take more than an eighth of the ring.
   */
  reserve(code: string, recordMax: number): { ring: Buffer; offset: number } | null {
    const units = code === this.memoCode ? (this.memoWide ? (code.length | WIDE) >>> 0 : code.length) : unitsOf(code);
    const size = HEADER + codeBytes(units) + recordMax;
    if (size > this.ringSize / 8) {
      this.tooLarge++;
      return null;
    }
    if (this.ring === null) {
      this.ring = Buffer.allocUnsafeSlow(this.ringSize);
      this.u32 = new Uint32Array(this.ring.buffer, this.ring.byteOffset, this.ringSize >> 2);
      this.f64 = new Float64Array(this.ring.buffer, this.ring.byteOffset, this.ringSize >> 3);
    }
    let o = this.head % this.ringSize;
    if (o + size > this.ringSize) {
      // Entries never wrap: skip the ring's tail.
      this.head += this.ringSize - o;
      o = 0;
    }
    this.pending.code = code;
    this.pending.units = units;
    this.pending.start = o;
    return { ring: this.ring, offset: o + HEADER + codeBytes(units) };
  }

  private readonly pending = { code: '', units: 0, start: 0 };
  /** The ring as 32- and 64-bit words, for the entry headers (entries start 8-byte aligned). */
  private u32: Uint32Array | null = null;
  private f64: Float64Array | null = null;
  /** The hash of the last get(), reused by the commit() of the same read. */
  private memoStation = -1;
  private memoCode = '';
  private memoHash = 0;
  private memoWide = false;

  /** Remember the reserved entry: its record was written up to `end` (an offset into the ring). */
  commit(station: number, nowMs: number, windowMs: number, end: number): void {
    const ring = this.ring!;
    const u32 = this.u32!;
    const { code, units, start: o } = this.pending;
    const w = o >> 2;
    u32[w + 1] = station;
    this.f64![(o >> 3) + 1] = nowMs;
    u32[w + 4] = units;
    const codeStart = o + HEADER;
    u32[w + 5] = end - (codeStart + codeBytes(units));
    const n = code.length;
    if (units & WIDE) {
      for (let i = 0, q = codeStart; i < n; i++, q += 2) {
        const c = code.charCodeAt(i);
        ring[q] = c & 0xff;
        ring[q + 1] = c >>> 8;
      }
    } else {
      for (let i = 0; i < n; i++) ring[codeStart + i] = code.charCodeAt(i);
    }
    const length = (end - o + 7) & ~7;
    u32[w] = length;
    const p = this.head - (this.head % this.ringSize) + o;
    this.head = p + length;
    this.added++;

    const h = station === this.memoStation && code === this.memoCode ? this.memoHash : hash(station, code);
    const base = (h & (BUCKETS - 1)) * WAYS;
    const floor = this.head - this.ringSize;
    // A slot with the same code (a later read of it) or a free one, else the oldest.
    let victim = base;
    let oldest = Infinity;
    const sl = this.slots;
    for (let s = base; s < base + WAYS; s++) {
      const sp = sl[3 * s]!;
      if (sp < 0 || sp < floor || nowMs - sl[3 * s + 1]! >= windowMs) {
        victim = s;
        oldest = -1;
        break;
      }
      if (sl[3 * s + 2] === h && this.sameEntry(sp % this.ringSize, station, code)) {
        victim = s;
        oldest = -1;
        break;
      }
      if (sl[3 * s + 1]! < oldest) {
        oldest = sl[3 * s + 1]!;
        victim = s;
      }
    }
    if (oldest !== -1) this.evicted++;
    sl[3 * victim] = p;
    sl[3 * victim + 1] = nowMs;
    sl[3 * victim + 2] = h;
  }

  /** Whether the entry at ring offset `o` is this station's and this code's. */
  private sameEntry(o: number, station: number, code: string): boolean {
    const ring = this.ring!;
    const u32 = this.u32!;
    const w = o >> 2;
    if (u32[w + 1] !== station) return false;
    const units = u32[w + 4]!;
    const n = code.length;
    if ((units & ~WIDE) !== n) return false;
    const q0 = o + HEADER;
    if (units & WIDE) {
      for (let i = 0, q = q0; i < n; i++, q += 2) if ((ring[q]! | (ring[q + 1]! << 8)) !== code.charCodeAt(i)) return false;
    } else {
      for (let i = 0; i < n; i++) if (ring[q0 + i] !== code.charCodeAt(i)) return false;
    }
    return true;
  }

  /** Entries a lookup could still find (observability; counts slots, not expiry). */
  get size(): number {
    const floor = this.head - this.ringSize;
    let n = 0;
    for (let s = 0; s < BUCKETS * WAYS; s++) if (this.slots[3 * s]! >= 0 && this.slots[3 * s]! >= floor) n++;
    return n;
  }
}
