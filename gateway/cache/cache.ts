/**
 * The hot cache over the LMDB tables, with an overlay of records written but not yet committed, so every
 * decision sees the effects of the ones before it at once (lmdb-js commits asynchronously).
 * Writes are async puts: all writes of one event turn commit in one LMDB transaction, together with the
 * events appended to the outbox in that turn.
 */
import type { Store } from '../store.js';
import { serialKey } from './keys.js';
import { decodeRecord, encodeRecord, type SerialRecord } from './record.js';

export class Cache {
  private readonly store: Store;
  private readonly overlay = new Map<string, SerialRecord>();
  /** Failed writes (the event of the same turn failed too, and the read was not acknowledged). */
  writeErrors = 0;

  constructor(store: Store) {
    this.store = store;
  }

  /** The record of a serial, or undefined when it is not cached. */
  getSerial(gtin: string, serial: string): SerialRecord | undefined {
    const key = serialKey(gtin, serial);
    const pending = this.overlay.get(key.toString('latin1'));
    if (pending !== undefined) return pending;
    const bytes = this.store.serials.getBinaryFast(key);
    return bytes === undefined ? undefined : decodeRecord(bytes);
  }

  /** Write a serial's record in the current event turn's transaction; visible to getSerial at once. */
  putSerial(gtin: string, serial: string, rec: SerialRecord): Promise<boolean> {
    const key = serialKey(gtin, serial);
    const okey = key.toString('latin1');
    this.overlay.set(okey, rec);
    const written = this.store.serials.put(key, encodeRecord(rec));
    written.then(
      () => {
        if (this.overlay.get(okey) === rec) this.overlay.delete(okey);
      },
      () => {
        if (this.overlay.get(okey) === rec) this.overlay.delete(okey);
        this.writeErrors++;
      },
    );
    return written;
  }

  /** Records not yet committed (observability; bounded by the write rate times the commit time). */
  get pending(): number {
    return this.overlay.size;
  }
}
