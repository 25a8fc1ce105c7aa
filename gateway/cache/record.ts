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
  /** Recent accepted transitions, newest first. */
  history: HistoryEntry[];
}

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/** ISO date (YYYY-MM-DD) -> days since 2000-01-01; 0 for empty or out-of-range. */
export function isoToDays(iso: string | undefined): number {
  if (!iso) return 0;
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7));
  const d = Number(iso.slice(8, 10));
  const days = Math.round((Date.UTC(y, m - 1, d) - EPOCH_2000_MS) / DAY_MS);
  return days > 0 && days < 65536 ? days : 0;
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
  const hist = r.history.length > HISTORY_MAX ? HISTORY_MAX : r.history.length;
  const base = 15 + lotLen + parentLen;
  const size = base + hist * 8;
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
  for (let i = 0; i < hist; i++) {
    const h = r.history[i]!;
    const o = s + base + i * 8;
    buf[o] = h.op;
    buf[o + 1] = h.statusAfter;
    buf[o + 2] = (h.station >>> 8) & 0xff;
    buf[o + 3] = h.station & 0xff;
    writeU32(buf, o + 4, h.timeS >>> 0);
  }
  return arena !== undefined ? arena.take(s, s + size) : buf;
}

function writeU32(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function decodeRecord(buf: Uint8Array): SerialRecord {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b[0] !== FORMAT || b.length < 15) throw new Error(`unknown serial record format ${b[0]} (${b.length} bytes)`);
  const lotLen = b[13]!;
  const parentLen = b[14 + lotLen]!;
  const base = 15 + lotLen + parentLen;
  const history: HistoryEntry[] = [];
  for (let o = base; o + 8 <= b.length; o += 8) {
    history.push({ op: b[o]!, statusAfter: b[o + 1]! as StatusCode, station: b.readUInt16BE(o + 2), timeS: b.readUInt32BE(o + 4) });
  }
  return {
    status: b[1]! as StatusCode,
    flags: b[2]!,
    prevStatus: b[3]! as StatusCode,
    lastOp: b[4]!,
    expiryDays: b.readUInt16BE(5),
    lastChangeS: b.readUIntBE(7, 6),
    lot: b.toString('latin1', 14, 14 + lotLen),
    parent: b.toString('latin1', 15 + lotLen, base),
    history,
  };
}

/** A fresh record for an imported serial. */
export function newRecord(status: StatusCode = STATUSES.RECEIVED, lot = '', expiryIso = ''): SerialRecord {
  return { status, flags: 0, prevStatus: STATUSES.UNKNOWN, lastOp: 0, expiryDays: isoToDays(expiryIso), lastChangeS: 0, lot, parent: '', history: [] };
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
  const history = [{ op, statusAfter: to, station, timeS: nowS }, ...rec.history];
  if (history.length > HISTORY_MAX) history.length = HISTORY_MAX;
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
