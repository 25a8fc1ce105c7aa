/**
 * The cached state of one serial, as compact bytes (format 1):
 *   [0] format (1)  [1] status  [2] flags  [3] status before the last transition
 *   [4..5] expiry as days since 2000-01-01 (0 = none)  [6..11] time of the last accepted transition, ms / 1000 (uint48 s)
 *   [12] lot length L, lot latin1   [13+L] parent length P, parent (SSCC digits)
 * A typical record (lot of 6, no parent) is 20 bytes.
 */
import { STATUSES, type StatusCode } from '../reasons.js';

export const FLAG_ON_HOLD = 1;
export const FLAG_RECALLED = 2;
export const FLAG_BLOCKED = 4;
export const FLAG_EXPIRY_DAY_UNSPECIFIED = 8;

export interface SerialRecord {
  status: StatusCode;
  flags: number;
  prevStatus: StatusCode;
  /** Days since 2000-01-01 (UTC), 0 when no expiry is known. */
  expiryDays: number;
  /** Seconds since the epoch of the last accepted transition, 0 when none. */
  lastChangeS: number;
  lot: string;
  parent: string;
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

export function encodeRecord(r: SerialRecord): Buffer {
  const lotLen = r.lot.length;
  const parentLen = r.parent.length;
  const buf = Buffer.allocUnsafe(14 + lotLen + parentLen);
  buf[0] = 1;
  buf[1] = r.status;
  buf[2] = r.flags;
  buf[3] = r.prevStatus;
  buf.writeUInt16BE(r.expiryDays, 4);
  buf.writeUIntBE(r.lastChangeS, 6, 6);
  buf[12] = lotLen;
  buf.write(r.lot, 13, 'latin1');
  buf[13 + lotLen] = parentLen;
  buf.write(r.parent, 14 + lotLen, 'latin1');
  return buf;
}

export function decodeRecord(buf: Uint8Array): SerialRecord {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b[0] !== 1 || b.length < 14) throw new Error(`unknown serial record format ${b[0]} (${b.length} bytes)`);
  const lotLen = b[12]!;
  const parentLen = b[13 + lotLen]!;
  return {
    status: b[1]! as StatusCode,
    flags: b[2]!,
    prevStatus: b[3]! as StatusCode,
    expiryDays: b.readUInt16BE(4),
    lastChangeS: b.readUIntBE(6, 6),
    lot: b.toString('latin1', 13, 13 + lotLen),
    parent: b.toString('latin1', 14 + lotLen, 14 + lotLen + parentLen),
  };
}

/** A fresh record for an imported serial. */
export function newRecord(status: StatusCode = STATUSES.RECEIVED, lot = '', expiryIso = ''): SerialRecord {
  return { status, flags: 0, prevStatus: STATUSES.UNKNOWN, expiryDays: isoToDays(expiryIso), lastChangeS: 0, lot, parent: '' };
}
