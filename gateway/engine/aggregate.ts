/**
 * Parent-child changes: add a child to a container (capacity, homogeneity, auto-close), take one out,
 * and the hierarchy checks (no cycles, no self-parenting).
 */
import { FLAG_BLOCKED, FLAG_ON_HOLD, FLAG_RECALLED } from '../cache/record.js';
import { containerChildId, itemChildId, parseChildId, type ChildRef, type ContainerRecord } from '../cache/container.js';
import { STATUSES } from '../reasons.js';
import type { DecideContext, Reject } from './context.js';
import { rejectOf } from './context.js';
import type { Draft } from './draft.js';

/** The container a child may go into: open, not shipped, with room. */
export function checkParent(parent: ContainerRecord | undefined, sscc: string, adding: number): Reject | null {
  if (parent === undefined) return rejectOf('PARENT_UNKNOWN', `container ${sscc} is not known`);
  if (parent.state !== 'OPEN') return rejectOf('PARENT_CLOSED', `container ${sscc} is closed`);
  if (parent.status === STATUSES.SHIPPED) return rejectOf('PARENT_CLOSED', `container ${sscc} is shipped`);
  if (parent.capacity > 0 && parent.children.length + adding > parent.capacity) {
    return rejectOf('CAPACITY_EXCEEDED', `container ${sscc} holds ${parent.children.length} of ${parent.capacity}; ${adding} more do not fit`);
  }
  return null;
}

/** Homogeneous containers: every item shares the first item's GTIN (and lot). */
export function checkHomogeneous(ctx: DecideContext, parent: ContainerRecord, sscc: string, gtin: string, lot: string): Reject | null {
  const h = ctx.rules.homogeneous;
  if (h === 'none' || parent.gtin === '') return null;
  if (parent.gtin !== gtin) return rejectOf('DATA_MISMATCH', `container ${sscc} holds GTIN ${parent.gtin}, not ${gtin}`);
  if (h === 'gtin-lot' && parent.lot !== lot) return rejectOf('DATA_MISMATCH', `container ${sscc} holds lot ${parent.lot}, not ${lot}`);
  return null;
}

/** Put a child into a container (already checked); closes the container when it is full. */
export function addChild(ctx: DecideContext, draft: Draft, sscc: string, child: ChildRef, gtin = '', lot = ''): void {
  const parent = draft.editContainer(sscc)!;
  parent.children.push(child.kind === 'item' ? itemChildId(child.gtin, child.serial) : containerChildId(child.sscc));
  if (parent.gtin === '' && gtin !== '' && ctx.rules.homogeneous !== 'none') {
    parent.gtin = gtin;
    parent.lot = lot;
  }
  if (parent.capacity > 0 && parent.children.length >= parent.capacity) closeContainer(draft, sscc, parent);
  appendChange(draft, 'ADD', sscc, child);
}

/** Take a child out of its container (the container's record only). */
export function removeChild(draft: Draft, sscc: string, child: ChildRef): void {
  const parent = draft.editContainer(sscc);
  if (parent === undefined) return;
  const id = child.kind === 'item' ? itemChildId(child.gtin, child.serial) : containerChildId(child.sscc);
  const i = parent.children.indexOf(id);
  if (i >= 0) parent.children.splice(i, 1);
  appendChange(draft, 'DELETE', sscc, child);
}

/** Close a container; if it was a station's open container, that station has none open any more. */
export function closeContainer(draft: Draft, sscc: string, rec: ContainerRecord): void {
  rec.state = 'CLOSED';
  const owner = rec.station;
  if (owner !== '') {
    const st = draft.stationState(owner);
    if (st.open === sscc) draft.setStation(owner, { ...st, open: '' });
  }
}

/** Consecutive changes to the same parent with the same action become one event. */
function appendChange(draft: Draft, action: 'ADD' | 'DELETE', parent: string, child: ChildRef): void {
  const last = draft.aggregations[draft.aggregations.length - 1];
  if (last !== undefined && last.action === action && last.parent === parent) last.children.push(child);
  else draft.addAggregation({ action, parent, children: [child] });
}

/** True when `ancestor` is `sscc` or one of its parents (a move would make a cycle). */
export function isAncestorOrSelf(draft: Draft, ancestor: string, sscc: string): boolean {
  let cur = sscc;
  for (let depth = 0; cur !== '' && depth < 64; depth++) {
    if (cur === ancestor) return true;
    cur = draft.getContainer(cur)?.parent ?? '';
  }
  return false;
}

/** Flags that refuse moving a container or item (hold, recall, blocked), with their reason. */
export function flagReject(flags: number, what: string): Reject | null {
  if (flags & FLAG_BLOCKED) return rejectOf('SERIAL_BLOCKED', `${what} is blocked`);
  if (flags & FLAG_RECALLED) return rejectOf('LOT_RECALLED', `${what} is recalled`);
  if (flags & FLAG_ON_HOLD) return rejectOf('LOT_ON_HOLD', `${what} is on hold`);
  return null;
}

/** Every descendant of a container, depth first, with cycle protection. */
export function* descendants(draft: Draft, sscc: string): Generator<{ ref: ChildRef; parent: string }> {
  const seen = new Set<string>([sscc]);
  const stack = [sscc];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    const rec = draft.getContainer(cur);
    if (rec === undefined) continue;
    for (const id of rec.children) {
      const ref = parseChildId(id);
      yield { ref, parent: cur };
      if (ref.kind === 'container' && !seen.has(ref.sscc)) {
        seen.add(ref.sscc);
        stack.push(ref.sscc);
      }
    }
  }
}
