/**
 * Validation of import rows (`gtin,serial,lot,expiry,status`). Every bad row is reported with its line
 * number and what is wrong; nothing is written unless every row is good.
 */
import { isValidGs1Key, gs1CheckDigit } from '../parse/index.js';
import { STATUSES, type StatusCode, type StatusName } from '../reasons.js';

export const IMPORT_COLUMNS = ['gtin', 'serial', 'lot', 'expiry', 'status'] as const;

export interface ImportRow {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  status: StatusCode;
}

export interface RowError {
  line: number;
  message: string;
}

/** GS1 character set 82 (GS1 General Specifications 7.11, figure 7.11-1). */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validDate(iso: string): boolean {
  const m = ISO_DATE.exec(iso);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** Check one row's fields; returns the row or the problem. */
export function checkRow(fields: readonly string[], defaultStatus: StatusName | undefined): ImportRow | string {
  if (fields.length !== IMPORT_COLUMNS.length) return `expected ${IMPORT_COLUMNS.length} fields (${IMPORT_COLUMNS.join(',')}), found ${fields.length}`;
  const [gtin, serial, lot, expiry, statusRaw] = fields as [string, string, string, string, string];
  if (!/^\d{14}$/.test(gtin)) return `gtin "${gtin}" must be 14 digits`;
  if (!isValidGs1Key(gtin)) return `gtin ${gtin} has check digit ${gtin[13]}, expected ${gs1CheckDigit(gtin.slice(0, 13))}`;
  if (serial.length < 1 || serial.length > 20) return `serial "${serial}" must be 1-20 characters`;
  if (!CSET82.test(serial)) return `serial "${serial}" has a character outside GS1 character set 82`;
  if (lot.length > 20 || !CSET82.test(lot)) return `lot "${lot}" must be at most 20 characters of GS1 character set 82`;
  if (expiry !== '' && !validDate(expiry)) return `expiry "${expiry}" must be a date YYYY-MM-DD`;
  const name = (statusRaw === '' ? defaultStatus : statusRaw.toUpperCase()) as StatusName | undefined;
  if (name === undefined) return 'status is empty and no --status default was given';
  if (!(name in STATUSES) || name === 'UNKNOWN') {
    return `status "${statusRaw}" is not one of ${Object.keys(STATUSES).filter((s) => s !== 'UNKNOWN').join(', ')}`;
  }
  return { gtin, serial, lot, expiry, status: STATUSES[name] };
}
