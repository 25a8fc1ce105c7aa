/**
 * Serial records written but not yet committed, by GTIN + serial, so every decision sees the ones before it.
 * Keyed by the serial alone with a short chain per serial (a serial rarely exists under two GTINs): no key
 * string is built per lookup or per write, as a `gtin + serial` key was, on the hot path of every read.
 */
import type { SerialRecord } from './record.js';

export interface OverlayEntry {
  readonly gtin: string;
  readonly serial: string;
  rec: SerialRecord;
  next: OverlayEntry | null;
}

export class SerialOverlay {
  private readonly bySerial = new Map<string, OverlayEntry>();
  private count = 0;

  /** Records held. */
  get size(): number {
    return this.count;
  }

  get(gtin: string, serial: string): SerialRecord | undefined {
    if (this.count === 0) return undefined;
    for (let e: OverlayEntry | null = this.bySerial.get(serial) ?? null; e !== null; e = e.next) if (e.gtin === gtin) return e.rec;
    return undefined;
  }

  /** Hold `rec` (replacing what this serial held); returns its entry, for settle(). */
  set(gtin: string, serial: string, rec: SerialRecord): OverlayEntry {
    const head = this.bySerial.get(serial);
    for (let e: OverlayEntry | null = head ?? null; e !== null; e = e.next) {
      if (e.gtin === gtin) {
        e.rec = rec;
        return e;
      }
    }
    const entry: OverlayEntry = { gtin, serial, rec, next: head ?? null };
    this.bySerial.set(serial, entry);
    this.count++;
    return entry;
  }

  /** `rec` is committed: drop the entry unless a later record replaced it meanwhile. */
  settle(entry: OverlayEntry, rec: SerialRecord): void {
    if (entry.rec !== rec) return;
    const head = this.bySerial.get(entry.serial);
    if (head === entry) {
      if (entry.next === null) this.bySerial.delete(entry.serial);
      else this.bySerial.set(entry.serial, entry.next);
    } else {
      let p = head ?? null;
      while (p !== null && p.next !== entry) p = p.next;
      if (p === null) return;
      p.next = entry.next;
    }
    this.count--;
  }
}
