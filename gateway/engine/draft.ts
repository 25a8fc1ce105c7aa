/**
 * The writes of one decision, staged: reads through the draft see its own staged writes first, then the
 * cache. A rejected decision drops its draft (all-or-nothing); an accepted one hands it to the pipeline,
 * which writes it in one event turn with the decision's events.
 */
import type { Cache, StationState } from '../cache/cache.js';
import type { ContainerRecord } from '../cache/container.js';
import type { SerialRecord } from '../cache/record.js';
import type { AggregationChange, Effects } from './types.js';

export class Draft implements Effects {
  readonly serials = new Map<string, { gtin: string; serial: string; rec: SerialRecord }>();
  readonly containers = new Map<string, ContainerRecord>();
  station: { key: string; state: StationState } | null = null;
  readonly aggregations: AggregationChange[] = [];
  private readonly cache: Cache;

  constructor(cache: Cache) {
    this.cache = cache;
  }

  getSerial(gtin: string, serial: string): SerialRecord | undefined {
    return this.serials.get(gtin + serial)?.rec ?? this.cache.getSerial(gtin, serial);
  }

  putSerial(gtin: string, serial: string, rec: SerialRecord): void {
    this.serials.set(gtin + serial, { gtin, serial, rec });
  }

  /** A container to change: a private copy (cache records are shared and must not be mutated). */
  editContainer(sscc: string): ContainerRecord | undefined {
    const staged = this.containers.get(sscc);
    if (staged !== undefined) return staged;
    const rec = this.cache.getContainer(sscc);
    if (rec === undefined) return undefined;
    const copy = { ...rec, children: [...rec.children] };
    this.containers.set(sscc, copy);
    return copy;
  }

  getContainer(sscc: string): ContainerRecord | undefined {
    return this.containers.get(sscc) ?? this.cache.getContainer(sscc);
  }

  putContainer(sscc: string, rec: ContainerRecord): void {
    this.containers.set(sscc, rec);
  }

  stationState(key: string): StationState {
    return this.station?.key === key ? this.station.state : this.cache.station(key);
  }

  setStation(key: string, state: StationState): void {
    this.station = { key, state };
  }

  get empty(): boolean {
    return this.serials.size === 0 && this.containers.size === 0 && this.station === null && this.aggregations.length === 0;
  }
}
