/**
 * The cached state of one serial, as compact bytes (format 2):
 *   [0] format (2)  [1] status  [2] flags  [3] status before the last transition  [4] operation of the last
 *   accepted transition (0 = none)  [5..6] expiry as days since 2000-01-01 (0 = none)
 *   [7..12] time of the last accepted transition, s since the epoch (uint48)
 *   [13] lot length L, lot latin1   [14+L] parent length P, parent SSCC   then history entries to the end:
 *   8 bytes each, newest first, at most HISTORY_MAX: [op][status after][station id uint16][time s uint32].
 * An imported serial with a 6-character lot is 21 bytes.
 */
import { writeLatin1, type Arena } from '../arena.js';
import { STATUSES, type StatusCode } from '../reasons.js';

export const FLAG_ON_HOLD = 1;
export const FLAG_RECALLED = 2;
export const FLAG_BLOCKED = 4;
export const FLAG_EXPIRY_DAY_UNSPECIFIED = 8;

export const HISTORY_MAX = 4;
const FORMAT = 2;

export interface HistoryEntry {
  /** OPERATIONS code */
  op: number;
  statusAfter: StatusCode;
  /** Station id from the station dictionary (cache meta). */
  station: number;
  /** Seconds since the epoch. */
  timeS: number;
}

export interface SerialRecord {
  status: StatusCode;
  flags: number;
  prevStatus: StatusCode;
  /** OPERATIONS code of the last accepted transition, 0 when none. */
  lastOp: number;
  /** Days since 2000-01-01 (UTC), 0 when no expiry is known. */
  expiryDays: number;
  /** Seconds since the epoch of the last accepted transition, 0 when none. */
  lastChangeS: number;
  lot: string;
  /** SSCC of the container this serial is in, '' when none. */
  parent: string;
  /**
   * Recent accepted transitions, newest first, as stored: 8 bytes each ([op][status after][station id u16]
   * [time s u32], big-endian), at most HISTORY_MAX. historyEntries() reads them.
   */
  history: Uint8Array;
}

/** No history (shared; never written to). */
export const NO_HISTORY: Uint8Array = new Uint8Array(0);

/** The history entries of a record, newest first. */
export function historyEntries(rec: Pick<SerialRecord, 'history'>): HistoryEntry[] {
  const h = rec.history;
  const out: HistoryEntry[] = [];
  for (let o = 0; o + 8 <= h.length; o += 8) {
    out.push({ op: h[o]!, statusAfter: h[o + 1]! as StatusCode, station: (h[o + 2]! << 8) | h[o + 3]!, timeS: ((h[o + 4]! << 24) >>> 0) + ((h[o + 5]! << 16) | (h[o + 6]! << 8) | h[o + 7]!) });
  }
  return out;
}

/** History bytes from entries (newest first; at most HISTORY_MAX are kept). */
export function historyBytes(entries: readonly HistoryEntry[]): Uint8Array {
  const n = entries.length > HISTORY_MAX ? HISTORY_MAX : entries.length;
  if (n === 0) return NO_HISTORY;
  const b = new Uint8Array(8 * n);
  for (let i = 0; i < n; i++) writeEntry(b, 8 * i, entries[i]!.op, entries[i]!.statusAfter, entries[i]!.station, entries[i]!.timeS);
  return b;
}

function writeEntry(b: Uint8Array, o: number, op: number, statusAfter: number, station: number, timeS: number): void {
  b[o] = op;
  b[o + 1] = statusAfter;
  b[o + 2] = (station >>> 8) & 0xff;
  b[o + 3] = station & 0xff;
  const t = timeS >>> 0;
  b[o + 4] = t >>> 24;
  b[o + 5] = (t >>> 16) & 0xff;
  b[o + 6] = (t >>> 8) & 0xff;
  b[o + 7] = t & 0xff;
}

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/** ISO date (YYYY-MM-DD) -> days since 2000-01-01; 0 for empty or out-of-range. */
export function isoToDays(iso: string | undefined): number {
  if (!iso) return 0;
  // The hot path (every read with an expiry): plain arithmetic on the digits, no substrings and no Date.
  if (iso.length === 10 && iso.charCodeAt(4) === 45 && iso.charCodeAt(7) === 45) {
    const y = digits(iso, 0, 4);
    const m = digits(iso, 5, 2);
    const d = digits(iso, 8, 2);
    if (y >= 0 && m >= 1 && m <= 12 && d >= 0) {
      const days = civilDays(y, m, d);
      return days > 0 && days < 65536 ? days : 0;
    }
  }
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7));
  const d = Number(iso.slice(8, 10));
  const days = Math.round((Date.UTC(y, m - 1, d) - EPOCH_2000_MS) / DAY_MS);
  return days > 0 && days < 65536 ? days : 0;
}

/** The decimal number of `n` digits at `at`, or -1 when one is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Days from 2000-01-01 to y-m-d in the proleptic Gregorian calendar (days_from_civil, H. Hinnant); a day past
 * the month's end runs on into the next month, as Date.UTC does.
 */
function civilDays(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 - 10957;
}

/** Days since 2000-01-01 -> ISO date; '' for 0. */
export function daysToIso(days: number): string {
  if (days === 0) return '';
  return new Date(EPOCH_2000_MS + days * DAY_MS).toISOString().slice(0, 10);
}

/** The local calendar date of a time, as days since 2000-01-01. */
export function localDays(ms: number): number {
  const d = new Date(ms);
  return Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - EPOCH_2000_MS) / DAY_MS);
}

/** The record's bytes: a buffer of its own, or a view into `arena` (the hot path's puts). */
export function encodeRecord(r: SerialRecord, arena?: Arena): Buffer {
  const lotLen = r.lot.length;
  const parentLen = r.parent.length;
  const histBytes = Math.min(r.history.length & ~7, 8 * HISTORY_MAX);
  const base = 15 + lotLen + parentLen;
  const size = base + histBytes;
  let buf: Buffer;
  let s = 0;
  if (arena !== undefined) {
    arena.room(size);
    buf = arena.buf;
    s = arena.pos;
  } else buf = Buffer.allocUnsafe(size);
  buf[s] = FORMAT;
  buf[s + 1] = r.status;
  buf[s + 2] = r.flags;
  buf[s + 3] = r.prevStatus;
  buf[s + 4] = r.lastOp;
  buf[s + 5] = (r.expiryDays >>> 8) & 0xff;
  buf[s + 6] = r.expiryDays & 0xff;
  const hi = Math.floor(r.lastChangeS / 0x1_0000_0000);
  const lo = r.lastChangeS >>> 0;
  buf[s + 7] = (hi >>> 8) & 0xff;
  buf[s + 8] = hi & 0xff;
  writeU32(buf, s + 9, lo);
  buf[s + 13] = lotLen;
  writeLatin1(buf, s + 14, r.lot);
  buf[s + 14 + lotLen] = parentLen;
  writeLatin1(buf, s + 15 + lotLen, r.parent);
  const h = r.history;
  for (let i = 0; i < histBytes; i++) buf[s + base + i] = h[i]!;
  return arena !== undefined ? arena.take(s, s + size) : buf;
}

function writeU32(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Short strings of records (lots, parent SSCCs) repeat from read to read: a small direct-mapped cache of the
 * last strings seen gives the same string again instead of a new one per lookup.
 */
const STRINGS = 512;
const strings: string[] = new Array<string>(STRINGS).fill('');

/** The latin1 string of b[start, end), from the cache when it holds it. */
function latin1At(b: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n > 32) return b.toString('latin1', start, end);
  let h = n;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = h & (STRINGS - 1);
  const c = strings[slot]!;
  if (c.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (c.charCodeAt(i) !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return c;
  }
  const s = b.toString('latin1', start, end);
  strings[slot] = s;
  return s;
}

export function decodeRecord(buf: Uint8Array): SerialRecord {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b[0] !== FORMAT || b.length < 15) throw new Error(`unknown serial record format ${b[0]} (${b.length} bytes)`);
  const lotLen = b[13]!;
  const parentLen = b[14 + lotLen]!;
  const base = 15 + lotLen + parentLen;
  // A copy: `buf` may be lmdb-js's shared read buffer, overwritten by the next read.
  const histEnd = base + ((b.length - base) & ~7);
  let history = NO_HISTORY;
  if (histEnd > base) {
    history = new Uint8Array(histEnd - base);
    for (let i = base; i < histEnd; i++) history[i - base] = b[i]!;
  }
  return {
    status: b[1]! as StatusCode,
    flags: b[2]!,
    prevStatus: b[3]! as StatusCode,
    lastOp: b[4]!,
    expiryDays: (b[5]! << 8) | b[6]!,
    lastChangeS: (b[7]! * 256 + b[8]!) * 0x1_0000_0000 + (((b[9]! << 24) >>> 0) + ((b[10]! << 16) | (b[11]! << 8) | b[12]!)),
    lot: latin1At(b, 14, 14 + lotLen),
    parent: latin1At(b, 15 + lotLen, base),
    history,
  };
}

/** A fresh record for an imported serial. */
export function newRecord(status: StatusCode = STATUSES.RECEIVED, lot = '', expiryIso = ''): SerialRecord {
  return { status, flags: 0, prevStatus: STATUSES.UNKNOWN, lastOp: 0, expiryDays: isoToDays(expiryIso), lastChangeS: 0, lot, parent: '', history: NO_HISTORY };
}

/** The record after an accepted transition: history grows (newest first, bounded). */
export function transitioned(
  rec: SerialRecord,
  to: StatusCode,
  op: number,
  station: number,
  nowS: number,
  changes: Partial<Pick<SerialRecord, 'parent' | 'lot' | 'expiryDays' | 'flags'>> = {},
): SerialRecord {
  const old = rec.history;
  const keep = Math.min(old.length & ~7, 8 * (HISTORY_MAX - 1));
  const history = new Uint8Array(8 + keep);
  writeEntry(history, 0, op, to, station, nowS);
  for (let i = 0; i < keep; i++) history[8 + i] = old[i]!;
  return {
    status: to,
    flags: changes.flags ?? rec.flags,
    prevStatus: rec.status,
    lastOp: op,
    expiryDays: changes.expiryDays ?? rec.expiryDays,
    lastChangeS: nowS,
    lot: changes.lot ?? rec.lot,
    parent: changes.parent ?? rec.parent,
    history,
  };
}
