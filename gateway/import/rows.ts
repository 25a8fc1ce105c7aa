/**
 * Validation of import records: serials, containers, lots and products. Each check returns the clean record
 * or a message saying what is wrong, for a listing with line numbers.
 */
import { CS_X, IN_SET } from '../parse/charset.js';
import { checkDigitProblem } from '../parse/index.js';
import { STATUSES, type StatusCode, type StatusName } from '../reasons.js';

export interface SerialRow {
  kind: 'serial';
  line: number;
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  status: StatusCode;
  parent: string;
  flags: number;
}

export interface ContainerRow {
  kind: 'container';
  line: number;
  sscc: string;
  status: StatusCode;
  parent: string;
  state: 'OPEN' | 'CLOSED';
  capacity: number;
  flags: number;
}

export interface LotRow {
  kind: 'lot';
  line: number;
  gtin: string;
  lot: string;
  flags: number;
  expiry: string;
}

export interface ProductRow {
  kind: 'product';
  line: number;
  gtin: string;
  companyPrefixLength: number;
  shortDateMarginDays: number;
}

export type ImportRow = SerialRow | ContainerRow | LotRow | ProductRow;

export interface RowError {
  line: number;
  message: string;
}

/** GS1 character set 82 (GS1 General Specifications 7.11, figure 7.11-1), 1 per member char code < 128. */
const CSET82 = IN_SET[CS_X]!;

/** Whether every character of `s` is in set 82 (a table per character: a regex test cost more per row). */
export function inCset82(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || CSET82[c] === 0) return false;
  }
  return true;
}
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const FLAG_NAMES = { hold: 1, recall: 2, blocked: 4 } as const;

const goodDates = new Set<string>();
const goodKeys = new Set<string>();

function validDate(iso: string): boolean {
  // Files repeat the same few dates and GTINs: remember the good ones.
  if (goodDates.has(iso)) return true;
  if (!checkDate(iso)) return false;
  if (goodDates.size < 100_000) goodDates.add(iso);
  return true;
}

export function checkDate(iso: string): boolean {
  const m = ISO_DATE.exec(iso);
  if (!m) return false;
  const mo = Number(m[2]);
  const d = Number(m[3]);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(Number(m[1]), mo, 0)).getUTCDate();
}

export function checkGtin(gtin: unknown): string | null {
  if (typeof gtin === 'string' && goodKeys.has(gtin)) return null;
  if (typeof gtin !== 'string' || !/^\d{14}$/.test(gtin)) return `gtin "${String(gtin)}" must be 14 digits`;
  const problem = checkDigitProblem('gtin', gtin);
  if (problem !== null) return problem;
  if (goodKeys.size < 100_000) goodKeys.add(gtin);
  return null;
}

export function checkSscc(sscc: unknown, what: string): string | null {
  if (typeof sscc !== 'string' || !/^\d{18}$/.test(sscc)) return `${what} "${String(sscc)}" must be an SSCC of 18 digits`;
  return checkDigitProblem(what, sscc);
}

const FLAG_KEYS = ['hold', 'recall', 'blocked'];
/** The keys an NDJSON record of each type may have (README "Import"). */
const NDJSON_KEYS: Record<string, ReadonlySet<string>> = {
  serial: new Set(['type', 'gtin', 'serial', 'lot', 'expiry', 'status', 'parent', ...FLAG_KEYS]),
  container: new Set(['type', 'sscc', 'status', 'parent', 'state', 'capacity', ...FLAG_KEYS]),
  lot: new Set(['type', 'gtin', 'lot', 'expiry', ...FLAG_KEYS]),
  product: new Set(['type', 'gtin', 'companyPrefixLength', 'shortDateMarginDays']),
};

/**
 * What is wrong with the keys of an NDJSON record (null: nothing). A key the record's type does not have is refused,
 * never ignored: `"Recall": true` or `"hold ": true` would import a recalled pack as a clean one.
 */
export function ndjsonKeysProblem(o: Record<string, unknown>): string | null {
  const keys = NDJSON_KEYS[String(recordType(o))];
  if (keys === undefined) return null; // an unknown type: checkRecord says so
  for (const k in o) {
    if (!keys.has(k)) return `key ${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}...` : k)} is not one of a ${String(recordType(o))} record (${[...keys].join(', ')})`;
  }
  return null;
}

/** The record's type: `type`, else container when it names an SSCC and no serial, else serial. */
function recordType(o: Record<string, unknown>): unknown {
  return o.type ?? (o.sscc !== undefined && o.serial === undefined ? 'container' : 'serial');
}

/** Status names as files write them (upper case) -> code; UNKNOWN is not importable. */
const STATUS_CODES = new Map<unknown, StatusCode>(Object.entries(STATUSES).filter(([n]) => n !== 'UNKNOWN') as [StatusName, StatusCode][]);

function checkStatus(raw: unknown, fallback: StatusName | undefined): StatusCode | string {
  const code = STATUS_CODES.get(raw);
  if (code !== undefined) return code;
  const name = (raw === undefined || raw === '' ? fallback : String(raw).toUpperCase()) as StatusName | undefined;
  if (name === undefined) return 'status is empty and no --status default was given';
  if (!(name in STATUSES) || name === 'UNKNOWN') {
    return `status "${String(raw)}" is not one of ${Object.keys(STATUSES).filter((s) => s !== 'UNKNOWN').join(', ')}`;
  }
  return STATUSES[name];
}

function checkBool(v: unknown, name: string): boolean | string {
  if (v === undefined || v === '' || v === false || v === 'false' || v === '0' || v === 0) return false;
  if (v === true || v === 'true' || v === '1' || v === 1) return true;
  return `${name} must be true or false`;
}

function flagsOf(o: Record<string, unknown>): number | string {
  if (o.hold === undefined && o.recall === undefined && o.blocked === undefined) return 0;
  let flags = 0;
  for (const [name, bit] of Object.entries(FLAG_NAMES)) {
    const b = checkBool(o[name], name);
    if (typeof b === 'string') return b;
    if (b) flags |= bit;
  }
  return flags;
}

function text(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v);
}

/** One record, from a CSV row (as a column->value object) or an NDJSON object. */
export function checkRecord(o: Record<string, unknown>, line: number, defaultStatus: StatusName | undefined): ImportRow | string {
  const type = recordType(o);
  const flags = flagsOf(o);
  if (typeof flags === 'string') return flags;
  switch (type) {
    case 'serial': {
      const bad = checkGtin(o.gtin);
      if (bad) return bad;
      const serial = text(o, 'serial');
      if (serial.length < 1 || serial.length > 20) return `serial "${serial}" must be 1-20 characters`;
      if (!inCset82(serial)) return `serial "${serial}" has a character outside GS1 character set 82`;
      const lot = text(o, 'lot');
      if (lot.length > 20 || !inCset82(lot)) return `lot "${lot}" must be at most 20 characters of GS1 character set 82`;
      const expiry = text(o, 'expiry');
      if (expiry !== '' && !validDate(expiry)) return `expiry "${expiry}" must be a date YYYY-MM-DD`;
      const status = checkStatus(o.status, defaultStatus);
      if (typeof status === 'string') return status;
      const parent = text(o, 'parent');
      if (parent !== '') {
        const p = checkSscc(parent, 'parent');
        if (p) return p;
        if (status !== STATUSES.PACKED && status !== STATUSES.SHIPPED) return 'a serial in a container (parent) must be PACKED or SHIPPED';
      }
      return { kind: 'serial', line, gtin: o.gtin as string, serial, lot, expiry, status, parent, flags };
    }
    case 'container': {
      const bad = checkSscc(o.sscc, 'sscc');
      if (bad) return bad;
      const status = checkStatus(o.status, 'COMMISSIONED');
      if (typeof status === 'string') return status;
      const parent = text(o, 'parent');
      if (parent !== '') {
        const p = checkSscc(parent, 'parent');
        if (p) return p;
        if (parent === o.sscc) return `container ${parent} cannot contain itself`;
      }
      const state = text(o, 'state').toUpperCase() || 'CLOSED';
      if (state !== 'OPEN' && state !== 'CLOSED') return `state "${state}" must be OPEN or CLOSED`;
      const capacity = o.capacity === undefined || o.capacity === '' ? 0 : Number(o.capacity);
      if (!Number.isInteger(capacity) || capacity < 0) return `capacity "${String(o.capacity)}" must be a whole number`;
      return { kind: 'container', line, sscc: o.sscc as string, status, parent, state, capacity, flags };
    }
    case 'lot': {
      const bad = checkGtin(o.gtin);
      if (bad) return bad;
      const lot = text(o, 'lot');
      if (lot.length < 1 || lot.length > 20 || !inCset82(lot)) return `lot "${lot}" must be 1-20 characters of GS1 character set 82`;
      const expiry = text(o, 'expiry');
      if (expiry !== '' && !validDate(expiry)) return `expiry "${expiry}" must be a date YYYY-MM-DD`;
      return { kind: 'lot', line, gtin: o.gtin as string, lot, flags, expiry };
    }
    case 'product': {
      const bad = checkGtin(o.gtin);
      if (bad) return bad;
      const cpl = o.companyPrefixLength === undefined ? 0 : Number(o.companyPrefixLength);
      if (!Number.isInteger(cpl) || (cpl !== 0 && (cpl < 6 || cpl > 12))) return 'companyPrefixLength must be 6-12';
      const margin = o.shortDateMarginDays === undefined ? 0 : Number(o.shortDateMarginDays);
      if (!Number.isInteger(margin) || margin < 0 || margin > 3650) return 'shortDateMarginDays must be 0-3650';
      return { kind: 'product', line, gtin: o.gtin as string, companyPrefixLength: cpl, shortDateMarginDays: margin };
    }
    default:
      return `type "${String(type)}" must be serial, container, lot or product`;
  }
}
