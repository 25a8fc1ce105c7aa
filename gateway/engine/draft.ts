/**
 * The writes of one decision, staged: reads through the draft see its own staged writes first, then the
 * cache. A rejected decision drops its draft (all-or-nothing); an accepted one hands it to the pipeline,
 * which writes it in one event turn with the decision's events.
 */
import type { Cache, StationState } from '../cache/cache.js';
import type { ContainerRecord } from '../cache/container.js';
import { newRecord, type SerialRecord } from '../cache/record.js';
import type { AggregationChange, Effects } from './types.js';

import type { StagedSerial } from './types.js';

// Most decisions stage one serial or nothing: lists and maps are made on first use (one draft per read), and
// staged serials are found by a scan of the list until there are enough of them for an index.
const INDEX_FROM = 8;
/** What a cleared staging slot holds (never written). */
const NO_RECORD: SerialRecord = Object.freeze(newRecord()) as SerialRecord;
const NO_CONTAINERS: Map<string, ContainerRecord> = new Map();
const NO_AGGREGATIONS: AggregationChange[] = [];
Object.freeze(NO_AGGREGATIONS);

export class Draft implements Effects {
  station: { key: string; state: StationState } | null = null;
  private readonly cache: Cache;
  /** Staged serials at 0 .. serialCount - 1; the entry objects are reused from decision to decision. */
  private stagedSerials: StagedSerial[] = [];
  serialCount = 0;
  private serialIndex: Map<string, StagedSerial> | null = null;
  private stagedContainers: Map<string, ContainerRecord> | null = null;
  private changes: AggregationChange[] | null = null;

  constructor(cache: Cache) {
    this.cache = cache;
  }

  /** Empty again, for the next decision (the engine reuses one draft: a decision's writes are applied before the next). */
  reset(): this {
    this.station = null;
    for (let i = 0; i < this.serialCount; i++) this.stagedSerials[i]!.rec = NO_RECORD; // let the records go
    this.serialCount = 0;
    this.serialIndex = null;
    this.stagedContainers = null;
    this.changes = null;
    return this;
  }

  /** The i-th staged serial (0 .. serialCount - 1), in staging order (read-only: stage with putSerial). */
  serialAt(i: number): StagedSerial {
    return this.stagedSerials[i]!;
  }

  /** Staged containers (read-only view: stage with putContainer or editContainer). */
  get containers(): Map<string, ContainerRecord> {
    return this.stagedContainers ?? NO_CONTAINERS;
  }

  /** Aggregation changes in order (read-only view: add with addAggregation). */
  get aggregations(): AggregationChange[] {
    return this.changes ?? NO_AGGREGATIONS;
  }

  addAggregation(change: AggregationChange): void {
    (this.changes ??= []).push(change);
  }

  getSerial(gtin: string, serial: string): SerialRecord | undefined {
    if (this.serialCount > 0) {
      const staged = this.staged(gtin, serial);
      if (staged !== undefined) return staged.rec;
    }
    return this.cache.getSerial(gtin, serial);
  }

  putSerial(gtin: string, serial: string, rec: SerialRecord): void {
    const staged = this.serialCount === 0 ? undefined : this.staged(gtin, serial);
    if (staged !== undefined) {
      staged.rec = rec;
      return;
    }
    const list = this.stagedSerials;
    let entry = list[this.serialCount];
    if (entry === undefined) list.push((entry = { gtin, serial, rec }));
    else {
      entry.gtin = gtin;
      entry.serial = serial;
      entry.rec = rec;
    }
    this.serialCount++;
    if (this.serialIndex !== null) this.serialIndex.set(gtin + serial, entry);
    else if (this.serialCount >= INDEX_FROM) {
      const index = new Map<string, StagedSerial>();
      for (let i = 0; i < this.serialCount; i++) index.set(list[i]!.gtin + list[i]!.serial, list[i]!);
      this.serialIndex = index;
    }
  }

  private staged(gtin: string, serial: string): StagedSerial | undefined {
    if (this.serialIndex !== null) return this.serialIndex.get(gtin + serial);
    const list = this.stagedSerials;
    for (let i = 0; i < this.serialCount; i++) {
      const e = list[i]!;
      if (e.serial === serial && e.gtin === gtin) return e;
    }
    return undefined;
  }

  /** A container to change: a private copy (cache records are shared and must not be mutated). */
  editContainer(sscc: string): ContainerRecord | undefined {
    const staged = this.stagedContainers?.get(sscc);
    if (staged !== undefined) return staged;
    const rec = this.cache.getContainer(sscc);
    if (rec === undefined) return undefined;
    const copy = { ...rec, children: [...rec.children] };
    this.putContainer(sscc, copy);
    return copy;
  }

  getContainer(sscc: string): ContainerRecord | undefined {
    return this.containers.get(sscc) ?? this.cache.getContainer(sscc);
  }

  putContainer(sscc: string, rec: ContainerRecord): void {
    (this.stagedContainers ??= new Map()).set(sscc, rec);
  }

  stationState(key: string): StationState {
    return this.station?.key === key ? this.station.state : this.cache.station(key);
  }

  setStation(key: string, state: StationState): void {
    this.station = { key, state };
  }

  get empty(): boolean {
    return this.serialCount === 0 && this.containers.size === 0 && this.station === null && this.aggregations.length === 0;
  }
}
