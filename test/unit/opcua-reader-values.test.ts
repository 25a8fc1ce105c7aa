/**
 * Values from a PLC that are not what the reader needs are refused, counted and logged, never read as something
 * else: a null counter is not a PLC counting from 0, an event whose seq is missing or a String is not numbered by
 * the gateway (its number would collide with the PLC's), a String seq in the data structure is not a number.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, Variant, VariantArrayType } from 'node-opcua';
import { numericVariantValue } from '../../adapters/opcua/nodes.js';
import { ReaderRuntime, EVENT_FIELD, type ReadSink } from '../../adapters/opcua/reader.js';
import { loadConfig } from '../../gateway/config/index.js';
import type { ReadEnvelope } from '../../gateway/read-envelope.js';
import { StationRegistry } from '../../gateway/stations.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-reader-values');

function reader(readerYaml: string) {
  const tmp = tempDir('sg-opcua-values-');
  const file = join(tmp.dir, 'c.yaml');
  writeFileSync(
    file,
    `site:\n  lines:\n    - {id: L1, stations: [{id: pack, operation: pack}]}\nopcua:\n  enabled: true\n  endpoints:\n    - {id: plc1, url: "opc.tcp://127.0.0.1:4840", readers: [${readerYaml}]}\n`,
  );
  const { config } = loadConfig({ file, env: {}, cwd: tmp.dir });
  tmp.dispose();
  const cfg = config.opcua.endpoints![0]!.readers[0]!;
  const reads: { env: ReadEnvelope; echo: number }[] = [];
  const lost: [number, number][] = [];
  const unusable: string[] = [];
  const sink: ReadSink = {
    read: (_r, env, _raw, echo) => void reads.push({ env, echo }),
    lost: (_r, from, count) => void lost.push([from, count]),
    unusable: (_r, what) => void unusable.push(what),
    scanFailed: () => undefined,
  };
  const st = new StationRegistry(config).get('L1', 'pack')!;
  return { r: new ReaderRuntime(cfg, 'plc1', st, sink, 1000), reads, lost, unusable };
}

const dv = (value: unknown) => ({ value: { value }, statusCode: { value: 0, hasOverflowBit: false } }) as never;

test('opcua reader values - a counter that is null or a String is refused, not a count from 0', () => {
  const { r, lost, unusable } = reader('{id: C1, line: L1, station: pack, way: counter, counterNode: "nsu=urn:plc;s=C", codeNode: "nsu=urn:plc;s=Code"}');
  r.onCounter(dv(3)); // the baseline
  r.onCounter(dv(null));
  r.onCounter(dv('4'));
  assert.is(r.stats.unusable, 2);
  assert.match(unusable[0]!, /^the counter is null, not a non-negative integer/);
  assert.match(unusable[1]!, /^the counter is string "4",/);
  assert.is(r.seq.last, 3, 'the count stays where the PLC left it');
  assert.equal(lost, [], 'nothing taken for a reset or a gap');
});

test('opcua reader values - an event whose seq is missing or a String is refused, never numbered by the gateway', () => {
  const { r, reads, unusable } = reader('{id: E1, line: L1, station: pack, way: event, device: "nsu=urn:plc;s=Dev", seqField: {namespaceUri: "urn:plc", name: Seq}}');
  const ev = (seq: unknown, code: string) => {
    const f: { value: unknown }[] = [];
    f[EVENT_FIELD.eventId] = { value: Buffer.from(code) };
    f[EVENT_FIELD.scanResult] = { value: [{ scanData: { string: code } }] };
    f[EVENT_FIELD.seq] = { value: seq };
    return f as never;
  };
  r.onEvent(ev(1, 'A'));
  r.onEvent(ev('2', 'B'));
  r.onEvent(ev(null, 'C'));
  assert.equal(reads.map((x) => x.echo), [1], 'only the numbered event read');
  assert.is(r.stats.unusable, 2);
  assert.match(unusable[0]!, /^event field Seq is string "2", not a non-negative integer/);
});

test('opcua reader values - a data structure whose seq is a String is refused and says which field', () => {
  const { r, reads, unusable } = reader('{id: D1, line: L1, station: pack, way: data, dataNode: "nsu=urn:plc;s=D"}');
  r.onData(dv({ seq: 1, code: 'A' }));
  r.onData(dv({ seq: '2', code: 'B' }));
  assert.is(r.stats.unusable, 1);
  assert.match(unusable[0]!, /^field seq of the read structure is string "2", not a non-negative integer \(check fields.seq\)/);
  assert.equal(reads.length, 0, 'the first value is the baseline');
});

test('opcua decision values - integers wrap to their node type, Int64 is a scalar: every decision makes a Variant', () => {
  const cases: [DataType, number, unknown][] = [
    [DataType.Byte, 256, 0],
    [DataType.Byte, 300, 44],
    [DataType.SByte, 200, -56],
    [DataType.UInt16, 65_537, 1],
    [DataType.Int16, 40_000, -25_536],
    [DataType.UInt32, 2 ** 32 + 5, 5],
    [DataType.Int32, 2 ** 31, -(2 ** 31)],
    [DataType.Int64, 2 ** 33 + 7, [2, 7]],
    [DataType.UInt64, 12, [0, 12]],
    [DataType.Boolean, 2, true],
  ];
  for (const [t, n, want] of cases) {
    const v = numericVariantValue(t, n);
    assert.equal(v, want, `${DataType[t]} ${n}`);
    // What the writer builds for each node: node-opcua refused these before (a whole request with them).
    const built = new Variant({ dataType: t, arrayType: VariantArrayType.Scalar, value: v });
    assert.is(built.arrayType, VariantArrayType.Scalar);
  }
});

test.run();
