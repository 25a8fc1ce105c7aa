/**
 * Bytes of a ContainerRecord in the containers table. A container is written again at every child it gains, so
 * its list of children is encoded in bulk: the ids joined into one string (one native write) after a table of
 * their lengths, instead of msgpack's work per string (at 1,000 children 6-9 times faster both ways).
 *
 *   [0] 0xC1 (a byte msgpack never uses: records written before this format are msgpack and still read)
 *   [1] format (1)  [2] state (0 OPEN, 1 CLOSED)  [3] status  [4] status before  [5..8] flags u32
 *   [9..12] capacity u32  [13..16] number of children N u32
 *   parent, gtin, lot, station: each a u16 byte length and UTF-8 bytes
 *   N x u16: the length of each child id (UTF-16 units)   then the ids, concatenated, UTF-8, to the end
 * All integers big-endian.
 */
import { Packr } from 'msgpackr';
import { GatewayError } from '../errors.js';
import type { StatusCode } from '../reasons.js';
import type { ContainerRecord } from './container.js';

const MARKER = 0xc1;
const FORMAT = 1;
const HEAD = 17;
const MAX_U16 = 0xffff;

/** Records of the format before this one, and any the bulk format cannot hold (see encodeContainer). */
const msgpack = new Packr({ copyBuffers: true });

export function encodeContainer(r: ContainerRecord): Buffer {
  const children = r.children;
  const n = children.length;
  const joined = n === 0 ? '' : n === 1 ? children[0]! : children.join('');
  const strings = [r.parent, r.gtin, r.lot, r.station];
  let size = HEAD + 2 * n + Buffer.byteLength(joined, 'utf8');
  for (const s of strings) size += 2 + Buffer.byteLength(s, 'utf8');
  const b = Buffer.allocUnsafe(size);
  b[0] = MARKER;
  b[1] = FORMAT;
  b[2] = r.state === 'OPEN' ? 0 : 1;
  b[3] = r.status;
  b[4] = r.prevStatus;
  b.writeUInt32BE(r.flags >>> 0, 5);
  b.writeUInt32BE(r.capacity >>> 0, 9);
  b.writeUInt32BE(n, 13);
  let o = HEAD;
  for (const s of strings) {
    const len = b.write(s, o + 2, 'utf8');
    if (len > MAX_U16) return msgpack.pack(r);
    b.writeUInt16BE(len, o);
    o += 2 + len;
  }
  for (let i = 0; i < n; i++) {
    const len = children[i]!.length;
    if (len > MAX_U16) return msgpack.pack(r); // no GS1 key comes near; kept whole rather than cut
    b[o] = len >>> 8;
    b[o + 1] = len & 0xff;
    o += 2;
  }
  b.write(joined, o, 'utf8');
  return b;
}

export function decodeContainer(b: Uint8Array): ContainerRecord {
  if (b[0] !== MARKER) return msgpack.unpack(b) as ContainerRecord;
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf[1] !== FORMAT) {
    throw new GatewayError('SG_ERR_STORE', `a container record is of format ${buf[1]}; this version of scangate reads format ${FORMAT}`, {
      hint: 'the data directory was written by a later scangate: run that version on it',
    });
  }
  const n = buf.readUInt32BE(13);
  let o = HEAD;
  const text = (): string => {
    const len = buf.readUInt16BE(o);
    const s = buf.toString('utf8', o + 2, o + 2 + len);
    o += 2 + len;
    return s;
  };
  const parent = text();
  const gtin = text();
  const lot = text();
  const station = text();
  const children = new Array<string>(n);
  const lens = o;
  o += 2 * n;
  const joined = buf.toString('utf8', o, buf.length);
  for (let i = 0, at = 0; i < n; i++) {
    const len = (buf[lens + 2 * i]! << 8) | buf[lens + 2 * i + 1]!;
    children[i] = joined.slice(at, at + len);
    at += len;
  }
  return {
    state: buf[2] === 0 ? 'OPEN' : 'CLOSED',
    status: buf[3] as StatusCode,
    prevStatus: buf[4] as StatusCode,
    capacity: buf.readUInt32BE(9),
    parent,
    children,
    gtin,
    lot,
    station,
    flags: buf.readUInt32BE(5),
  };
}

/** The codec as lmdb-js takes it for a table (decode copies: the bytes it gets are reused after the call). */
export const containerEncoder = { encode: encodeContainer, decode: decodeContainer };
