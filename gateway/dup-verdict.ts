/**
 * A verdict as the duplicate-read index keeps it: what cannot be had again from the code itself, in a few bytes
 * (reason, status, event seq, and the rare strings: device, parent, message, camera children). A duplicate read
 * gets its verdict rebuilt from these and from parsing the same code again, so a read costs no serialization
 * and the index holds no objects.
 *
 * Layout: [u8 reason code][u8 status code, 0xff none][u8 flags][u8 unused][f64 event seq, NaN none]
 *         [f64 read seq when SEQ] then, each as [u32 units][UTF-16 units] when flagged: device, code, parent,
 *         message, children (as JSON).
 */

/** The read's code parsed into the verdict's fields (a single code, not a camera read). */
export const DV_PARSED = 1;
/** The verdict's `code` is the index key (the code as read, without trailing CR/LF). */
export const DV_CODE_IS_KEY = 2;
const DV_CODE = 4;
const DV_SEQ = 8;
const DV_DEVICE = 16;
const DV_PARENT = 32;
const DV_MESSAGE = 64;
const DV_CHILDREN = 128;
const NO_STATUS = 0xff;
const FIXED = 12;

/** A remembered verdict, as encoded and as decoded (strings are undefined when absent). */
export interface DupVerdict {
  reasonCode: number;
  /** STATUSES code, or undefined when the verdict names none. */
  status: number | undefined;
  /** DV_PARSED and DV_CODE_IS_KEY as they apply (encoding adds the others from the fields). */
  flags: number;
  eventSeq: number | undefined;
  seq: number | undefined;
  device: string | undefined;
  /** The verdict's `code` when it is not the key. */
  code: string | undefined;
  parent: string | undefined;
  message: string | undefined;
  /** Camera reads: the children, as JSON. */
  children: string | undefined;
}

function units(s: string | undefined): number {
  return s === undefined ? 0 : 4 + 2 * s.length;
}

/** Bytes encodeDupVerdict() needs for `v`. */
export function dupVerdictSize(v: DupVerdict): number {
  return FIXED + (v.seq !== undefined ? 8 : 0) + units(v.device) + units(v.code) + units(v.parent) + units(v.message) + units(v.children);
}

function writeStr(b: Buffer, o: number, s: string): number {
  const n = s.length;
  b.writeUInt32LE(n, o);
  o += 4;
  for (let i = 0; i < n; i++, o += 2) {
    const c = s.charCodeAt(i);
    b[o] = c & 0xff;
    b[o + 1] = c >>> 8;
  }
  return o;
}

/** Write `v` at `o` of `b`; returns the end. */
export function encodeDupVerdict(v: DupVerdict, b: Buffer, o: number): number {
  let flags = v.flags;
  if (v.seq !== undefined) flags |= DV_SEQ;
  if (v.device !== undefined) flags |= DV_DEVICE;
  if (v.code !== undefined) flags |= DV_CODE;
  if (v.parent !== undefined) flags |= DV_PARENT;
  if (v.message !== undefined) flags |= DV_MESSAGE;
  if (v.children !== undefined) flags |= DV_CHILDREN;
  b[o] = v.reasonCode;
  b[o + 1] = v.status ?? NO_STATUS;
  b[o + 2] = flags;
  b[o + 3] = 0;
  b.writeDoubleLE(v.eventSeq ?? NaN, o + 4);
  o += FIXED;
  if (v.seq !== undefined) {
    b.writeDoubleLE(v.seq, o);
    o += 8;
  }
  if (v.device !== undefined) o = writeStr(b, o, v.device);
  if (v.code !== undefined) o = writeStr(b, o, v.code);
  if (v.parent !== undefined) o = writeStr(b, o, v.parent);
  if (v.message !== undefined) o = writeStr(b, o, v.message);
  if (v.children !== undefined) o = writeStr(b, o, v.children);
  return o;
}

/** Read a remembered verdict (the bytes encodeDupVerdict wrote). */
export function decodeDupVerdict(b: Buffer): DupVerdict {
  const flags = b[2]!;
  const status = b[1]!;
  const eventSeq = b.readDoubleLE(4);
  let o = FIXED;
  let seq: number | undefined;
  if (flags & DV_SEQ) {
    seq = b.readDoubleLE(o);
    o += 8;
  }
  const next = (flag: number): string | undefined => {
    if ((flags & flag) === 0) return undefined;
    const n = b.readUInt32LE(o);
    const s = b.toString('utf16le', o + 4, o + 4 + 2 * n);
    o += 4 + 2 * n;
    return s;
  };
  const device = next(DV_DEVICE);
  const code = next(DV_CODE);
  const parent = next(DV_PARENT);
  const message = next(DV_MESSAGE);
  const children = next(DV_CHILDREN);
  return {
    reasonCode: b[0]!,
    status: status === NO_STATUS ? undefined : status,
    flags,
    eventSeq: Number.isNaN(eventSeq) ? undefined : eventSeq,
    seq,
    device,
    code,
    parent,
    message,
    children,
  };
}
