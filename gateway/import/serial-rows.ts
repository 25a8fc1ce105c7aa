/**
 * The serials of an import file, held from the reading until the writing (the file is checked whole before
 * anything is written): each as its LMDB key and encoded record, appended to two large buffers, about 50 bytes a
 * serial instead of ~170 as objects with strings. The same table finds a serial named twice: an open-addressing
 * index of 32-bit hashes of the key bytes and row numbers, compared byte for byte on a hash match (a JavaScript Set
 * of key strings had cost about 2 us a row).
 */
import { Arena } from '../arena.js';
import { GatewayError } from '../errors.js';
import { SerialKeyScratch } from '../cache/keys.js';
import { encodeRecord, type SerialRecord } from '../cache/record.js';

/** A serial that names its container: the containers' children are built from these. */
export interface ParentedSerial {
  gtin: string;
  serial: string;
  parent: string;
  line: number;
}

/** Offsets are 32-bit. */
const MAX_OFFSET = 0xffff_ffff;

/** keyOrder() sorts by GTIN first by counting when the file names at most this many GTINs. */
const MAX_COUNTED_GTINS = 4096;

export class SerialRows {
  private keys: Buffer = Buffer.allocUnsafe(1 << 20);
  private values: Buffer = Buffer.allocUnsafe(1 << 20);
  /** Start of row i's key and value; entry `count` is the end of the last row. */
  private keyAt = new Uint32Array(1 << 16);
  private valueAt = new Uint32Array(1 << 16);
  /** Row + 1 per slot (0 = empty), and the hash of the row's key in the same slot. */
  private slots = new Int32Array(1 << 16);
  private hashes = new Int32Array(1 << 16);
  private readonly scratch = new SerialKeyScratch();
  private readonly encoded = new Arena(64 * 1024);
  count = 0;
  readonly parented: ParentedSerial[] = [];

  /** Keep a serial and its record; false (nothing kept) when the file named this GTIN + serial before. */
  add(gtin: string, serial: string, rec: SerialRecord, line: number): boolean {
    if (this.slots.length === 0) throw new GatewayError('SG_ERR_INTERNAL', 'a serial was added to the import table after keyOrder() closed it');
    const key = this.scratch.key(gtin, serial);
    const h = hashBytes(key);
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (; this.slots[i] !== 0; i = (i + 1) & mask) {
      if (this.hashes[i] === h && this.sameKey(this.slots[i]! - 1, key)) return false;
    }
    const row = this.count;
    this.slots[i] = row + 1;
    this.hashes[i] = h;
    this.append(key, encodeRecord(rec, this.encoded));
    if (rec.parent !== '') this.parented.push({ gtin, serial, parent: rec.parent, line });
    if (2 * this.count > this.slots.length) this.growIndex();
    return true;
  }

  /**
   * Rows [from, to) as (key, value) views; the values stay valid as long as this table is kept. With `order`
   * (keyOrder()), the rows at those positions of it.
   */
  forEach(from: number, to: number, fn: (key: Buffer, value: Buffer) => void, order?: Uint32Array | null): void {
    const { keyAt, valueAt, keys, values } = this;
    for (let i = from; i < to; i++) {
      const r = order != null ? order[i]! : i;
      fn(keys.subarray(keyAt[r]!, keyAt[r + 1]!), values.subarray(valueAt[r]!, valueAt[r + 1]!));
    }
  }

  /**
   * The row numbers in LMDB's key order (bytes, then length), or null when the rows are in that order already.
   * Written in key order, a transaction fills whole pages one after the other; in file order (random keys) every
   * chunk of an import splits pages all over the tree and leaves them half full (measured: 1,000,000 random
   * serials took 187 MiB in chunks of 50,000 and 68 MiB in one transaction; 48 MiB either way in key order).
   * The keys' first 18 bytes are compared as three 48-bit numbers, the rest (serials over 12 characters that
   * share their first 12) byte by byte; 0.3-0.65 s per million serials in random order.
   * The table takes no more rows after this: the index that found repeated serials (8 bytes a slot, 2-4 slots a
   * row) is freed first, which more than pays for the sort's 32 bytes a row.
   */
  keyOrder(): Uint32Array | null {
    this.slots = new Int32Array(0);
    this.hashes = new Int32Array(0);
    const n = this.count;
    const { keyAt, keys } = this;
    const p0 = new Float64Array(n);
    const p1 = new Float64Array(n);
    const p2 = new Float64Array(n);
    /** Key bytes [at, at + 6) as a number, zeros past the key's end. */
    const word = (at: number, end: number): number => {
      let v = 0;
      for (let i = at; i < at + 6; i++) v = v * 256 + (i < end ? keys[i]! : 0);
      return v;
    };
    for (let r = 0; r < n; r++) {
      const a = keyAt[r]!;
      const e = keyAt[r + 1]!;
      p0[r] = word(a, e);
      p1[r] = word(a + 6, e);
      p2[r] = word(a + 12, e);
    }
    const cmp = (x: number, y: number): number => {
      const d = p0[x]! - p0[y]! || p1[x]! - p1[y]! || p2[x]! - p2[y]!;
      if (d !== 0) return d;
      const xa = keyAt[x]!;
      const ya = keyAt[y]!;
      const xe = keyAt[x + 1]!;
      const ye = keyAt[y + 1]!;
      // Equal first 18 bytes (a shorter key padded with zeros: no serial byte is zero, so padding sorts first).
      if (xe - xa <= 18 && ye - ya <= 18) return xe - xa - (ye - ya);
      // The bytes after the 18th (none for a key of 18): x's as the source, y's as the target, negative if x first.
      return keys.compare(keys, Math.min(ya + 18, ye), ye, Math.min(xa + 18, xe), xe);
    };
    let sorted = true;
    for (let r = 1; r < n && sorted; r++) sorted = cmp(r - 1, r) < 0;
    if (sorted) return null;
    // By GTIN first (a file names few): a counting sort, keeping the file's order within each GTIN, which is often
    // the key order already (a file per product, or products interleaved); only the GTINs out of order are sorted.
    const ids = new Map<number, number>();
    const gtinOf = new Uint32Array(n);
    const counts: number[] = [];
    for (let r = 0; r < n; r++) {
      let id = ids.get(p0[r]!);
      if (id === undefined) {
        id = counts.length;
        ids.set(p0[r]!, id);
        counts.push(0);
        if (id >= MAX_COUNTED_GTINS) return fullSort(n, cmp);
      }
      gtinOf[r] = id;
      counts[id]!++;
    }
    const next = new Float64Array(counts.length);
    const ends: number[] = [];
    let at = 0;
    for (const [, id] of [...ids].sort((a, b) => a[0] - b[0])) {
      next[id] = at;
      at += counts[id]!;
      ends.push(at);
    }
    const order = new Uint32Array(n);
    for (let r = 0; r < n; r++) order[next[gtinOf[r]!]!++] = r;
    let from = 0;
    for (const end of ends) {
      let inOrder = true;
      for (let i = from + 1; i < end && inOrder; i++) inOrder = cmp(order[i - 1]!, order[i]!) < 0;
      if (!inOrder) order.subarray(from, end).sort(cmp);
      from = end;
    }
    return order;
  }

  private sameKey(row: number, key: Buffer): boolean {
    const start = this.keyAt[row]!;
    const end = this.keyAt[row + 1]!;
    return end - start === key.length && this.keys.compare(key, 0, key.length, start, end) === 0;
  }

  private append(key: Buffer, value: Buffer): void {
    const n = this.count;
    if (n + 2 > this.keyAt.length) {
      this.keyAt = grown(this.keyAt);
      this.valueAt = grown(this.valueAt);
    }
    const k = this.keyAt[n]!;
    const v = this.valueAt[n]!;
    if (k + key.length > MAX_OFFSET || v + value.length > MAX_OFFSET) {
      throw new GatewayError('SG_ERR_IMPORT_READ', `the file's first ${n} serials fill the 4 GiB one import can hold; nothing was imported`, {
        hint: `split it into files of at most about ${(Math.floor(n / 2 / 1_000_000) * 1_000_000).toLocaleString('en-US')} serials and import them one after the other`,
      });
    }
    if (k + key.length > this.keys.length) this.keys = grownBytes(this.keys, k, k + key.length);
    if (v + value.length > this.values.length) this.values = grownBytes(this.values, v, v + value.length);
    key.copy(this.keys, k);
    value.copy(this.values, v);
    this.keyAt[n + 1] = k + key.length;
    this.valueAt[n + 1] = v + value.length;
    this.count = n + 1;
  }

  private growIndex(): void {
    const { slots, hashes } = this;
    this.slots = new Int32Array(slots.length * 2);
    this.hashes = new Int32Array(slots.length * 2);
    const mask = this.slots.length - 1;
    for (let j = 0; j < slots.length; j++) {
      if (slots[j] === 0) continue;
      let i = hashes[j]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = slots[j]!;
      this.hashes[i] = hashes[j]!;
    }
  }
}

/** Row numbers 0..n-1 sorted by `cmp`. */
function fullSort(n: number, cmp: (x: number, y: number) => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  return order.sort(cmp);
}

function grown(a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** A buffer at least `need` long holding the first `used` bytes of `b`. */
function grownBytes(b: Buffer, used: number, need: number): Buffer {
  let size = b.length * 2;
  while (size < need) size *= 2;
  const c = Buffer.allocUnsafe(size);
  b.copy(c, 0, 0, used);
  return c;
}

/** FNV-1a over the key bytes, mixed at the end so that the low bits spread. */
function hashBytes(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
