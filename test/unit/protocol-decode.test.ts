// Cross-checks the generated static codecs (protocol/generated, via protocol/index.ts) against protobufjs
// reflection loaded straight from the .proto file, in both directions, and pins the enum numbers to
// gateway/reasons.ts.
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { OPERATIONS, REASONS, STATUSES } from "../../gateway/reasons.js";
import {
  AggregationAction,
  AggregationEvent,
  EpcRef,
  EventBatch,
  Operation,
  Reason,
  ScanEvent,
  ScanRead,
  Status,
  StatusUpdateBatch,
  Verdict,
  decodeEventBatch,
  decodeScanRead,
  decodeStatusUpdateBatch,
  encodeEventBatch,
  encodeScanRead,
  encodeStatusUpdateBatch,
  scangate,
  type IEventBatch,
  type IScanRead,
  type IStatusUpdateBatch,
} from "../../protocol/index.js";

const PROTO = fileURLToPath(new URL("../../protocol/scangate/v1/scangate.proto", import.meta.url));
const root = await protobuf.load(PROTO);
const reflected = (name: string) => root.lookupType(`scangate.v1.${name}`);

/** toObject options giving plain, comparable values: numbers for 64-bit and enums, number arrays for bytes. */
const PLAIN: protobuf.IConversionOptions = { longs: Number, bytes: Array, defaults: true, arrays: true };

/** Deep copy with every Uint8Array (Buffer included) turned into a plain number array, for deep equality. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** Asserts that `fixture` sets every field of the reflected `typeName` (recursively) to a non-default value. */
function assertEveryFieldSet(typeName: string, fixture: Record<string, unknown>, where = typeName): void {
  const type = reflected(typeName);
  for (const field of type.fieldsArray) {
    const value = fixture[field.name];
    const at = `${where}.${field.name}`;
    assert.ok(value !== undefined && value !== null, `fixture does not set ${at}`);
    const isEmpty = value === 0 || value === "" || value === false || (value as { length?: number }).length === 0;
    assert.not.ok(isEmpty, `fixture sets ${at} to its default value, which is not on the wire`);
    if (field.resolvedType instanceof protobuf.Type) {
      const items = field.repeated ? (value as Record<string, unknown>[]) : [value as Record<string, unknown>];
      items.forEach((item, i) => assertEveryFieldSet(field.resolvedType!.name, item, `${at}[${i}]`));
    }
  }
}

const RAW_DM = new TextEncoder().encode("]d201095201234567881727033110LOT-A1\x1d21S3R!AL%x7");

function scanEvent(n: number, tzOffsetMin: number, verdict: Verdict, reason: Reason) {
  return {
    eventId: `01JD7Q0000000000000000000${n}`,
    eventTimeMs: 1732200000123 + n,
    tzOffsetMin,
    site: "SITE-952",
    line: "L1",
    station: "PACK-01",
    gatewayId: "gw-edge-1",
    device: "cam-7",
    readSeq: 1000 + n,
    operation: Operation.PACK,
    verdict,
    reason,
    gtin: "09520123456788",
    serial: `S3R!AL%x${n}`,
    lot: "LOT-A1",
    expiry: "2027-03-31",
    sscc: "095201234567890122",
    parent: "095201234567890139",
    statusBefore: Status.RECEIVED,
    statusAfter: Status.PACKED,
    bizStep: "packing",
    disposition: "in_progress",
    raw: RAW_DM,
    message: `reject message ${n} with unicode: Lot überprüft`,
  };
}

const EVENT_BATCH = {
  gatewayId: "gw-edge-1",
  batchSeq: Number.MAX_SAFE_INTEGER, // uint64 at the top of the exact-number range
  createdMs: 1732200000999,
  site: "SITE-952",
  events: [
    scanEvent(1, -300, Verdict.ACCEPT, Reason.DATA_MISMATCH), // UTC-05:00
    scanEvent(2, -210, Verdict.REJECT, Reason.WRONG_STATUS), // UTC-03:30
    scanEvent(3, 330, Verdict.REJECT, Reason.UNAUTHORIZED_STATION), // UTC+05:30, highest reason
  ],
  aggregations: [
    {
      eventId: "01JD7Q00000000000000000AGG",
      eventTimeMs: 1732200001000,
      tzOffsetMin: -480,
      site: "SITE-952",
      line: "L1",
      station: "AGG-02",
      gatewayId: "gw-edge-1",
      action: AggregationAction.DELETE,
      parentSscc: "095201234567890122",
      children: [
        { gtin: "09520123456788", serial: "SN0001", sscc: "095201234567890146" },
        { gtin: "09520123456788", serial: "SN0002", sscc: "095201234567890153" },
      ],
      bizStep: "unpacking",
      disposition: "in_progress",
      causeEventId: "01JD7Q00000000000000000002",
    },
  ],
} satisfies IEventBatch;

const STATUS_BATCH = {
  site: "SITE-952",
  createdMs: 1732200002000,
  updates: [
    {
      gtin: "09520123456788",
      serial: "SN0001",
      sscc: "095201234567890146",
      status: Status.SAMPLED,
      lot: "LOT-A1",
      expiry: "2028-02-29",
      parent: "095201234567890122",
      onHold: true,
      recalled: true,
      updatedMs: 1732200001500,
    },
  ],
  lots: [{ gtin: "09520123456788", lot: "LOT-A1", onHold: true, recalled: true, expiry: "2028-02-29" }],
} satisfies IStatusUpdateBatch;

const SCAN_READ = {
  code: "]d201095201234567881727033110LOT-A1\x1d21SN0001",
  codes: ["]d201095201234567881727033121SN0002", "]d201095201234567881727033121SN0003"],
  parent: "]C100095201234567890122",
  seq: 4294967296 + 7, // above 32 bits
  tsMs: 1732200003000,
  device: "plc-3/reader-1",
  raw: new Uint8Array([0x5d, 0x64, 0x32, 0x00, 0x1d, 0xff]),
} satisfies IScanRead;

const CASES = [
  { name: "EventBatch", fixture: EVENT_BATCH, encode: encodeEventBatch, decode: decodeEventBatch, gen: EventBatch },
  {
    name: "StatusUpdateBatch",
    fixture: STATUS_BATCH,
    encode: encodeStatusUpdateBatch,
    decode: decodeStatusUpdateBatch,
    gen: StatusUpdateBatch,
  },
  { name: "ScanRead", fixture: SCAN_READ, encode: encodeScanRead, decode: decodeScanRead, gen: ScanRead },
] as const;

test("protocol - fixtures set every field of the .proto to a non-default value", () => {
  for (const c of CASES) {
    assertEveryFieldSet(c.name, c.fixture);
    assert.is(reflected(c.name).verify(c.fixture), null, `${c.name} fixture does not verify against the .proto`);
  }
});

for (const c of CASES) {
  test(`protocol - ${c.name}: generated encode, reflection decode from the .proto, every field equal`, () => {
    const bytes = (c.encode as (m: unknown) => Uint8Array)(c.fixture);
    const type = reflected(c.name);
    const decoded = type.toObject(type.decode(bytes), PLAIN);
    assert.equal(plain(decoded), plain(c.fixture));
  });

  test(`protocol - ${c.name}: reflection encode from the .proto, generated decode, every field equal`, () => {
    const type = reflected(c.name);
    const bytes = type.encode(type.fromObject(c.fixture)).finish();
    const decoded = (c.decode as (b: Uint8Array) => unknown)(bytes);
    assert.ok(decoded instanceof c.gen, "decode returns an instance of the generated class");
    const asObject = (c.gen.toObject as (m: unknown, o: protobuf.IConversionOptions) => unknown)(decoded, PLAIN);
    assert.equal(plain(asObject), plain(c.fixture));
  });

  test(`protocol - ${c.name}: generated encode and reflection encode give the same bytes`, () => {
    const type = reflected(c.name);
    const mine = (c.encode as (m: unknown) => Uint8Array)(c.fixture);
    const theirs = type.encode(type.fromObject(c.fixture)).finish();
    assert.equal(Array.from(mine), Array.from(theirs));
  });
}

test("protocol - decoded EventBatch fields read directly (no toObject): numbers, enums, bytes", () => {
  const type = reflected("EventBatch");
  // Reflection input in the JSON-ish form: enum names, 64-bit values as decimal strings, bytes as base64.
  const json = {
    gatewayId: "gw-edge-1",
    batchSeq: "9007199254740991",
    createdMs: "1732200000999",
    site: "SITE-952",
    events: [
      {
        eventId: "e-1",
        eventTimeMs: "1732200000124",
        tzOffsetMin: -300,
        readSeq: "1001",
        operation: "AGGREGATE",
        verdict: "REJECT",
        reason: "CHILD_AGGREGATED_ELSEWHERE",
        statusBefore: "PACKED",
        statusAfter: "PACKED",
        raw: Buffer.from(RAW_DM).toString("base64"),
        expiry: "2027-03-31",
      },
    ],
    aggregations: [{ eventId: "a-1", action: "ADD", parentSscc: "095201234567890122", children: [{ sscc: "095201234567890146" }] }],
  };
  const d = decodeEventBatch(type.encode(type.fromObject(json)).finish());
  assert.is(d.gatewayId, "gw-edge-1");
  assert.is(d.batchSeq, 9007199254740991);
  assert.is(d.createdMs, 1732200000999);
  assert.is(d.site, "SITE-952");
  assert.is(d.events.length, 1);
  const e = d.events[0]!;
  assert.ok(e instanceof ScanEvent, "nested messages decode to generated class instances");
  assert.ok(d.aggregations[0] instanceof AggregationEvent);
  assert.ok(d.aggregations[0]!.children[0] instanceof EpcRef);
  assert.is(e.eventId, "e-1");
  assert.is(e.eventTimeMs, 1732200000124);
  assert.is(e.tzOffsetMin, -300);
  assert.is(e.readSeq, 1001);
  assert.is(e.operation, Operation.AGGREGATE);
  assert.is(e.operation, 4);
  assert.is(e.verdict, Verdict.REJECT);
  assert.is(e.reason, Reason.CHILD_AGGREGATED_ELSEWHERE);
  assert.is(e.reason, 17);
  assert.is(e.statusBefore, Status.PACKED);
  assert.is(e.statusAfter, 5);
  assert.ok(e.raw instanceof Uint8Array);
  assert.equal(Array.from(e.raw), Array.from(RAW_DM));
  assert.is(e.expiry, "2027-03-31");
  // unset fields read as proto3 defaults, and 64-bit defaults are numbers, not Long objects
  assert.is(e.gtin, "");
  assert.is(e.message, "");
  const a = d.aggregations[0]!;
  assert.is(a.action, AggregationAction.ADD);
  assert.is(a.eventTimeMs, 0);
  assert.is(typeof a.eventTimeMs, "number");
  assert.is(a.tzOffsetMin, 0);
  assert.is(a.children.length, 1);
  assert.is(a.children[0]!.sscc, "095201234567890146");
  assert.is(a.children[0]!.serial, "");
});

test("protocol - 64-bit fields are plain numbers, also when unset", () => {
  const empty = decodeScanRead(encodeScanRead({}));
  assert.is(typeof empty.seq, "number");
  assert.is(empty.seq, 0);
  assert.is(typeof empty.tsMs, "number");
  assert.equal(empty.codes, []);
  const r = decodeScanRead(encodeScanRead({ seq: 2 ** 40 + 1, tsMs: -1 }));
  assert.is(r.seq, 2 ** 40 + 1);
  assert.is(r.tsMs, -1);
  const b = decodeEventBatch(encodeEventBatch({ events: [{}] }));
  assert.is(typeof b.batchSeq, "number");
  assert.is(typeof b.events[0]!.readSeq, "number");
  assert.is(typeof b.events[0]!.eventTimeMs, "number");
  const s = decodeStatusUpdateBatch(encodeStatusUpdateBatch({ updates: [{}] }));
  assert.is(typeof s.createdMs, "number");
  assert.is(typeof s.updates[0]!.updatedMs, "number");
});

test("protocol - wire bytes pinned for a few fields (sint32 zigzag, uint64 varint, string)", () => {
  // tz_offset_min = 3, sint32: tag 0x18, zigzag(-300) = 599 = varint d7 04
  assert.equal(Array.from(scangate.v1.ScanEvent.encode({ tzOffsetMin: -300 }).finish()), [0x18, 0xd7, 0x04]);
  // batch_seq = 2, uint64: tag 0x10, 300 = varint ac 02
  assert.equal(Array.from(encodeEventBatch({ batchSeq: 300 })), [0x10, 0xac, 0x02]);
  // code = 1, string: tag 0x0a, length 1, "A"
  assert.equal(Array.from(encodeScanRead({ code: "A" })), [0x0a, 0x01, 0x41]);
  // proto3: default values are not written
  assert.equal(Array.from(encodeEventBatch({ batchSeq: 0, gatewayId: "", events: [] })), []);
});

test("protocol - decode rejects truncated bytes", () => {
  const bytes = encodeEventBatch(EVENT_BATCH);
  assert.throws(() => decodeEventBatch(bytes.subarray(0, bytes.length - 3)));
});

/** Own enumerable name -> number entries of an enum object (generated enums keep names as own keys). */
const entries = (e: object) => Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === "number"));

test("protocol - Reason numbers match gateway/reasons.ts REASONS exactly", () => {
  assert.equal(entries(Reason), { ...REASONS });
  assert.equal(entries(root.lookupEnum("scangate.v1.Reason").values), { ...REASONS });
});

test("protocol - Status numbers match gateway/reasons.ts STATUSES (UNKNOWN is STATUS_UNKNOWN)", () => {
  const expected = Object.fromEntries(
    Object.entries(STATUSES).map(([name, code]) => [name === "UNKNOWN" ? "STATUS_UNKNOWN" : name, code]),
  );
  assert.equal(entries(Status), expected);
  assert.equal(entries(root.lookupEnum("scangate.v1.Status").values), expected);
});

test("protocol - Operation numbers match gateway/reasons.ts OPERATIONS (plus OPERATION_UNSPECIFIED = 0)", () => {
  const expected: Record<string, number> = { OPERATION_UNSPECIFIED: 0 };
  for (const [name, code] of Object.entries(OPERATIONS)) expected[name.toUpperCase()] = code;
  assert.equal(entries(Operation), expected);
  assert.equal(entries(root.lookupEnum("scangate.v1.Operation").values), expected);
});

test("protocol - generated Verdict and AggregationAction match the .proto", () => {
  assert.equal(entries(Verdict), entries(root.lookupEnum("scangate.v1.Verdict").values));
  assert.equal(entries(AggregationAction), entries(root.lookupEnum("scangate.v1.AggregationAction").values));
});

test.run();
