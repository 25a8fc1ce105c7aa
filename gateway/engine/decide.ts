/**
 * Decide one identified read at a station from the cached record alone. Pure: no I/O, no clock of its own.
 */
import { STATUSES, type OperationName, type ReasonName, type StatusCode, statusName } from '../reasons.js';
import { FLAG_BLOCKED, FLAG_ON_HOLD, FLAG_RECALLED, isoToDays, type SerialRecord } from '../cache/record.js';
import { DEFAULT_RULES } from './rules.js';

export interface ItemRead {
  gtin: string;
  serial: string;
  lot?: string | undefined;
  expiry?: string | undefined;
}

export interface Decision {
  reason: ReasonName;
  message?: string;
  statusBefore: StatusCode;
  statusAfter: StatusCode;
  /** The record to store when accepted and the state changes; undefined otherwise. */
  next?: SerialRecord;
}

/**
 * @param todayDays today's date as days since 2000-01-01 (site local date), for EXPIRED.
 * @param nowS the decision time in seconds since the epoch, stamped on the record.
 * @param openContainer SSCC of the station's open container (aggregate), if any.
 */
export function decideItem(
  op: OperationName,
  rec: SerialRecord | undefined,
  read: ItemRead,
  todayDays: number,
  nowS: number,
  openContainer?: string,
): Decision {
  if (rec === undefined) {
    return { reason: 'UNKNOWN_SERIAL', message: `serial ${read.serial} of GTIN ${read.gtin} is not in the cache`, statusBefore: STATUSES.UNKNOWN, statusAfter: STATUSES.UNKNOWN };
  }
  const before = rec.status;
  const reject = (reason: ReasonName, message: string): Decision => ({ reason, message, statusBefore: before, statusAfter: before });
  if (rec.flags & FLAG_BLOCKED) return reject('SERIAL_BLOCKED', `serial ${read.serial} is blocked`);
  if (rec.flags & FLAG_RECALLED) return reject('LOT_RECALLED', `lot ${rec.lot || '(unknown)'} is recalled`);
  if (rec.flags & FLAG_ON_HOLD) return reject('LOT_ON_HOLD', `lot ${rec.lot || '(unknown)'} is on hold`);
  if (read.lot !== undefined && rec.lot !== '' && read.lot !== rec.lot) {
    return reject('DATA_MISMATCH', `lot in the code is ${read.lot}, the cache has ${rec.lot}`);
  }
  const readExpiry = read.expiry !== undefined ? isoToDays(read.expiry) : 0;
  if (readExpiry !== 0 && rec.expiryDays !== 0 && readExpiry !== rec.expiryDays) {
    return reject('DATA_MISMATCH', `expiry in the code is ${read.expiry}, the cache has another date`);
  }
  const expiry = rec.expiryDays || readExpiry;
  const rule = DEFAULT_RULES[op];
  if (op === 'aggregate' && openContainer === undefined) {
    return reject('PARENT_UNKNOWN', 'no container is open at this station');
  }
  // Expired goods may still be destroyed, sampled or inspected; they may not move on.
  if (expiry !== 0 && expiry < todayDays && op !== 'destroy' && op !== 'verify' && op !== 'decommission' && op !== 'sample') {
    return reject('EXPIRED', `expired on ${read.expiry ?? 'the cached date'}`);
  }
  if (!rule.from.has(before)) {
    return reject('WRONG_STATUS', `status is ${statusName(before)}, ${op} needs ${[...rule.from].map((s) => statusName(s)).join(' or ')}`);
  }
  if (rule.to === null) return { reason: 'OK', statusBefore: before, statusAfter: before };
  const after = rule.to === 'previous' ? (rec.prevStatus || STATUSES.RECEIVED) : rule.to;
  const next: SerialRecord = {
    status: after,
    flags: rec.flags,
    prevStatus: before,
    expiryDays: rec.expiryDays || readExpiry,
    lastChangeS: nowS,
    lot: rec.lot || read.lot || '',
    parent: rule.clearsParent ? '' : (openContainer ?? rec.parent),
  };
  return { reason: 'OK', statusBefore: before, statusAfter: after, next };
}
