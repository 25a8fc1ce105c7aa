/**
 * A container (case, pallet) identified by its SSCC. Stored with msgpack (children is a list), keyed by the
 * SSCC as an 8-byte integer (18 digits < 2^60).
 */
import type { StatusCode } from '../reasons.js';

export type ContainerState = 'OPEN' | 'CLOSED';

export interface ContainerRecord {
  state: ContainerState;
  /** Status of the container as a whole (COMMISSIONED when opened, PACKED when it has a parent, SHIPPED...). */
  status: StatusCode;
  prevStatus: StatusCode;
  /** Most children; 0 = no limit. */
  capacity: number;
  /** SSCC of the container this one is in, '' when none. */
  parent: string;
  /** Child ids (childId()): items and containers. */
  children: string[];
  /** GTIN and lot every item must share when the container is homogeneous ('' = any). */
  gtin: string;
  lot: string;
  /** Station key that opened it. */
  station: string;
  /** FLAG_* of record.ts (hold, recall, blocked) on the container itself. */
  flags: number;
}

/** Id of a child in a container's list: items are GTIN-14 + serial, containers `#` + SSCC. */
export function itemChildId(gtin: string, serial: string): string {
  return gtin + serial;
}

export function containerChildId(sscc: string): string {
  return `#${sscc}`;
}

export type ChildRef = { kind: 'item'; gtin: string; serial: string } | { kind: 'container'; sscc: string };

export function parseChildId(id: string): ChildRef {
  return id.charCodeAt(0) === 35 ? { kind: 'container', sscc: id.slice(1) } : { kind: 'item', gtin: id.slice(0, 14), serial: id.slice(14) };
}

/** SSCC (18 digits) -> 8-byte big-endian key. */
export function ssccKey(sscc: string): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeBigUInt64BE(BigInt(sscc), 0);
  return buf;
}

export function newContainer(station: string, capacity: number, status: StatusCode): ContainerRecord {
  return { state: 'OPEN', status, prevStatus: status, capacity, parent: '', children: [], gtin: '', lot: '', station, flags: 0 };
}
