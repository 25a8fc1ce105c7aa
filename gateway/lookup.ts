/** Read-only views of a cached serial or container, for `scangate lookup`, queries and the HTTP API. */
import { Cache } from './cache/cache.js';
import { parseChildId } from './cache/container.js';
import { FLAG_BLOCKED, FLAG_EXPIRY_DAY_UNSPECIFIED, FLAG_ON_HOLD, FLAG_RECALLED, daysToIso, historyEntries } from './cache/record.js';
import { operationName, statusName } from './reasons.js';
import type { Store } from './store.js';

export interface SerialView {
  gtin: string;
  serial: string;
  status: string;
  previousStatus?: string;
  lot?: string;
  expiry?: string;
  parent?: string;
  flags: string[];
  lastChange?: string;
  history?: { operation: string; status: string; station: string; time: string }[];
}

export interface ContainerView {
  sscc: string;
  state: string;
  status: string;
  capacity: number;
  parent?: string;
  flags: string[];
  children: ({ gtin: string; serial: string } | { sscc: string })[];
}

function flagNames(f: number): string[] {
  const out: string[] = [];
  if (f & FLAG_ON_HOLD) out.push('ON_HOLD');
  if (f & FLAG_RECALLED) out.push('RECALLED');
  if (f & FLAG_BLOCKED) out.push('BLOCKED');
  if (f & FLAG_EXPIRY_DAY_UNSPECIFIED) out.push('EXPIRY_DAY_UNSPECIFIED');
  return out;
}

export function lookupSerial(store: Store, gtin: string, serial: string, cache = new Cache(store)): SerialView | undefined {
  const r = cache.getSerial(gtin, serial);
  if (r === undefined) return undefined;
  const v: SerialView = { gtin, serial, status: statusName(r.status) ?? `#${r.status}`, flags: flagNames(r.flags) };
  if (r.prevStatus) v.previousStatus = statusName(r.prevStatus) ?? `#${r.prevStatus}`;
  if (r.lot) v.lot = r.lot;
  if (r.expiryDays) v.expiry = daysToIso(r.expiryDays);
  if (r.parent) v.parent = r.parent;
  if (r.lastChangeS) v.lastChange = new Date(r.lastChangeS * 1000).toISOString();
  if (r.history.length > 0) {
    v.history = historyEntries(r).map((h) => ({
      operation: operationName(h.op) ?? `#${h.op}`,
      status: statusName(h.statusAfter) ?? `#${h.statusAfter}`,
      station: cache.stationKey(h.station) || `#${h.station}`,
      time: new Date(h.timeS * 1000).toISOString(),
    }));
  }
  return v;
}

export function lookupContainer(store: Store, sscc: string, cache = new Cache(store)): ContainerView | undefined {
  const c = cache.getContainer(sscc);
  if (c === undefined) return undefined;
  const v: ContainerView = {
    sscc,
    state: c.state,
    status: statusName(c.status) ?? `#${c.status}`,
    capacity: c.capacity,
    flags: flagNames(c.flags),
    children: c.children.map((id) => {
      const ref = parseChildId(id);
      return ref.kind === 'item' ? { gtin: ref.gtin, serial: ref.serial } : { sscc: ref.sscc };
    }),
  };
  if (c.parent) v.parent = c.parent;
  return v;
}
