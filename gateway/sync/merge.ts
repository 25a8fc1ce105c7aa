/**
 * How an update from elsewhere (central's status stream, a peer gateway's accepted transition) meets the
 * local record of a serial. Pure functions: no I/O, no clock.
 *
 * Central is the authority on a serial's status, but its updates and a peer's events reach this gateway a
 * moment after they were made, and this gateway may have moved the serial since (its own event is on the way
 * to central). So an update never rolls back a newer local transition: it is applied when its time is not
 * older than the record's last change, and otherwise only its hold/recall flags (which are central's alone)
 * and what the record lacks (lot, expiry) are taken. Times compare to the second (the record keeps seconds);
 * clocks of central, peers and this gateway must agree to within that (NTP).
 */
import { FLAG_ON_HOLD, FLAG_RECALLED, historyEntries, isoToDays, newRecord, transitioned, type SerialRecord } from '../cache/record.js';
import { STATUSES, isKnownStatus, type StatusCode } from '../reasons.js';

/** Flags central decides (a serial's hold and recall). Other flags (blocked, expiry day unspecified) are local. */
export const CENTRAL_FLAGS = FLAG_ON_HOLD | FLAG_RECALLED;

/** Central's view of one serial (a decoded StatusUpdate with gtin + serial). */
export interface CentralSerial {
  status: number;
  lot: string;
  expiry: string;
  parent: string;
  onHold: boolean;
  recalled: boolean;
  /** ms since the epoch; 0 = unknown (always applied). */
  updatedMs: number;
}

export type MergeOutcome = 'created' | 'applied' | 'same' | 'kept-local';

export interface Merge {
  outcome: MergeOutcome;
  /** The record to write; undefined when nothing changes. */
  next?: SerialRecord;
}

function sameRecord(a: SerialRecord, b: SerialRecord): boolean {
  return a.status === b.status && a.flags === b.flags && a.prevStatus === b.prevStatus && a.expiryDays === b.expiryDays && a.lot === b.lot && a.parent === b.parent && a.lastChangeS === b.lastChangeS;
}

/** Apply central's state of a serial to the local record (undefined: not cached). */
export function mergeCentral(cur: SerialRecord | undefined, u: CentralSerial): Merge {
  const flags = (u.onHold ? FLAG_ON_HOLD : 0) | (u.recalled ? FLAG_RECALLED : 0);
  const updatedS = Math.floor(u.updatedMs / 1000);
  const expiryDays = u.expiry ? isoToDays(u.expiry) : 0;
  // STATUS_UNKNOWN (or a status this gateway does not know) carries no status: the other fields still count.
  const status = isKnownStatus(u.status) ? u.status : undefined;
  if (cur === undefined) {
    const rec = newRecord(status ?? STATUSES.UNKNOWN, u.lot, '');
    rec.expiryDays = expiryDays;
    rec.flags = flags;
    rec.parent = u.parent;
    rec.lastChangeS = updatedS;
    return { outcome: 'created', next: rec };
  }
  const newer = u.updatedMs === 0 || updatedS >= cur.lastChangeS;
  const next: SerialRecord = {
    ...cur,
    flags: (cur.flags & ~CENTRAL_FLAGS) | flags,
    lot: cur.lot || u.lot,
    expiryDays: cur.expiryDays || expiryDays,
  };
  if (newer) {
    if (status !== undefined && status !== cur.status) {
      next.status = status;
      next.prevStatus = cur.status;
    }
    next.parent = u.parent;
    if (u.lot) next.lot = u.lot;
    if (expiryDays) next.expiryDays = expiryDays;
    next.lastChangeS = Math.max(cur.lastChangeS, updatedS);
  }
  if (sameRecord(cur, next)) return { outcome: newer ? 'same' : 'kept-local' };
  return { outcome: newer ? 'applied' : 'kept-local', next };
}

/** A peer gateway's accepted transition of a serial (from its ScanEvent). */
export interface PeerTransition {
  operation: number;
  statusBefore: number;
  statusAfter: number;
  lot: string;
  expiry: string;
  parent: string;
  eventTimeMs: number;
  /** Station id (cache dictionary) of the peer's station, for the record's history. */
  station: number;
}

export type PeerOutcome = 'created' | 'applied' | 'same' | 'kept-local' | 'conflict';

/**
 * Apply a peer's accepted transition. `localStation(id)` tells whether a history station id is one of this
 * gateway's own stations: if this gateway made the very same transition itself, both gateways accepted the
 * same serial for the same operation (a double decision peer sync could not prevent): 'conflict'.
 */
export function mergePeer(cur: SerialRecord | undefined, t: PeerTransition, localStation: (id: number) => boolean): { outcome: PeerOutcome; next?: SerialRecord } {
  const timeS = Math.floor(t.eventTimeMs / 1000);
  const after = t.statusAfter as StatusCode;
  if (cur === undefined) {
    const base = newRecord(t.statusBefore as StatusCode, t.lot, t.expiry);
    return { outcome: 'created', next: transitioned(base, after, t.operation, t.station, timeS, { parent: t.parent }) };
  }
  if (cur.status === after && cur.parent === t.parent) {
    const h = historyEntries(cur)[0];
    const mine = h !== undefined && localStation(h.station) && h.op === t.operation && h.statusAfter === after && cur.prevStatus === t.statusBefore;
    return { outcome: mine ? 'conflict' : 'same' };
  }
  if (cur.lastChangeS > timeS) return { outcome: 'kept-local' };
  const changes: Parameters<typeof transitioned>[5] = { parent: t.parent };
  if (!cur.lot && t.lot) changes.lot = t.lot;
  if (!cur.expiryDays && t.expiry) changes.expiryDays = isoToDays(t.expiry);
  return { outcome: 'applied', next: transitioned(cur, after, t.operation, t.station, timeS, changes) };
}
