/**
 * The hot cache over the LMDB tables, with an overlay of records written but not yet committed, so every
 * decision sees the effects of the ones before it at once (lmdb-js commits asynchronously).
 * Writes go through the store's write queue (group commit): the writes queued in one synchronous call commit in
 * one LMDB transaction, together with the events appended to the outbox with them, so a decision is stored
 * whole or not at all.
 * Lots, products and per-station state are small and live in memory too (loaded at open).
 */
import type { LotRecord, ProductRecord, Store } from '../store.js';
import { Arena } from '../arena.js';
import { lotKey, SerialKeyScratch } from './keys.js';
import { SerialOverlay, type OverlayEntry } from './overlay.js';
import { decodeRecord, encodeRecord, type SerialRecord } from './record.js';
import { ssccKey, type ContainerRecord } from './container.js';
import { addedChildren, containerAddKey, withAddedChildren } from './container-adds.js';

/** Containers whose last children list handedOut keeps (oldest forgotten first). */
const HANDED_OUT_MAX = 1024;

/** What a station holds between reads: its open container and the order it works on. */
export interface StationState {
  /** SSCC of the open container, '' when none. */
  open: string;
  /** GTINs allowed by the current order (empty: no order set), and the lot when the order names one. */
  orderGtins: string[];
  orderLot: string;
}

/**
 * Meta key that `scangate import` sets, to a value of its own, in its transaction: a running daemon that sees it
 * change loads lots and products again (they live in its memory; serials and containers are read from disk).
 */
export const IMPORT_STAMP_KEY = 'importStamp';

const EMPTY_STATION: StationState = Object.freeze({ open: '', orderGtins: [], orderLot: '' }) as StationState;

export class Cache {
  private readonly store: Store;
  /** Uncommitted serial records by GTIN + serial. */
  private readonly serialOverlay = new SerialOverlay();
  /** Key buffer reused for every serial lookup (lmdb-js copies the key before returning). */
  private readonly keys = new SerialKeyScratch();
  /** Record values of queued writes (each is kept until written). */
  private readonly arena = new Arena();
  private readonly containerOverlay = new Map<string, ContainerRecord | null>();
  /**
   * The children list each of the last containers had when getContainer handed it out: putContainer tells from it
   * which children a change takes out (container-adds.ts). A decision gets a container, then puts it.
   */
  private readonly handedOut = new Map<string, readonly string[]>();
  private readonly lotMap = new Map<string, LotRecord>();
  private readonly productMap = new Map<string, ProductRecord>();
  /** Lot and product records written but not committed: a reload from disk must not undo them. */
  private readonly pendingLots = new Map<string, LotRecord>();
  private readonly pendingProducts = new Map<string, ProductRecord>();
  /** The import stamp (meta IMPORT_STAMP_KEY) the in-memory lots and products were loaded at. */
  private importStamp: unknown;
  private readonly stations = new Map<string, StationState>();
  private readonly stationIds = new Map<string, number>();
  /** Failed writes (the event of the same turn failed too, and the read was not acknowledged). */
  writeErrors = 0;
  /** The overlay entries of the transaction being written now (see track). */
  private group: WriteGroup | null = null;
  /** Serial records not yet committed, in write order, with the promise of their write group (a FIFO). */
  private pendEntries: (OverlayEntry | undefined)[] = [];
  private pendRecs: (SerialRecord | undefined)[] = [];
  private pendGroups: (Promise<boolean> | undefined)[] = [];
  private pendHead = 0;
  private pendTail = 0;
  private pendLast: Promise<boolean> | null = null;

  constructor(store: Store) {
    this.store = store;
    this.importStamp = store.meta.get(IMPORT_STAMP_KEY);
    this.loadLotsAndProducts();
    const ids = (store.meta.get('stationIds') as Record<string, number> | undefined) ?? {};
    for (const [k, v] of Object.entries(ids)) this.stationIds.set(k, v);
    for (const { key, value } of store.meta.getRange({ start: 'station:', end: 'station;' })) {
      this.stations.set(key.slice('station:'.length), value as StationState);
    }
  }

  // ---- serials

  /** The record of a serial, or undefined when it is not cached. */
  getSerial(gtin: string, serial: string): SerialRecord | undefined {
    const pending = this.serialOverlay.get(gtin, serial);
    if (pending !== undefined) return pending;
    const bytes = this.store.serials.getBinaryFast(this.keys.key(gtin, serial));
    return bytes === undefined ? undefined : decodeRecord(bytes);
  }

  /** Write a serial's record in the current event turn's transaction; visible to getSerial at once. */
  putSerial(gtin: string, serial: string, rec: SerialRecord): Promise<boolean> {
    const { store } = this;
    // The key is built when the write is issued (the store's scratch buffer): nothing allocated for it here.
    const written = store.writes.putSerial(store.serials, gtin, serial, encodeRecord(rec, this.arena));
    // Pending records in write order: groups commit in order, so each commit takes its records off the front.
    const t = this.pendTail++;
    this.pendEntries[t] = this.serialOverlay.set(gtin, serial, rec);
    this.pendRecs[t] = rec;
    this.pendGroups[t] = written;
    if (written !== this.pendLast) {
      this.pendLast = written;
      written.then(
        () => this.settleSerials(written, false),
        () => this.settleSerials(written, true),
      );
    }
    return written;
  }

  // ---- containers

  getContainer(sscc: string): ContainerRecord | undefined {
    const pending = this.containerOverlay.get(sscc);
    const rec = pending !== undefined ? (pending ?? undefined) : this.loadContainer(sscc);
    if (rec !== undefined) this.handOut(sscc, rec.children);
    return rec;
  }

  /** A container's record from disk, with the children an import added that a write of ours, racing with the import, left out (container-adds.ts). */
  private loadContainer(sscc: string): ContainerRecord | undefined {
    const key = ssccKey(sscc);
    const rec = this.store.containers.get(key);
    const added = rec === undefined ? undefined : addedChildren(this.store.containerAdds, key);
    return added === undefined ? rec : { ...rec!, children: withAddedChildren(rec!.children, added) };
  }

  putContainer(sscc: string, rec: ContainerRecord): Promise<boolean> {
    const before = this.handedOut.get(sscc);
    const adds = this.store.containerAdds;
    if (before !== undefined && adds !== undefined && rec.children.length <= before.length) {
      // Children taken out on purpose: their keys in containerAdds go too (same transaction; most have none), or
      // an import's copy would add them back at the next load.
      const kept = new Set(rec.children);
      for (const id of before) if (!kept.has(id)) void this.store.writes.remove(adds, containerAddKey(sscc, id));
    }
    this.handOut(sscc, rec.children);
    // Written whole at every child: of the puts of one container in one write group only the last is encoded.
    return this.track(this.containerOverlay, sscc, rec, this.store.writes.putLast(this.store.containers, ssccKey(sscc), rec));
  }

  /** Remember the children list getContainer handed out (or putContainer took) last, for the few hundred last containers. */
  private handOut(sscc: string, children: readonly string[]): void {
    const m = this.handedOut;
    if (m.size >= HANDED_OUT_MAX && !m.has(sscc)) m.delete(m.keys().next().value!);
    m.set(sscc, children);
  }

  // ---- lots and products (in memory, written through)

  getLot(gtin: string, lot: string): LotRecord | undefined {
    if (this.lotMap.size === 0 || lot === '') return undefined;
    return this.lotMap.get(lotKey(gtin, lot).toString('latin1'));
  }

  putLot(gtin: string, lot: string, rec: LotRecord): Promise<boolean> {
    const key = lotKey(gtin, lot);
    const k = key.toString('latin1');
    this.lotMap.set(k, rec);
    return this.track(this.pendingLots, k, rec, this.store.writes.put(this.store.lots, key, rec));
  }

  getProduct(gtin: string): ProductRecord | undefined {
    return this.productMap.size === 0 ? undefined : this.productMap.get(gtin);
  }

  putProduct(gtin: string, rec: ProductRecord): Promise<boolean> {
    this.productMap.set(gtin, rec);
    return this.track(this.pendingProducts, gtin, rec, this.store.writes.put(this.store.products, gtin, rec));
  }

  /**
   * Lots and products live in memory; `scangate import` writes them to disk from another process and stamps
   * the transaction (IMPORT_STAMP_KEY). When the stamp on disk is not the one these were loaded at, load them
   * again (records this process wrote and has not committed yet are kept). Returns what was loaded, or null
   * when nothing was imported since. Cheap enough to call every second: one small read.
   */
  reloadAfterImport(): { lots: number; products: number } | null {
    const stamp = this.store.meta.get(IMPORT_STAMP_KEY);
    if (stamp === undefined || stamp === this.importStamp) return null;
    const loaded = this.loadLotsAndProducts();
    // Taken only when the load went through whole: after a failure, or with records of this process still
    // waiting to commit (kept over the disk's), the next call loads again.
    if (loaded.skipped === 0) this.importStamp = stamp;
    return { lots: loaded.lots, products: loaded.products };
  }

  private loadLotsAndProducts(): { lots: number; products: number; skipped: number } {
    let lots = 0;
    let products = 0;
    let skipped = 0;
    for (const { key, value } of this.store.lots.getRange()) {
      const k = key.toString('latin1');
      if (!this.pendingLots.has(k)) this.lotMap.set(k, value);
      else skipped++;
      lots++;
    }
    for (const { key, value } of this.store.products.getRange()) {
      if (!this.pendingProducts.has(key)) this.productMap.set(key, value);
      else skipped++;
      products++;
    }
    return { lots, products, skipped };
  }

  // ---- stations

  station(key: string): StationState {
    return this.stations.get(key) ?? EMPTY_STATION;
  }

  putStation(key: string, state: StationState): Promise<boolean> {
    this.stations.set(key, state);
    return this.store.writes.put(this.store.meta, `station:${key}`, state);
  }

  /** A small stable number per station key, for the per-serial history. Assigned once, kept on disk. */
  stationId(key: string): number {
    let id = this.stationIds.get(key);
    if (id === undefined) {
      id = this.stationIds.size + 1;
      this.stationIds.set(key, id);
      void this.store.writes.put(this.store.meta, 'stationIds', Object.fromEntries(this.stationIds));
    }
    return id;
  }

  /** Station key of a history station id ('' when unknown). */
  stationKey(id: number): string {
    for (const [k, v] of this.stationIds) if (v === id) return k;
    return '';
  }

  /** Records not yet committed (observability; bounded by the write rate times the commit time). */
  get pending(): number {
    return this.serialOverlay.size + this.containerOverlay.size;
  }

  /**
   * Keep `rec` in the overlay until the write that stores it settles. Every write of one group shares one
   * promise, so the overlay entries are grouped by it: one handler per transaction, not per write (the hot path
   * writes a record per read). The promise returned has that handler attached, so a caller may ignore it: a
   * failed write is counted in writeErrors, never an unhandled rejection.
   */
  private track<V>(overlay: Map<string, V>, key: string, rec: V, written: Promise<boolean>): Promise<boolean> {
    overlay.set(key, rec);
    this.groupOf(written).others.push(overlay, key, rec);
    return written;
  }

  /** The serial records of one write group are committed (or failed): out of the overlay. */
  private settleSerials(written: Promise<boolean>, failed: boolean): void {
    if (this.pendLast === written) this.pendLast = null;
    const { pendEntries: e, pendRecs: r, pendGroups: g } = this;
    let h = this.pendHead;
    const t = this.pendTail;
    while (h < t && g[h] === written) {
      this.serialOverlay.settle(e[h]!, r[h]!);
      e[h] = undefined;
      r[h] = undefined;
      g[h] = undefined;
      h++;
      if (failed) this.writeErrors++;
    }
    if (h === t) {
      // Empty: start over at the front (the arrays keep their capacity).
      this.pendTail = 0;
      h = 0;
    } else if (h > 4096 && h * 2 > t) {
      this.pendEntries = e.slice(h, t);
      this.pendRecs = r.slice(h, t);
      this.pendGroups = g.slice(h, t);
      this.pendTail = t - h;
      h = 0;
    }
    this.pendHead = h;
  }

  private groupOf(written: Promise<boolean>): WriteGroup {
    let g = this.group;
    if (g === null || g.written !== written) {
      const group: WriteGroup = { written, others: [] };
      this.group = g = group;
      written.then(
        () => this.settle(group),
        () => {
          this.writeErrors += group.others.length / 3;
          this.settle(group);
        },
      );
    }
    return g;
  }

  private settle(g: WriteGroup): void {
    if (this.group === g) this.group = null;
    const e = g.others;
    for (let i = 0; i < e.length; i += 3) {
      const overlay = e[i] as Map<string, unknown>;
      const key = e[i + 1] as string;
      if (overlay.get(key) === e[i + 2]) overlay.delete(key);
    }
  }
}

/** Overlay entries of containers waiting on one LMDB transaction: (overlay, key, record) triples, flat. */
interface WriteGroup {
  written: Promise<boolean>;
  others: unknown[];
}
