/** Read-only view of one cached serial, for `scangate lookup` and the HTTP API. */
import { serialKey } from './cache/keys.js';
import { FLAG_BLOCKED, FLAG_EXPIRY_DAY_UNSPECIFIED, FLAG_ON_HOLD, FLAG_RECALLED, daysToIso, decodeRecord } from './cache/record.js';
import { statusName } from './reasons.js';
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
}

export function lookupSerial(store: Store, gtin: string, serial: string): SerialView | undefined {
  const bytes = store.serials.getBinary(serialKey(gtin, serial));
  if (bytes === undefined) return undefined;
  const r = decodeRecord(bytes);
  const v: SerialView = { gtin, serial, status: statusName(r.status) ?? `#${r.status}`, flags: [] };
  if (r.prevStatus) v.previousStatus = statusName(r.prevStatus) ?? `#${r.prevStatus}`;
  if (r.lot) v.lot = r.lot;
  if (r.expiryDays) v.expiry = daysToIso(r.expiryDays);
  if (r.parent) v.parent = r.parent;
  if (r.flags & FLAG_ON_HOLD) v.flags.push('ON_HOLD');
  if (r.flags & FLAG_RECALLED) v.flags.push('RECALLED');
  if (r.flags & FLAG_BLOCKED) v.flags.push('BLOCKED');
  if (r.flags & FLAG_EXPIRY_DAY_UNSPECIFIED) v.flags.push('EXPIRY_DAY_UNSPECIFIED');
  if (r.lastChangeS) v.lastChange = new Date(r.lastChangeS * 1000).toISOString();
  return v;
}
