// The published v1 contract, frozen. The .proto may grow (new fields, messages, enum values) but every entry
// below must keep its number, type and cardinality, and no number below may be taken by another name.
// Never edit an entry here to make this test pass: add a new field with a new number instead (protocol/README.md).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { test } from "uvu";
import * as assert from "uvu/assert";

const PROTO = fileURLToPath(new URL("../../protocol/scangate/v1/scangate.proto", import.meta.url));
const root = await new protobuf.Root().load(PROTO, { keepCase: true });
const ns = root.lookup("scangate.v1");

const MESSAGES_V1: Record<string, string> = {
  ScanRead: "string code = 1; repeated string codes = 2; string parent = 3; uint64 seq = 4; int64 ts_ms = 5; string device = 6; bytes raw = 7",
  ScanEvent:
    "string event_id = 1; int64 event_time_ms = 2; sint32 tz_offset_min = 3; string site = 4; string line = 5; " +
    "string station = 6; string gateway_id = 7; string device = 8; uint64 read_seq = 9; Operation operation = 10; " +
    "Verdict verdict = 11; Reason reason = 12; string gtin = 13; string serial = 14; string lot = 15; " +
    "string expiry = 16; string sscc = 17; string parent = 18; Status status_before = 19; Status status_after = 20; " +
    "string biz_step = 21; string disposition = 22; bytes raw = 23; string message = 24",
  EpcRef: "string gtin = 1; string serial = 2; string sscc = 3",
  AggregationEvent:
    "string event_id = 1; int64 event_time_ms = 2; sint32 tz_offset_min = 3; string site = 4; string line = 5; " +
    "string station = 6; string gateway_id = 7; AggregationAction action = 8; string parent_sscc = 9; " +
    "repeated EpcRef children = 10; string biz_step = 11; string disposition = 12; string cause_event_id = 13",
  EventBatch:
    "string gateway_id = 1; uint64 batch_seq = 2; int64 created_ms = 3; repeated ScanEvent events = 4; " +
    "repeated AggregationEvent aggregations = 5; string site = 6",
  StatusUpdate:
    "string gtin = 1; string serial = 2; string sscc = 3; Status status = 4; string lot = 5; string expiry = 6; " +
    "string parent = 7; bool on_hold = 8; bool recalled = 9; int64 updated_ms = 10",
  LotUpdate: "string gtin = 1; string lot = 2; bool on_hold = 3; bool recalled = 4; string expiry = 5",
  StatusUpdateBatch: "string site = 1; int64 created_ms = 2; repeated StatusUpdate updates = 3; repeated LotUpdate lots = 4",
};

const ENUMS_V1: Record<string, string> = {
  Status:
    "STATUS_UNKNOWN = 0; ASSIGNED = 1; EXPECTED = 2; COMMISSIONED = 3; RECEIVED = 4; PACKED = 5; SHIPPED = 6; " +
    "DECOMMISSIONED = 7; DESTROYED = 8; SAMPLED = 9",
  Operation:
    "OPERATION_UNSPECIFIED = 0; COMMISSION = 1; RECEIVE = 2; PACK = 3; AGGREGATE = 4; DISAGGREGATE = 5; SHIP = 6; " +
    "DECOMMISSION = 7; DESTROY = 8; SAMPLE = 9; VERIFY = 10",
  Reason:
    "OK = 0; NO_READ = 1; MALFORMED = 2; BAD_CHECK_DIGIT = 3; BAD_DATE = 4; MISSING_AI = 5; UNKNOWN_SERIAL = 6; " +
    "DUPLICATE_READ = 7; DUPLICATE_SERIAL = 8; WRONG_STATUS = 9; EXPIRED = 10; LOT_ON_HOLD = 11; LOT_RECALLED = 12; " +
    "GTIN_NOT_ON_ORDER = 13; DATA_MISMATCH = 14; PARENT_UNKNOWN = 15; PARENT_CLOSED = 16; " +
    "CHILD_AGGREGATED_ELSEWHERE = 17; CAPACITY_EXCEEDED = 18; INVALID_HIERARCHY = 19; SYSTEM_UNAVAILABLE = 20; " +
    "SYMBOLOGY_NOT_ALLOWED = 21; SERIAL_BLOCKED = 22; UNAUTHORIZED_STATION = 23",
  Verdict: "VERDICT_UNSPECIFIED = 0; ACCEPT = 1; REJECT = 2",
  AggregationAction: "AGGREGATION_ACTION_UNSPECIFIED = 0; ADD = 1; DELETE = 2",
};

const split = (spec: string) => spec.split(";").map((s) => s.trim());

test("protocol - the .proto is proto3, package scangate.v1, and declares the v1 messages and enums", () => {
  const text = readFileSync(PROTO, "utf8");
  assert.match(text, /^syntax = "proto3";$/m);
  assert.match(text, /^package scangate\.v1;$/m);
  assert.ok(ns instanceof protobuf.Namespace);
  for (const name of Object.keys(MESSAGES_V1)) assert.ok(root.lookupType(`scangate.v1.${name}`));
  for (const name of Object.keys(ENUMS_V1)) assert.ok(root.lookupEnum(`scangate.v1.${name}`));
});

test("protocol - every v1 field keeps its number, type and cardinality", () => {
  for (const [message, spec] of Object.entries(MESSAGES_V1)) {
    const type = root.lookupType(`scangate.v1.${message}`);
    for (const entry of split(spec)) {
      const m = /^(repeated )?(\w+) (\w+) = (\d+)$/.exec(entry);
      assert.ok(m, `bad lock entry ${entry}`);
      const [, repeated, typeName, name, id] = m!;
      const field = type.fields[name!];
      assert.ok(field, `${message}.${name} was removed or renamed (mark it reserved, never reuse it)`);
      assert.is(field!.id, Number(id), `${message}.${name} was renumbered`);
      assert.is(field!.type, typeName, `${message}.${name} changed type`);
      assert.is(field!.repeated, Boolean(repeated), `${message}.${name} changed cardinality`);
      assert.is(type.fieldsById[Number(id)]?.name, name, `${message} field number ${id} taken by another name`);
    }
  }
});

test("protocol - every v1 enum value keeps its number", () => {
  for (const [name, spec] of Object.entries(ENUMS_V1)) {
    const e = root.lookupEnum(`scangate.v1.${name}`);
    for (const entry of split(spec)) {
      const [value, num] = entry.split(" = ");
      assert.is(e.values[value!], Number(num), `${name}.${value} was renumbered or removed`);
    }
  }
});

test.run();
