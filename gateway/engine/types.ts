/** What the engine decides and what it changes. */
import type { ReasonName, StatusCode } from '../reasons.js';
import type { ChildRef, ContainerRecord } from '../cache/container.js';
import type { SerialRecord } from '../cache/record.js';
import type { StationState } from '../cache/cache.js';

export interface AggregationChange {
  action: 'ADD' | 'DELETE';
  parent: string;
  children: ChildRef[];
}

/** A serial's new record, staged by a decision. */
export interface StagedSerial {
  gtin: string;
  serial: string;
  rec: SerialRecord;
}

/** Writes of one decision: applied together in one LMDB transaction with its events, or not at all. */
export interface Effects {
  /** Serials staged: one entry per serial, in staging order, at 0 .. serialCount - 1 (serialAt). */
  readonly serialCount: number;
  serialAt(i: number): StagedSerial;
  containers: Map<string, ContainerRecord>;
  station: { key: string; state: StationState } | null;
  aggregations: AggregationChange[];
}

/** The outcome for one code of a multi-code (camera) read. */
export interface ChildOutcome {
  code: string;
  reason: ReasonName;
  message?: string;
  gtin?: string;
  serial?: string;
  statusBefore: StatusCode;
  statusAfter: StatusCode;
}

export interface Decision {
  reason: ReasonName;
  message?: string;
  statusBefore: StatusCode;
  statusAfter: StatusCode;
  /** Container the read concerned (aggregation parent, or the SSCC read). */
  parent?: string;
  /** Present when accepted and something changes. */
  effects?: Effects;
  /** Camera reads: one outcome per code. */
  children?: ChildOutcome[];
}
