/**
 * Central's status updates are checked as an import's rows are, before anything of them is written: a value the
 * cache cannot hold as given (a parent that is no SSCC, 30 February, a lot of 100 characters, a GTIN with a bad
 * check digit) refuses the update, which is never stored half or changed on the way. Each problem names the
 * update by its index in the batch. What a newer central may send is taken as an older one would: a status value
 * this gateway does not know is no status (the other fields apply), and an expiry with day 00 is the month's last
 * day (as in AI 17). A refused update whose key is valid still carries its hold and recall flags (apply.ts).
 */
import { checkDate, checkGtin, checkSscc, inCset82 } from '../import/rows.js';
import { isKnownStatus } from '../reasons.js';

/** How far ahead of this gateway's clock an update's `updated_ms` is taken as given; beyond, as now. */
export const MAX_CLOCK_AHEAD_MS = 60 * 60 * 1000;

export interface UpdateFields {
  gtin: string;
  serial: string;
  sscc: string;
  lot: string;
  expiry: string;
  parent: string;
}

/** What the update is about: a serial (gtin and serial), else a container (sscc). */
export function isSerialUpdate(u: { gtin: string; serial: string }): boolean {
  return u.gtin !== '' && u.serial !== '';
}

/** What is wrong with the key of a StatusUpdate (null: it names a serial or a container this gateway can keep). */
export function updateKeyProblem(u: UpdateFields): string | null {
  if (isSerialUpdate(u)) {
    const g = checkGtin(u.gtin);
    if (g !== null) return g;
    if (u.serial.length > 20 || !inCset82(u.serial)) return `serial "${u.serial.slice(0, 40)}" must be 1-20 characters of GS1 character set 82`;
    return null;
  }
  if (u.sscc !== '') return checkSscc(u.sscc, 'sscc');
  if (u.gtin !== '' || u.serial !== '') return 'a serial update needs both gtin and serial (or an sscc for a container)';
  return 'names no serial (gtin + serial) and no container (sscc)';
}

function lotProblem(lot: string): string | null {
  return lot.length > 20 || !inCset82(lot) ? `lot "${lot.length > 40 ? `${lot.slice(0, 40)}...` : lot}" must be at most 20 characters of GS1 character set 82` : null;
}

function expiryProblem(expiry: string): string | null {
  return expiry === '' || checkDate(normalExpiry(expiry)) ? null : `expiry "${expiry.slice(0, 40)}" must be a date YYYY-MM-DD that exists (day 00: the month's last day)`;
}

/** What is wrong with the other fields of a StatusUpdate whose key is valid (null: nothing). */
export function updateFieldsProblem(u: UpdateFields): string | null {
  if (u.parent !== '') {
    const p = checkSscc(u.parent, 'parent');
    if (p !== null) return `${p} (an empty parent takes the record out of its container)`;
    if (!isSerialUpdate(u) && u.parent === u.sscc) return `container ${u.sscc} cannot be its own parent`;
  }
  if (u.lot !== '') {
    const l = lotProblem(u.lot);
    if (l !== null) return l;
  }
  return expiryProblem(u.expiry);
}

/** The fields of a peer's ScanEvent that peer sync writes. */
export interface PeerEventFields extends UpdateFields {
  statusBefore: number;
  statusAfter: number;
}

/**
 * What is wrong with a peer's accepted ScanEvent (null: nothing): its key and fields as a central update's, and
 * statuses this gateway knows (a newer peer's status is not stored as a number no station could decide on).
 */
export function peerEventProblem(ev: PeerEventFields): string | null {
  if (!isKnownStatus(ev.statusAfter)) return `status_after ${ev.statusAfter} is not a status this gateway knows`;
  if (ev.statusBefore !== 0 && !isKnownStatus(ev.statusBefore)) return `status_before ${ev.statusBefore} is not a status this gateway knows`;
  if (!isSerialUpdate(ev) && ev.sscc === '') return null; // names nothing this gateway keeps: ignored
  return updateKeyProblem(ev) ?? updateFieldsProblem(ev);
}

/** What is wrong with one LotUpdate: its key (gtin, lot), or its expiry (then its flags still apply). */
export function lotUpdateProblem(l: { gtin: string; lot: string; expiry: string }): { problem: string; keyOk: boolean } | null {
  if (l.gtin === '' || l.lot === '') return { problem: 'a lot update needs both gtin and lot', keyOk: false };
  const g = checkGtin(l.gtin) ?? lotProblem(l.lot);
  if (g !== null) return { problem: g, keyOk: false };
  const e = expiryProblem(l.expiry);
  return e === null ? null : { problem: e, keyOk: true };
}

/** YYYY-MM-00 -> the month's last day (GS1 AI 17 "day 00"); any other text unchanged. */
export function normalExpiry(expiry: string): string {
  const m = /^(\d{4})-(\d{2})-00$/.exec(expiry);
  if (m === null) return expiry;
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return expiry;
  const last = new Date(Date.UTC(Number(m[1]), mo, 0)).getUTCDate();
  return `${m[1]}-${m[2]}-${String(last).padStart(2, '0')}`;
}
