/**
 * Which containers, lots and products an import file has named so far, to refuse one named twice (serials, by
 * the million, are found by their own table: serial-rows.ts).
 */
import type { ImportRow, SerialRow } from './rows.js';

export class SeenRecords {
  private readonly ids = new Set<string>();

  /** False when the record was seen before. */
  add(r: Exclude<ImportRow, SerialRow>): boolean {
    const id = recordId(r);
    const before = this.ids.size;
    return this.ids.add(id).size !== before;
  }
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
