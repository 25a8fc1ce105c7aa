/**
 * The decision for one item (GTIN + serial) at a station: order, existence, holds and recalls (serial and
 * lot), data mismatch, expiry (with the short-date margin), container rules, duplicate serial, status table.
 */
import { isoToDays, newRecord, transitioned, FLAG_BLOCKED, FLAG_ON_HOLD, FLAG_RECALLED, daysToIso, type SerialRecord } from '../cache/record.js';
import { STATUSES, statusName, type StatusCode } from '../reasons.js';
import { addChild, checkHomogeneous, checkParent, removeChild } from './aggregate.js';
import { refused, rejectOf, type DecideContext } from './context.js';
import type { Draft } from './draft.js';
import type { Decision } from './types.js';

export interface ItemRead {
  gtin: string;
  serial: string;
  lot?: string | undefined;
  expiry?: string | undefined;
}

/** The item, as reject messages name it (built only for a reject). */
function who(read: ItemRead): string {
  return `serial ${read.serial} of GTIN ${read.gtin}`;
}

/**
 * Decide an item read and stage its writes in `draft`.
 * @param parent container to aggregate into (camera reads name it); default: the station's open container.
 */
export function decideItem(ctx: DecideContext, draft: Draft, read: ItemRead, parent?: string): Decision {
  const { rules } = ctx;
  const rule = rules.rule;
  const station = draft.stationState(ctx.stationKey);

  const order = station.orderGtins.length > 0 ? station.orderGtins : rules.orderGtins;
  if (order.length > 0 && !order.includes(read.gtin)) {
    return refused(rejectOf('GTIN_NOT_ON_ORDER', `GTIN ${read.gtin} is not on the order of this station`), STATUSES.UNKNOWN);
  }
  if (station.orderLot !== '' && read.lot !== undefined && read.lot !== station.orderLot) {
    return refused(rejectOf('GTIN_NOT_ON_ORDER', `lot ${read.lot} is not the order's lot ${station.orderLot}`), STATUSES.UNKNOWN);
  }

  let rec: SerialRecord | undefined = draft.getSerial(read.gtin, read.serial);
  const isNew = rec === undefined;
  if (rec === undefined) {
    if (!rules.allowUnknown) return refused(rejectOf('UNKNOWN_SERIAL', `${who(read)} is not in the cache`), STATUSES.UNKNOWN);
    rec = newRecord(STATUSES.UNKNOWN, read.lot ?? '', read.expiry ?? '');
  }
  const before = rec.status;

  const lotRec = ctx.cache.getLot(read.gtin, rec.lot || read.lot || '');
  const flags = rec.flags | (lotRec?.flags ?? 0);
  if (flags & FLAG_BLOCKED) return refused(rejectOf('SERIAL_BLOCKED', `${who(read)} is blocked`), before);
  if (!rule.skipRecall && flags & FLAG_RECALLED) return refused(rejectOf('LOT_RECALLED', `lot ${rec.lot || read.lot} of GTIN ${read.gtin} is recalled`), before);
  if (!rule.skipHold && flags & FLAG_ON_HOLD) return refused(rejectOf('LOT_ON_HOLD', `lot ${rec.lot || read.lot} of GTIN ${read.gtin} is on hold`), before);

  if (read.lot !== undefined && rec.lot !== '' && read.lot !== rec.lot) {
    return refused(rejectOf('DATA_MISMATCH', `lot in the code is ${read.lot}, the cache has ${rec.lot}`), before);
  }
  const readExpiry = isoToDays(read.expiry);
  if (readExpiry !== 0 && rec.expiryDays !== 0 && readExpiry !== rec.expiryDays) {
    return refused(rejectOf('DATA_MISMATCH', `expiry in the code is ${read.expiry}, the cache has ${daysToIso(rec.expiryDays)}`), before);
  }
  const expiry = rec.expiryDays || readExpiry || (lotRec?.expiryDays ?? 0);
  if (!rule.skipExpiry && expiry !== 0) {
    const margin = Math.max(rules.shortDateMarginDays, ctx.cache.getProduct(read.gtin)?.shortDateMarginDays ?? 0);
    if (expiry < ctx.todayDays) return refused(rejectOf('EXPIRED', `expired on ${daysToIso(expiry)}`), before);
    if (expiry < ctx.todayDays + margin) return refused(rejectOf('EXPIRED', `expires on ${daysToIso(expiry)}, within the ${margin}-day short-date margin`), before);
  }

  const aggregating = rules.op === 'aggregate' || parent !== undefined || (rules.op === 'pack' && station.open !== '');
  const target = parent ?? (aggregating ? station.open : '');
  let move = false;
  if (rules.op === 'aggregate' && target === '') return refused(rejectOf('PARENT_UNKNOWN', 'no container is open at this station'), before);
  if (target !== '') {
    if (rec.parent === target) return refused(rejectOf('DUPLICATE_SERIAL', `${who(read)} is already in container ${target}`), before);
    if (rec.parent !== '') {
      if (rules.strict) return refused(rejectOf('CHILD_AGGREGATED_ELSEWHERE', `${who(read)} is in container ${rec.parent}`), before);
      move = true;
    }
    const p = draft.getContainer(target);
    const bad = checkParent(p, target, 1) ?? checkHomogeneous(ctx, p!, target, read.gtin, rec.lot || read.lot || '');
    if (bad) return refused(bad, before, target);
  } else if (!isNew && rule.to !== null && rule.to !== 'previous' && rec.lastOp === rules.opCode && rec.status === rule.to) {
    return refused(rejectOf('DUPLICATE_SERIAL', `${who(read)} was already accepted at this step (${rules.op})`), before);
  }

  const allowed = isNew || rule.from.has(before) || (move && before === STATUSES.PACKED);
  if (!allowed) {
    return refused(rejectOf('WRONG_STATUS', `status is ${statusName(before)}, ${rules.op} needs ${[...rule.from].map((s) => statusName(s)).join(' or ')}`), before);
  }

  const to: StatusCode = rule.to === null ? before : rule.to === 'previous' ? rec.prevStatus || STATUSES.RECEIVED : rule.to;
  if (rule.to === null && target === '') return { reason: 'OK', statusBefore: before, statusAfter: before };

  const leaves = rec.parent !== '' && (rule.clearsParent || move);
  if (leaves || target !== '') {
    const item = { kind: 'item' as const, gtin: read.gtin, serial: read.serial };
    if (leaves) removeChild(draft, rec.parent, item);
    if (target !== '') addChild(ctx, draft, target, item, read.gtin, rec.lot || read.lot || '');
  }
  const next = transitioned(rec, to, rules.opCode, ctx.stationId, ctx.nowS, {
    parent: target !== '' ? target : rule.clearsParent ? '' : rec.parent,
    lot: rec.lot || read.lot || '',
    expiryDays: rec.expiryDays || readExpiry,
  });
  draft.putSerial(read.gtin, read.serial, next);
  const d: Decision = { reason: 'OK', statusBefore: before, statusAfter: to, effects: draft };
  if (target !== '') d.parent = target;
  return d;
}
