/**
 * The journal value of a ScanEvent (kind byte, then the protobuf bytes), written by hand: the hot path writes one
 * per read. The bytes are exactly what protobufjs's generated ScanEvent.encode writes (fields in number order,
 * defaults left out, int64 as protobufjs writes any number; test/unit/scan-journal.test.ts compares the two), so
 * every reader of the protocol decodes them unchanged, with one deliberate difference: strings are always
 * well-formed UTF-8 (a lone surrogate, which a JSON read may carry, becomes U+FFFD), where protobufjs would
 * write bytes its own decoder refuses. The fields that never change for a station (site, line, station, gateway, operation, and the
 * accept or reject bizStep/disposition) are encoded once per station. Values are carved out of large arenas,
 * never reused: lmdb-js keeps a reference to each value until its write is done, and the arena lives as long
 * as any value in it.
 */
import protobuf from 'protobufjs/minimal.js';
import { Arena } from '../arena.js';
import { KIND_SCAN } from './encode.js';

/** The fields of one ScanEvent that vary per read. */
export interface ScanFields {
  eventId: string;
  eventTimeMs: number;
  tzOffsetMin: number;
  device: string;
  readSeq: number;
  verdict: number;
  reason: number;
  gtin?: string | undefined;
  serial?: string | undefined;
  lot?: string | undefined;
  expiry?: string | undefined;
  sscc?: string | undefined;
  parent?: string | undefined;
  statusBefore: number;
  statusAfter: number;
  raw: Uint8Array;
  message?: string | undefined;
}

/** The fields that are the same for every read of one station. */
export interface ScanStation {
  site: string;
  line: string;
  station: string;
  gatewayId: string;
  operation: number;
  accept: { bizStep: string; disposition: string };
  reject: { bizStep: string; disposition: string };
}

/** Pre-encoded per-station parts: fields 4-7, field 10, and fields 21-22 for accept and for reject. */
export interface StationParts {
  ids: Buffer;
  operation: Buffer;
  accept: Buffer;
  reject: Buffer;
}

export function stationParts(s: ScanStation): StationParts {
  const w = new Scratch(1024);
  w.str(34, s.site).str(42, s.line).str(50, s.station).str(58, s.gatewayId);
  const ids = w.take();
  if (s.operation !== 0) w.tag(80).varint(s.operation);
  const operation = w.take();
  w.str(170, s.accept.bizStep).str(178, s.accept.disposition);
  const accept = w.take();
  w.str(170, s.reject.bizStep).str(178, s.reject.disposition);
  return { ids, operation, accept, reject: w.take() };
}

/** A small growable writer for the per-station parts (not on the hot path). */
class Scratch {
  private buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  tag(t: number): this {
    return this.varint(t);
  }
  varint(v: number): this {
    this.ensure(10);
    this.pos = writeVarint(this.buf, this.pos, v);
    return this;
  }
  str(tag: number, s: string): this {
    if (s === '') return this;
    const n = Buffer.byteLength(s);
    this.ensure(n + 12);
    this.pos = writeVarint(this.buf, this.pos, tag);
    this.pos = writeVarint(this.buf, this.pos, n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** Unsigned varint of a non-negative integer up to 2^53 at `pos`; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7fffffff) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 127) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/**
 * An int64/uint64 field value as protobufjs writes it: non-negative safe integers directly; anything else
 * (negative: ten bytes of two's complement; fractions, 2^53 and above, NaN) through protobufjs's own LongBits.
 */
function writeVarint64(buf: Buffer, pos: number, v: number): number {
  if (v >= 0 && Number.isSafeInteger(v)) return writeVarint(buf, pos, v);
  const bits = protobuf.util.LongBits.fromNumber(v);
  let lo = bits.lo >>> 0;
  let hi = bits.hi >>> 0;
  while (hi !== 0) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 127) {
    buf[pos++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** A varint-encoded int32 field value: negative numbers take ten bytes (sign-extended to 64 bits), as protobuf says. */
function writeInt32(buf: Buffer, pos: number, v: number): number {
  if (v >= 0) return writeVarint(buf, pos, v);
  // Two's complement over 64 bits: the low 32 bits, then 0xffffffff for the high ones.
  let lo = v >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  // 28 bits written; the fifth byte holds the last 4 low bits and 3 high bits (all ones).
  buf[pos++] = (lo & 0x0f) | 0x70 | 0x80;
  for (let i = 0; i < 4; i++) buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

export class ScanJournal {
  private readonly arena = new Arena();

  /** The journal value for one read: [KIND_SCAN][ScanEvent bytes]. */
  encode(p: StationParts, f: ScanFields): Buffer {
    const accept = f.verdict === 1;
    const tail = accept ? p.accept : p.reject;
    // Upper bound: 3 bytes per UTF-16 unit of each string, 11 per tag + length or varint.
    const bound =
      64 +
      p.ids.length +
      p.operation.length +
      tail.length +
      f.raw.length +
      3 * (f.eventId.length + f.device.length + len(f.gtin) + len(f.serial) + len(f.lot) + len(f.expiry) + len(f.sscc) + len(f.parent) + len(f.message)) +
      16 * 11;
    this.arena.room(bound);
    const b = this.arena.buf;
    const start = this.arena.pos;
    let o = start;
    b[o++] = KIND_SCAN;
    o = str(b, o, 10, f.eventId);
    if (f.eventTimeMs !== 0) {
      b[o++] = 16;
      o = writeVarint64(b, o, f.eventTimeMs);
    }
    if (f.tzOffsetMin !== 0) {
      b[o++] = 24;
      o = writeVarint(b, o, ((f.tzOffsetMin << 1) ^ (f.tzOffsetMin >> 31)) >>> 0);
    }
    o = copyInto(b, o, p.ids);
    o = str(b, o, 66, f.device);
    if (f.readSeq !== 0) {
      b[o++] = 72;
      o = writeVarint64(b, o, f.readSeq);
    }
    o = copyInto(b, o, p.operation);
    if (f.verdict !== 0) {
      b[o++] = 88;
      o = writeInt32(b, o, f.verdict);
    }
    if (f.reason !== 0) {
      b[o++] = 96;
      o = writeInt32(b, o, f.reason);
    }
    o = str(b, o, 106, f.gtin);
    o = str(b, o, 114, f.serial);
    o = str(b, o, 122, f.lot);
    if (f.expiry !== undefined && f.expiry !== '') {
      b[o++] = 130;
      b[o++] = 1;
      o = strBody(b, o, f.expiry);
    }
    if (f.sscc !== undefined && f.sscc !== '') {
      b[o++] = 138;
      b[o++] = 1;
      o = strBody(b, o, f.sscc);
    }
    if (f.parent !== undefined && f.parent !== '') {
      b[o++] = 146;
      b[o++] = 1;
      o = strBody(b, o, f.parent);
    }
    if (f.statusBefore !== 0) {
      b[o++] = 152;
      b[o++] = 1;
      o = writeInt32(b, o, f.statusBefore);
    }
    if (f.statusAfter !== 0) {
      b[o++] = 160;
      b[o++] = 1;
      o = writeInt32(b, o, f.statusAfter);
    }
    o = copyInto(b, o, tail);
    if (f.raw.length > 0) {
      b[o++] = 186;
      b[o++] = 1;
      o = writeVarint(b, o, f.raw.length);
      o = copyInto(b, o, f.raw);
    }
    if (f.message !== undefined && f.message !== '') {
      b[o++] = 194;
      b[o++] = 1;
      o = strBody(b, o, f.message);
    }
    return this.arena.take(start, o);
  }
}

const len = (s: string | undefined) => (s === undefined ? 0 : s.length);

/** Copy `src` to `b` at `o`; returns the end. Byte by byte below 96 bytes: cheaper than a native call for a few. */
function copyInto(b: Buffer, o: number, src: Uint8Array): number {
  const n = src.length;
  if (n >= 96) {
    b.set(src, o);
    return o + n;
  }
  for (let i = 0; i < n; i++) b[o + i] = src[i]!;
  return o + n;
}

/** A string field with a one-byte tag (fields 1-15); nothing when empty or absent. */
function str(b: Buffer, o: number, tag: number, s: string | undefined): number {
  if (s === undefined || s === '') return o;
  b[o++] = tag;
  return strBody(b, o, s);
}

/**
 * Length-prefixed UTF-8. ASCII strings under 128 characters (nearly all) are copied byte by byte, cheaper than
 * a native call for a few bytes; others are measured and written by Node.
 */
function strBody(b: Buffer, o: number, s: string): number {
  const n = s.length;
  if (n < 128) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[o + 1 + i] = c;
    }
    if (i === n) {
      b[o] = n;
      return o + 1 + n;
    }
  }
  // Node's encoder: well-formed UTF-8 always (a lone surrogate becomes U+FFFD). protobufjs's own encoder, which
  // its BufferWriter uses for strings under 40 characters, writes a lone surrogate as bytes that protobufjs's
  // decoder refuses, which would make the whole batch undecodable at central.
  const len = Buffer.byteLength(s, 'utf8');
  o = writeVarint(b, o, len);
  b.write(s, o, 'utf8');
  return o + len;
}
