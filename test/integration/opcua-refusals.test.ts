/**
 * Data-change notifications a reader cannot use: a value that is not a structure, a status that is not good, a
 * structure without the configured code field, a code that is not text. Each is counted in the reader's
 * `unusable` and logged (rate-limited per reader) with what came and from where; a read with a seq but no usable
 * code is decided as NO_READ (the product gets its decision), one without a seq is not read.
 */
import { DataType, StatusCodes } from 'node-opcua';
import type { Gateway } from '../../cli/daemon.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { tempDir } from '../helpers/gateway.js';
import { captureLog, closePlcGateway, readerConfig, sleep, startPlc, startPlcGateway, untilConnected, waitUntil } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-refusals', {}, 30_000);
let tmp: ReturnType<typeof tempDir>;
let plc: VirtualPlc;
let gw: Gateway;
const logs = captureLog();

const status = (reader: string) => gw.opcua!.status().endpoints[0]!.readers.find((r) => r.id === reader)!;
const warned = (reader: string) => logs.lines.filter((l) => l.reader === reader && l.level === 40 && l.code === 'SG_ERR_OPCUA_NODE');

test.before(async () => {
  tmp = tempDir('sg-opcua-refusals-');
  plc = await startPlc(tmp.dir, { readers: ['R1', 'R2', 'R3', 'R4'].map((id) => ({ id, ways: ['data' as const] })) });
  gw = await startPlcGateway(tmp.dir, plc, {
    serials: 100,
    log: logs.log,
    readers: [
      readerConfig(plc, 'R1', 'data', 'structure'),
      readerConfig(plc, 'R2', 'data', 'structure'),
      { ...readerConfig(plc, 'R3', 'data', 'structure'), fields: { seq: 'seq', code: 'barcode', ts: 'ts' } },
      { ...readerConfig(plc, 'R4', 'data', 'structure'), fields: { seq: 'seq', code: 'ts', ts: 'code' } },
    ],
  });
  await untilConnected(gw);
  await sleep(300);
}, 60_000);

test.after(() => closePlcGateway(gw, plc, tmp));

test('opcua refusals - a data value that is not a structure (null) is refused, counted and logged with the node', async () => {
  plc.readVariable('R1', 'ScanRead').setValueFromSource({ dataType: DataType.ExtensionObject, value: null });
  await waitUntil(() => warned('R1').length === 1, 3_000, 'the refusal logged');
  const l = warned('R1')[0]!;
  assert.match(String(l.msg), /not a structure/);
  assert.match(String(l.msg), /null/);
  assert.match(String(l.node), /L1\.R1\.ScanRead/);
  assert.is(status('R1').unusable, 1);
  // The reader goes on: the next read is decided.
  const rec = plc.line.produce('R1');
  await waitUntil(() => rec.decisions === 1, 3_000, 'the next read decided');
});

test('opcua refusals - a value with a bad status is refused, counted and logged with the status', async () => {
  const v = plc.readVariable('R2', 'ScanRead');
  v.setValueFromSource(v.readValue().value, StatusCodes.BadOutOfService);
  await waitUntil(() => warned('R2').length === 1, 3_000, 'the refusal logged');
  assert.match(String(warned('R2')[0]!.msg), /BadOutOfService/);
  assert.is(status('R2').unusable, 1);
  assert.is(status('R2').rebinds, 0, 'a bad value is not a deleted node');
});

test('opcua refusals - a structure without the configured code field: decided NO_READ, counted, logged with the fields it has', async () => {
  const recs = [plc.line.produce('R3'), plc.line.produce('R3')];
  await waitUntil(() => recs.every((r) => r.decisions === 1), 3_000, 'decided');
  assert.ok(recs.every((r) => r.decision === 2 && r.reasonCode === 1), 'NO_READ');
  assert.is(status('R3').unusable, 2);
  const w = warned('R3');
  assert.is(w.length, 1, 'rate-limited: one line for both');
  assert.match(String(w[0]!.msg), /no field barcode .*seq, code, ts.*fields\.code/);
  assert.match(String(w[0]!.node), /L1\.R3\.ScanRead/);
});

test('opcua refusals - a code that is not text: decided NO_READ, counted, logged with what it was', async () => {
  const rec = plc.line.produce('R4');
  await waitUntil(() => rec.decisions === 1, 3_000, 'decided');
  assert.is(rec.reasonCode, 1);
  assert.is(status('R4').unusable, 1);
  const w = warned('R4');
  assert.is(w.length, 1);
  assert.match(String(w[0]!.msg), /field ts .* is a DateTime .*not a String or ByteString/);
});

test.run();
