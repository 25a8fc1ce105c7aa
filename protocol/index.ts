/**
 * Public surface of the scangate wire protocol (package `scangate.v1`, protocol/scangate/v1/scangate.proto).
 *
 * Import from here, never from ./generated directly:
 *
 *   import { EventBatch, Reason, encodeEventBatch, type IScanEvent } from "../protocol/index.js";
 *
 * Every message is exported as a value (the generated class: create/encode/decode/verify/fromObject/toObject)
 * and as a type (a decoded instance: every field present, proto3 defaults for unset ones). `IXxx` is the
 * input shape (all fields optional; what encode and create accept). Enums are exported as value and type too
 * (`Reason.WRONG_STATUS`, `let r: Reason`). The whole generated namespace is there as `scangate`
 * (`scangate.v1.ScanEvent`).
 *
 * 64-bit fields (ts_ms, seq, event_time_ms, read_seq, batch_seq, created_ms, updated_ms) are plain JS numbers,
 * never Long: see protocol/gen.mjs. Field names are camelCase (`event_time_ms` -> `eventTimeMs`).
 *
 * Layout: protocol/generated/scangate.js (runtime) sits next to protocol/generated/scangate.d.ts (types). tsc
 * takes the types from the .d.ts and, with allowJs, still copies the .js to dist/protocol/generated/.
 */
import { scangate } from "./generated/scangate.js";

export { scangate };

/** The generated `scangate.v1` namespace (all classes and enums). */
export const v1 = scangate.v1;

// Enums (value + type).
export const Status = scangate.v1.Status;
export type Status = scangate.v1.Status;
export const Operation = scangate.v1.Operation;
export type Operation = scangate.v1.Operation;
export const Reason = scangate.v1.Reason;
export type Reason = scangate.v1.Reason;
export const Verdict = scangate.v1.Verdict;
export type Verdict = scangate.v1.Verdict;
export const AggregationAction = scangate.v1.AggregationAction;
export type AggregationAction = scangate.v1.AggregationAction;

// Messages (class value + decoded-instance type + input shape).
export const ScanRead = scangate.v1.ScanRead;
export type ScanRead = scangate.v1.ScanRead;
export type IScanRead = scangate.v1.ScanRead.$Properties;
export const ScanEvent = scangate.v1.ScanEvent;
export type ScanEvent = scangate.v1.ScanEvent;
export type IScanEvent = scangate.v1.ScanEvent.$Properties;
export const EpcRef = scangate.v1.EpcRef;
export type EpcRef = scangate.v1.EpcRef;
export type IEpcRef = scangate.v1.EpcRef.$Properties;
export const AggregationEvent = scangate.v1.AggregationEvent;
export type AggregationEvent = scangate.v1.AggregationEvent;
export type IAggregationEvent = scangate.v1.AggregationEvent.$Properties;
export const EventBatch = scangate.v1.EventBatch;
export type EventBatch = scangate.v1.EventBatch;
export type IEventBatch = scangate.v1.EventBatch.$Properties;
export const StatusUpdate = scangate.v1.StatusUpdate;
export type StatusUpdate = scangate.v1.StatusUpdate;
export type IStatusUpdate = scangate.v1.StatusUpdate.$Properties;
export const LotUpdate = scangate.v1.LotUpdate;
export type LotUpdate = scangate.v1.LotUpdate;
export type ILotUpdate = scangate.v1.LotUpdate.$Properties;
export const StatusUpdateBatch = scangate.v1.StatusUpdateBatch;
export type StatusUpdateBatch = scangate.v1.StatusUpdateBatch;
export type IStatusUpdateBatch = scangate.v1.StatusUpdateBatch.$Properties;

/**
 * Decoded messages. The generated class types declare nested repeated messages as input shapes
 * (`events: IScanEvent[]`, all fields optional) because an instance built by hand may hold plain objects, but
 * decode always yields nested class instances with every field present (proto3 defaults for unset ones).
 * These types say so; each is assignable to the corresponding class type.
 */
export type DecodedAggregationEvent = Omit<AggregationEvent, "children"> & { children: EpcRef[] };
export type DecodedEventBatch = Omit<EventBatch, "events" | "aggregations"> & {
  events: ScanEvent[];
  aggregations: DecodedAggregationEvent[];
};
export type DecodedStatusUpdateBatch = Omit<StatusUpdateBatch, "updates" | "lots"> & {
  updates: StatusUpdate[];
  lots: LotUpdate[];
};

/** Protobuf package name of this protocol version. */
export const PROTOCOL_PACKAGE = "scangate.v1";

// Helpers. encode does not verify its input (call `EventBatch.verify(obj)` for untrusted plain objects);
// decode throws (RangeError / Error) on truncated or malformed bytes and skips unknown fields.

/** Encodes a gateway -> central event batch. */
export function encodeEventBatch(batch: IEventBatch): Uint8Array {
  return EventBatch.encode(batch).finish();
}

/** Decodes a gateway -> central event batch. Throws on malformed bytes. */
export function decodeEventBatch(bytes: Uint8Array): DecodedEventBatch {
  return EventBatch.decode(bytes) as DecodedEventBatch;
}

/** Encodes a central -> gateway status update batch. */
export function encodeStatusUpdateBatch(batch: IStatusUpdateBatch): Uint8Array {
  return StatusUpdateBatch.encode(batch).finish();
}

/** Decodes a central -> gateway status update batch. Throws on malformed bytes. */
export function decodeStatusUpdateBatch(bytes: Uint8Array): DecodedStatusUpdateBatch {
  return StatusUpdateBatch.decode(bytes) as DecodedStatusUpdateBatch;
}

/** Encodes a device read. */
export function encodeScanRead(read: IScanRead): Uint8Array {
  return ScanRead.encode(read).finish();
}

/** Decodes a device read. Throws on malformed bytes. */
export function decodeScanRead(bytes: Uint8Array): ScanRead {
  return ScanRead.decode(bytes);
}
