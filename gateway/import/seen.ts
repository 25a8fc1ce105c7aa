/**
 * Which records an import file has named so far, to refuse a record named twice. Serials (millions per file)
 * go in an open-addressing table of 32-bit hashes and row numbers over the rows already kept: a JavaScript Set
 * would hash each fresh row string again and cost about 2 us per row, more than parsing and checking it.
 * The few other records are kept by an id string.
 */
import type { ImportRow, SerialRow } from './rows.js';

export class SeenRecords {
  /** Row number + 1 per slot, 0 = empty. */
  private slots = new Int32Array(1 << 16);
  /** The hash of the row in the same slot. */
  private hashes = new Int32Array(1 << 16);
  private used = 0;
  private readonly others = new Set<string>();

  /** `serials` is the list the caller appends each new serial row to, right after add() returns true. */
  constructor(private readonly serials: readonly SerialRow[]) {}

  /** False when the record was seen before. */
  add(r: ImportRow): boolean {
    if (r.kind !== 'serial') {
      const id = recordId(r);
      const before = this.others.size;
      return this.others.add(id).size !== before;
    }
    const h = hashSerial(r.gtin, r.serial);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!;
      if (slot === 0) {
        this.slots[i] = this.serials.length + 1;
        this.hashes[i] = h;
        if (++this.used * 2 > this.slots.length) this.grow();
        return true;
      }
      if (this.hashes[i] === h) {
        const seen = this.serials[slot - 1]!;
        if (seen.serial === r.serial && seen.gtin === r.gtin) return false;
      }
    }
  }

  private grow(): void {
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

/** FNV-1a over the GTIN, a separator and the serial, mixed at the end so that low bits spread. */
function hashSerial(gtin: string, serial: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < gtin.length; i++) h = Math.imul(h ^ gtin.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x1d, 0x01000193);
  for (let i = 0; i < serial.length; i++) h = Math.imul(h ^ serial.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

function recordId(r: Exclude<ImportRow, SerialRow>): string {
  switch (r.kind) {
    case 'container':
      return `c:${r.sscc}`;
    case 'lot':
      return `l:${r.gtin}:${r.lot}`;
    default:
      return `p:${r.gtin}`;
  }
}
