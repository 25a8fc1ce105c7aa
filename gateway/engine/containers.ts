/**
 * Decisions on an SSCC read: open a container at an aggregating station, put a case on a pallet, ship or
 * receive a container with everything in it, unpack a container.
 */
import { newContainer, type ContainerRecord } from '../cache/container.js';
import { FLAG_BLOCKED, FLAG_ON_HOLD, FLAG_RECALLED, daysToIso, transitioned } from '../cache/record.js';
import { STATUSES, statusName, type StatusCode } from '../reasons.js';
import { addChild, checkParent, closeContainer, descendants, flagReject, isAncestorOrSelf, removeChild } from './aggregate.js';
import { refused, rejectOf, type DecideContext, type Reject } from './context.js';
import type { Draft } from './draft.js';
import type { Decision } from './types.js';

export function decideSscc(ctx: DecideContext, draft: Draft, sscc: string): Decision {
  const op = ctx.rules.op;
  if (op === 'aggregate' || op === 'pack') {
    const open = draft.stationState(ctx.stationKey).open;
    if (ctx.rules.childType === 'container' && open !== '') return containerIntoPallet(ctx, draft, open, sscc);
    return openContainer(ctx, draft, sscc, ctx.rules.capacity);
  }
  if (op === 'ship' || op === 'receive' || op === 'verify') return containerOperation(ctx, draft, sscc);
  if (op === 'disaggregate') return unpack(ctx, draft, sscc);
  const c = draft.getContainer(sscc);
  if (c === undefined) return refused(rejectOf('UNKNOWN_SERIAL', `SSCC ${sscc} is not in the cache`), STATUSES.UNKNOWN);
  return refused(rejectOf('WRONG_STATUS', `${op} is not done on containers; scan the items`), c.status, sscc);
}

/** Open a container at this station (closing the one open before). A capacity of 0 keeps the current one. */
export function openContainer(ctx: DecideContext, draft: Draft, sscc: string, capacity: number): Decision {
  const key = ctx.stationKey;
  const existing = draft.getContainer(sscc);
  const before: StatusCode = existing?.status ?? STATUSES.UNKNOWN;
  if (draft.stationState(key).open === sscc) return { reason: 'OK', statusBefore: before, statusAfter: before, parent: sscc };
  if (existing !== undefined) {
    if (existing.status === STATUSES.SHIPPED) return refused(rejectOf('WRONG_STATUS', `container ${sscc} is shipped`), before, sscc);
    if (existing.state === 'CLOSED') return refused(rejectOf('PARENT_CLOSED', `container ${sscc} is closed`), before, sscc);
  }
  const current = draft.stationState(key).open;
  if (current !== '') {
    const cur = draft.editContainer(current);
    if (cur !== undefined) closeContainer(draft, current, cur);
  }
  const rec: ContainerRecord = existing !== undefined ? draft.editContainer(sscc)! : newContainer(key, capacity, STATUSES.COMMISSIONED);
  rec.station = key;
  if (capacity > 0) rec.capacity = capacity;
  draft.putContainer(sscc, rec);
  draft.setStation(key, { ...draft.stationState(key), open: sscc });
  return { reason: 'OK', statusBefore: before, statusAfter: rec.status, parent: sscc, effects: draft };
}

/** A case (closed container) onto the pallet open at this station. */
function containerIntoPallet(ctx: DecideContext, draft: Draft, pallet: string, sscc: string): Decision {
  const c = draft.getContainer(sscc);
  if (sscc === pallet) return refused(rejectOf('INVALID_HIERARCHY', `container ${sscc} cannot contain itself`), c?.status ?? STATUSES.UNKNOWN, pallet);
  if (c === undefined) return refused(rejectOf('UNKNOWN_SERIAL', `SSCC ${sscc} is not in the cache`), STATUSES.UNKNOWN, pallet);
  const no = (r: Reject) => refused(r, c.status, pallet);
  if (isAncestorOrSelf(draft, sscc, pallet)) return no(rejectOf('INVALID_HIERARCHY', `container ${sscc} contains ${pallet}: that would be a cycle`));
  if (c.state === 'OPEN') return no(rejectOf('WRONG_STATUS', `container ${sscc} is still open`));
  if (c.parent === pallet) return no(rejectOf('DUPLICATE_SERIAL', `container ${sscc} is already on ${pallet}`));
  if (c.status === STATUSES.SHIPPED) return no(rejectOf('WRONG_STATUS', `container ${sscc} is shipped`));
  const flagged = flagReject(c.flags, `container ${sscc}`);
  if (flagged) return no(flagged);
  let move = false;
  if (c.parent !== '') {
    if (ctx.rules.strict) return no(rejectOf('CHILD_AGGREGATED_ELSEWHERE', `container ${sscc} is on ${c.parent}`));
    move = true;
  }
  const bad = checkParent(draft.getContainer(pallet), pallet, 1);
  if (bad) return no(bad);
  const ref = { kind: 'container' as const, sscc };
  if (move) removeChild(draft, c.parent, ref);
  const rec = draft.editContainer(sscc)!;
  rec.prevStatus = rec.status;
  rec.status = STATUSES.PACKED;
  rec.parent = pallet;
  addChild(ctx, draft, pallet, ref);
  return { reason: 'OK', statusBefore: rec.prevStatus, statusAfter: STATUSES.PACKED, parent: pallet, effects: draft };
}

/** Ship, receive or verify a closed container: every descendant must pass; all move together. */
function containerOperation(ctx: DecideContext, draft: Draft, sscc: string): Decision {
  const { rules } = ctx;
  const rule = rules.rule;
  const c = draft.getContainer(sscc);
  if (c === undefined) return refused(rejectOf('UNKNOWN_SERIAL', `SSCC ${sscc} is not in the cache`), STATUSES.UNKNOWN);
  const no = (r: Reject) => refused(r, c.status, sscc);
  if (c.state === 'OPEN' && rules.op !== 'verify') return no(rejectOf('WRONG_STATUS', `container ${sscc} is open: close it first`));
  if (rule.to !== null && rule.to !== 'previous' && c.status === rule.to) return no(rejectOf('DUPLICATE_SERIAL', `container ${sscc} is already ${statusName(c.status)}`));
  const own = flagReject(c.flags, `container ${sscc}`);
  if (own) return no(own);

  const items: { gtin: string; serial: string }[] = [];
  const boxes: string[] = [];
  for (const { ref, parent } of descendants(draft, sscc)) {
    if (ref.kind === 'container') {
      const sub = draft.getContainer(ref.sscc);
      if (sub === undefined) return no(rejectOf('UNKNOWN_SERIAL', `container ${ref.sscc} in ${parent} is not in the cache`));
      if (sub.state === 'OPEN' && rules.op !== 'verify') return no(rejectOf('WRONG_STATUS', `container ${ref.sscc} in ${parent} is open`));
      const f = flagReject(sub.flags, `container ${ref.sscc} in ${parent}`);
      if (f) return no(f);
      boxes.push(ref.sscc);
      continue;
    }
    const rec = draft.getSerial(ref.gtin, ref.serial);
    const who = `serial ${ref.serial} of GTIN ${ref.gtin} in container ${parent}`;
    if (rec === undefined) return no(rejectOf('UNKNOWN_SERIAL', `${who} is not in the cache`));
    const flags = rec.flags | (ctx.cache.getLot(ref.gtin, rec.lot)?.flags ?? 0);
    if (flags & FLAG_BLOCKED) return no(rejectOf('SERIAL_BLOCKED', `${who} is blocked`));
    if (!rule.skipRecall && flags & FLAG_RECALLED) return no(rejectOf('LOT_RECALLED', `lot ${rec.lot} (${who}) is recalled`));
    if (!rule.skipHold && flags & FLAG_ON_HOLD) return no(rejectOf('LOT_ON_HOLD', `lot ${rec.lot} (${who}) is on hold`));
    if (!rule.skipExpiry && rec.expiryDays !== 0 && rec.expiryDays < ctx.todayDays) return no(rejectOf('EXPIRED', `${who} expired on ${daysToIso(rec.expiryDays)}`));
    if (!rule.from.has(rec.status)) return no(rejectOf('WRONG_STATUS', `${who} is ${statusName(rec.status)}`));
    items.push(ref);
  }
  if (rule.to === null) return { reason: 'OK', statusBefore: c.status, statusAfter: c.status, parent: sscc };
  const to = rule.to === 'previous' ? c.prevStatus : rule.to;
  for (const it of items) draft.putSerial(it.gtin, it.serial, transitioned(draft.getSerial(it.gtin, it.serial)!, to, rules.opCode, ctx.stationId, ctx.nowS));
  for (const s of [sscc, ...boxes]) {
    const rec = draft.editContainer(s)!;
    rec.prevStatus = rec.status;
    rec.status = to;
  }
  return { reason: 'OK', statusBefore: c.status, statusAfter: to, parent: sscc, effects: draft };
}

/** Take every child out of a container (disaggregate station, or the resetContainer command). */
export function unpack(ctx: DecideContext, draft: Draft, sscc: string): Decision {
  const c = draft.getContainer(sscc);
  if (c === undefined) return refused(rejectOf('UNKNOWN_SERIAL', `SSCC ${sscc} is not in the cache`), STATUSES.UNKNOWN);
  if (c.status === STATUSES.SHIPPED) return refused(rejectOf('WRONG_STATUS', `container ${sscc} is shipped`), c.status, sscc);
  if (c.children.length === 0) return refused(rejectOf('WRONG_STATUS', `container ${sscc} is empty`), c.status, sscc);
  for (const id of [...c.children]) {
    const ref = id.charCodeAt(0) === 35 ? { kind: 'container' as const, sscc: id.slice(1) } : { kind: 'item' as const, gtin: id.slice(0, 14), serial: id.slice(14) };
    removeChild(draft, sscc, ref);
    if (ref.kind === 'item') {
      const rec = draft.getSerial(ref.gtin, ref.serial);
      if (rec !== undefined) {
        const back = rec.status === STATUSES.PACKED ? rec.prevStatus || STATUSES.RECEIVED : rec.status;
        draft.putSerial(ref.gtin, ref.serial, transitioned(rec, back, ctx.rules.opCode, ctx.stationId, ctx.nowS, { parent: '' }));
      }
    } else {
      const sub = draft.editContainer(ref.sscc);
      if (sub !== undefined) {
        sub.parent = '';
        if (sub.status === STATUSES.PACKED) sub.status = sub.prevStatus;
      }
    }
  }
  return { reason: 'OK', statusBefore: c.status, statusAfter: c.status, parent: sscc, effects: draft };
}
