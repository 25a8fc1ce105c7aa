/**
 * A camera (multi-code) read at an aggregating station: every code goes into the parent together, or none
 * does. Each code gets its own outcome, so the line sees which pack is the culprit.
 */
import { newContainer } from '../cache/container.js';
import type { ParseResult } from '../parse/index.js';
import { STATUSES } from '../reasons.js';
import { checkParent, closeContainer } from './aggregate.js';
import { refused, rejectOf, type DecideContext } from './context.js';
import type { Draft } from './draft.js';
import { decideItem } from './item.js';
import type { ChildOutcome, Decision } from './types.js';

export function decideCamera(ctx: DecideContext, draft: Draft, codes: readonly { code: string; parsed: ParseResult }[], parentSscc?: string): Decision {
  const op = ctx.rules.op;
  if (op !== 'aggregate' && op !== 'pack') {
    return refused(rejectOf('MALFORMED', `a camera read (codes, parent) aggregates items: send it to an aggregate or pack station; at this ${op} station send one read per code`), STATUSES.UNKNOWN);
  }
  const open = draft.stationState(ctx.stationKey).open;
  const parent = parentSscc ?? open;
  if (parent === '') return refused(rejectOf('PARENT_UNKNOWN', 'no parent given and no container is open at this station'), STATUSES.UNKNOWN);
  if (draft.getContainer(parent) === undefined && parentSscc !== undefined) {
    draft.putContainer(parent, newContainer(ctx.stationKey, ctx.rules.capacity, STATUSES.COMMISSIONED));
  }
  const parentBad = checkParent(draft.getContainer(parent), parent, codes.length);
  if (parentBad) return refused(parentBad, STATUSES.UNKNOWN, parent);

  const children: ChildOutcome[] = [];
  const seen = new Set<string>();
  let firstBad: ChildOutcome | undefined;
  for (const { code, parsed } of codes) {
    let out: ChildOutcome;
    if (!parsed.ok) {
      out = { code, reason: parsed.reason, message: parsed.message, statusBefore: STATUSES.UNKNOWN, statusAfter: STATUSES.UNKNOWN };
    } else if (parsed.gtin === undefined || parsed.serial === undefined) {
      out = { code, reason: 'MISSING_AI', message: 'a camera read aggregates items: each code needs AI 01 and AI 21', statusBefore: STATUSES.UNKNOWN, statusAfter: STATUSES.UNKNOWN };
    } else if (seen.has(parsed.gtin + parsed.serial)) {
      out = { code, reason: 'DUPLICATE_SERIAL', message: `serial ${parsed.serial} appears twice in this read`, gtin: parsed.gtin, serial: parsed.serial, statusBefore: STATUSES.UNKNOWN, statusAfter: STATUSES.UNKNOWN };
    } else {
      seen.add(parsed.gtin + parsed.serial);
      const d = decideItem(ctx, draft, { gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot, expiry: parsed.expiry }, parent);
      out = { code, reason: d.reason, gtin: parsed.gtin, serial: parsed.serial, statusBefore: d.statusBefore, statusAfter: d.statusAfter };
      if (d.message !== undefined) out.message = d.message;
    }
    if (out.reason !== 'OK' && firstBad === undefined) firstBad = out;
    children.push(out);
  }
  if (firstBad !== undefined) {
    const bad = children.filter((c) => c.reason !== 'OK').length;
    const d = refused(rejectOf(firstBad.reason, `${bad} of ${codes.length} codes refused, none aggregated; first: ${firstBad.code}: ${firstBad.message ?? firstBad.reason}`), STATUSES.UNKNOWN, parent);
    return { ...d, children: children.map((c) => (c.reason === 'OK' ? { ...c, statusAfter: c.statusBefore } : c)) };
  }
  // A camera read of several codes is a whole case: it closes once its children are in. One code into the
  // station's open container is an item like any other: that container stays open (capacity, the next SSCC or a
  // command close it).
  const rec = draft.editContainer(parent)!;
  if (rec.state === 'OPEN' && !(codes.length === 1 && parent === open)) closeContainer(draft, parent, rec);
  return { reason: 'OK', statusBefore: STATUSES.UNKNOWN, statusAfter: STATUSES.PACKED, parent, effects: draft, children };
}
