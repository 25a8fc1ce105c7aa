/**
 * EventBatch bytes built by concatenation: the header fields, then every journal entry as field 4
 * (ScanEvent) or 5 (AggregationEvent). Protobuf allows repeated fields in any order and length-delimited
 * sub-messages are their encoded bytes, so this is byte-for-byte what a full encode of the same batch
 * gives, without decoding and re-encoding each event.
 */

/** Journal value kinds = EventBatch field numbers. */
export const KIND_SCAN = 4;
export const KIND_AGGREGATION = 5;
export type EventKind = typeof KIND_SCAN | typeof KIND_AGGREGATION;

function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Builds one EventBatch into a single buffer. `entries` yields journal values ([kind][protobuf event]);
 * each value is copied at once, so it may be a view that the next iteration overwrites (lmdb-js
 * getBinaryFast). `entriesBytes` (sum of the values' lengths) sizes the buffer.
 */
export function encodeBatchInto(
  gatewayId: string,
  site: string,
  batchSeq: number,
  createdMs: number,
  count: number,
  entriesBytes: number,
  entries: Iterable<Uint8Array>,
): Buffer {
  const gw = Buffer.byteLength(gatewayId);
  const st = Buffer.byteLength(site);
  const size = 1 + varintLen(gw) + gw + 1 + varintLen(batchSeq) + 1 + varintLen(createdMs) + entriesBytes + count * 5 + (st > 0 ? 1 + varintLen(st) + st : 0);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  out[pos++] = (1 << 3) | 2;
  pos = writeVarint(out, pos, gw);
  pos += out.write(gatewayId, pos, 'utf8');
  out[pos++] = 2 << 3;
  pos = writeVarint(out, pos, batchSeq);
  out[pos++] = 3 << 3;
  pos = writeVarint(out, pos, createdMs);
  for (const e of entries) {
    if (pos + e.length + 5 > size) throw new RangeError('batch entries exceed their declared size');
    out[pos++] = (e[0]! << 3) | 2;
    pos = writeVarint(out, pos, e.length - 1);
    out.set(e.subarray(1), pos);
    pos += e.length - 1;
  }
  if (st > 0) {
    out[pos++] = (6 << 3) | 2;
    pos = writeVarint(out, pos, st);
    pos += out.write(site, pos, 'utf8');
  }
  return out.subarray(0, pos);
}

/** The same bytes from a list of journal values. */
export function encodeBatch(gatewayId: string, site: string, batchSeq: number, createdMs: number, entries: readonly Uint8Array[]): Uint8Array {
  let bytes = 0;
  for (const e of entries) bytes += e.length;
  return encodeBatchInto(gatewayId, site, batchSeq, createdMs, entries.length, bytes, entries);
}
