/**
 * EventBatch bytes built by concatenation: the header fields, then every journal entry as field 4
 * (ScanEvent) or 5 (AggregationEvent). Protobuf allows repeated fields in any order and length-delimited
 * sub-messages are their encoded bytes, so this is byte-for-byte what a full encode of the same batch
 * gives, without decoding and re-encoding each event.
 */
import protobuf from 'protobufjs/minimal.js';

/** Journal value kinds = EventBatch field numbers. */
export const KIND_SCAN = 4;
export const KIND_AGGREGATION = 5;
export type EventKind = typeof KIND_SCAN | typeof KIND_AGGREGATION;

export function encodeBatch(gatewayId: string, site: string, batchSeq: number, createdMs: number, entries: readonly Buffer[]): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(gatewayId);
  w.uint32(2 << 3).uint64(batchSeq);
  w.uint32(3 << 3).int64(createdMs);
  for (const e of entries) {
    w.uint32((e[0]! << 3) | 2).bytes(e.subarray(1));
  }
  if (site) w.uint32((6 << 3) | 2).string(site);
  return w.finish();
}
