/** What every engine function needs to know about the read's place and time. */
import type { Cache } from '../cache/cache.js';
import type { ReasonName, StatusCode } from '../reasons.js';
import type { StationRules } from './rules.js';

export interface DecideContext {
  cache: Cache;
  rules: StationRules;
  stationKey: string;
  stationId: number;
  /** Today (site local date) as days since 2000-01-01. */
  todayDays: number;
  /** Decision time, seconds since the epoch. */
  nowS: number;
}

export interface Reject {
  reason: ReasonName;
  message: string;
}

export const rejectOf = (reason: ReasonName, message: string): Reject => ({ reason, message });

/** A refused decision that changes nothing. */
export function refused(r: Reject, status: StatusCode, parent?: string) {
  const d = { reason: r.reason, message: r.message, statusBefore: status, statusAfter: status } as {
    reason: ReasonName;
    message: string;
    statusBefore: StatusCode;
    statusAfter: StatusCode;
    parent?: string;
  };
  if (parent) d.parent = parent;
  return d;
}
