/**
 * Central's status updates are checked as an import's rows are, before anything of them is written: a value the
 * cache cannot hold as given (a parent that is no SSCC, 30 February, a lot of 100 characters, a GTIN with a bad
 * check digit, a change dated far in the future) is refused with what is wrong and how to fix it, never stored
 * half or changed on the way. Each problem names the update by its index in the batch.
 */
import { checkDate, checkGtin, checkSscc, inCset82 } from '../import/rows.js';
import { STATUSES } from '../reasons.js';

/** How far ahead of this gateway's clock an update's `updated_ms` may be (clocks agree through NTP). */
export const MAX_CLOCK_AHEAD_MS = 60 * 60 * 1000;

const MAX_STATUS = Math.max(...Object.values(STATUSES));

export interface UpdateFields {
  gtin: string;
  serial: string;
  sscc: string;
  status: number;
  lot: string;
  expiry: string;
  parent: string;
  updatedMs: number;
}

function lotProblem(lot: string): string | null {
  return lot.length > 20 || !inCset82(lot) ? `lot "${lot.length > 40 ? `${lot.slice(0, 40)}...` : lot}" must be at most 20 characters of GS1 character set 82` : null;
}

/** What is wrong with one StatusUpdate (null: nothing), with the field it is in. */
export function statusUpdateProblem(u: UpdateFields, nowMs: number): string | null {
  const item = u.gtin !== '' || u.serial !== '';
  if (item) {
    if (u.gtin === '' || u.serial === '') return 'a serial update needs both gtin and serial';
    const g = checkGtin(u.gtin);
    if (g !== null) return g;
    if (u.serial.length > 20 || !inCset82(u.serial)) return `serial "${u.serial.slice(0, 40)}" must be 1-20 characters of GS1 character set 82`;
  } else if (u.sscc === '') {
    return 'names no serial (gtin + serial) and no container (sscc)';
  } else {
    const s = checkSscc(u.sscc, 'sscc');
    if (s !== null) return s;
  }
  if (u.status < 0 || u.status > MAX_STATUS) return `status ${u.status} is not a scangate.v1.Status value (0-${MAX_STATUS})`;
  if (u.parent !== '') {
    const p = checkSscc(u.parent, 'parent');
    if (p !== null) return `${p} (an empty parent takes the record out of its container)`;
    if (!item && u.parent === u.sscc) return `container ${u.sscc} cannot be its own parent`;
  }
  if (u.lot !== '') {
    const l = lotProblem(u.lot);
    if (l !== null) return l;
  }
  if (u.expiry !== '' && !checkDate(u.expiry)) return `expiry "${u.expiry.slice(0, 40)}" must be a date YYYY-MM-DD that exists`;
  if (!Number.isFinite(u.updatedMs) || u.updatedMs < 0) return `updated_ms ${u.updatedMs} must be epoch milliseconds`;
  if (u.updatedMs > nowMs + MAX_CLOCK_AHEAD_MS) {
    return `updated_ms ${u.updatedMs} is ${Math.round((u.updatedMs - nowMs) / 60_000)} minutes ahead of this gateway's clock (at most ${MAX_CLOCK_AHEAD_MS / 60_000}): fix central's or this gateway's clock (NTP)`;
  }
  return null;
}

/** What is wrong with one LotUpdate (null: nothing). */
export function lotUpdateProblem(l: { gtin: string; lot: string; expiry: string }): string | null {
  if (l.gtin === '' || l.lot === '') return 'a lot update needs both gtin and lot';
  const g = checkGtin(l.gtin);
  if (g !== null) return g;
  const p = lotProblem(l.lot);
  if (p !== null) return p;
  if (l.expiry !== '' && !checkDate(l.expiry)) return `expiry "${l.expiry.slice(0, 40)}" must be a date YYYY-MM-DD that exists`;
  return null;
}
