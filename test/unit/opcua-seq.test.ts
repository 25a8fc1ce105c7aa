/** OPC UA adapter, pure parts: read sequence numbers (gaps, replays, resets, wrap) and AutoID scan results. */
import { readPrint, SeqTracker, SEQ_MAX } from '../../adapters/opcua/seq.js';
import { decodeScanResultBody, scanResultCodes, stripIso15434, withSymbology } from '../../adapters/opcua/scan-data.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-seq');

test('opcua seq - the first data value is a baseline, then every next seq is decided', () => {
  const t = new SeqTracker(1000);
  assert.equal(t.step(41, true), { kind: 'baseline', decide: false, lost: 0, lostFrom: 0 });
  assert.is(t.step(42, true).kind, 'next');
  assert.ok(t.step(43, true).decide);
  assert.is(t.lost, 0);
});

test('opcua seq - the first event is decided (events are not replayed at subscribe)', () => {
  const t = new SeqTracker(1000);
  assert.equal(t.step(7, false), { kind: 'first', decide: true, lost: 0, lostFrom: 0 });
});

test('opcua seq - a gap is counted with where it starts, and the read after it is decided', () => {
  const t = new SeqTracker(1000);
  t.step(10, true);
  assert.equal(t.step(15, true), { kind: 'gap', decide: true, lost: 4, lostFrom: 11 });
  assert.is(t.gaps, 1);
  assert.is(t.lost, 4);
});

test('opcua seq - the same seq again (initial value after a reconnect, republish) is a replay', () => {
  const t = new SeqTracker(1000);
  t.step(10, true);
  t.step(11, true);
  assert.equal(t.step(11, true), { kind: 'replay', decide: false, lost: 0, lostFrom: 0 });
  assert.is(t.step(9, true).kind, 'replay');
  assert.is(t.replayed, 2);
  assert.is(t.last, 11);
});

test('opcua seq - counting from 0 again is a reset, and reads after it are decided', () => {
  const t = new SeqTracker(1000);
  t.step(500, true);
  assert.equal(t.step(0, true), { kind: 'reset', decide: false, lost: 0, lostFrom: 0 });
  assert.is(t.step(1, true).kind, 'next');
  assert.is(t.resets, 1);
  assert.is(t.lost, 0);
});

test('opcua seq - after a PLC restart a small step back is a reset (not a replay), with the reads before it lost', () => {
  const t = new SeqTracker(1000);
  t.step(500, true);
  t.markServerRestart();
  assert.equal(t.step(3, true), { kind: 'reset', decide: true, lost: 2, lostFrom: 1 });
  assert.is(t.step(4, true).kind, 'next');
});

test('opcua seq - far back without a restart is a reset (a program download)', () => {
  const t = new SeqTracker(100);
  t.step(5000, true);
  assert.is(t.step(1, true).kind, 'reset');
  assert.is(t.resets, 1);
});

test('opcua seq - wraps from 4294967295 to 1 without a gap (0 is never a read)', () => {
  const t = new SeqTracker(1000);
  t.step(SEQ_MAX - 1, true);
  assert.is(t.step(SEQ_MAX, true).kind, 'next');
  assert.equal(t.step(1, true), { kind: 'next', decide: true, lost: 0, lostFrom: 0 });
  assert.equal(t.step(3, true), { kind: 'gap', decide: true, lost: 1, lostFrom: 2 });
});

const GS = '\u001d';
const RS = '\u001e';
const EOT = '\u0004';
const DATA = `010952012345678817270331` + `10LOT${GS}21SN1`;

test('opcua scan data - the ISO/IEC 15434 format 05 envelope is stripped, the AIM id kept', () => {
  assert.is(stripIso15434(`[)>${RS}05${GS}${DATA}${RS}${EOT}`), DATA);
  assert.is(stripIso15434(`]d2[)>${RS}05${GS}${DATA}${RS}${EOT}`), `]d2${DATA}`);
  assert.is(stripIso15434(`[)>${RS}05${GS}${DATA}${RS}`), DATA);
  assert.is(stripIso15434(`[)>${RS}06${GS}X${RS}${EOT}`), `[)>${RS}06${GS}X${RS}${EOT}`, 'other formats are left to the parser');
  assert.is(stripIso15434(DATA), DATA);
});

test('opcua scan data - a configured AIM id goes in front of a code without one', () => {
  assert.is(withSymbology(DATA, ']d2'), `]d2${DATA}`);
  assert.is(withSymbology(`]C1${DATA}`, ']d2'), `]C1${DATA}`);
  assert.is(withSymbology(DATA, undefined), DATA);
});

/** OpticalScanResult body: mask, CodeType, ScanData (union), Timestamp, as an AutoID reader sends it. */
function body(sw: number, data: Buffer, tsMs: number): Buffer {
  const s = (b: Buffer) => Buffer.concat([u32(b.length), b]);
  const ticks = (BigInt(tsMs) + 11_644_473_600_000n) * 10_000n;
  const t = Buffer.alloc(8);
  t.writeBigInt64LE(ticks);
  return Buffer.concat([u32(0), s(Buffer.from('RAW:STRING')), u32(sw), s(data), t]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

test('opcua scan data - an opaque ScanResult is decoded from its binary body (String and ByteString)', () => {
  const ts = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.equal(decodeScanResultBody(body(2, Buffer.from(DATA, 'latin1'), ts)), { code: DATA, tsMs: ts });
  assert.equal(decodeScanResultBody(body(1, Buffer.from(DATA, 'latin1'), ts)).code, DATA);
  assert.is(decodeScanResultBody(Buffer.concat([u32(0), u32(0), u32(3), u32(0)])).code, null, 'EPC data is not a code');
});

test('opcua scan data - codes of decoded and opaque results, unreadable ones counted', () => {
  const decoded = { codeType: 'RAW:STRING', scanData: { switchField: 2, string: 'A' }, timestamp: new Date(1000) };
  const bytes = { scanData: { switchField: 1, byteString: Buffer.from('B') } };
  const opaque = { nodeId: 'ns=3;i=5040', buffer: body(2, Buffer.from('C'), 2000) };
  const epc = { scanData: { switchField: 3, epc: {} } };
  assert.equal(scanResultCodes([decoded, bytes, opaque, epc]), { codes: ['A', 'B', 'C'], tsMs: 1000, unreadable: 1 });
  assert.equal(scanResultCodes(null), { codes: [], tsMs: undefined, unreadable: 0 });
});

test('opcua seq - a seq seen again with other codes is the PLC counting again, not a replay; with the same codes a replay', () => {
  const t = new SeqTracker(1000);
  const p = (code: string) => readPrint([code]);
  t.step(0, true); // no read yet
  for (let i = 1; i <= 15; i++) assert.is(t.step(i, false, p(`A${i}`)).decide, true);
  // Replays (a recreated monitored item, a republished notification): the same seq with the same codes.
  assert.equal(t.step(15, false, p('A15')), { kind: 'replay', decide: false, lost: 0, lostFrom: 0 });
  assert.equal(t.step(14, false, p('A14')), { kind: 'replay', decide: false, lost: 0, lostFrom: 0 });
  // The PLC counts from 1 again (a program download, no 0 in between, no server restart): new reads.
  assert.equal(t.step(1, false, p('B1')), { kind: 'reset', decide: true, lost: 0, lostFrom: 1 });
  assert.equal(t.step(2, false, p('B2')), { kind: 'next', decide: true, lost: 0, lostFrom: 0 });
  assert.is(t.step(2, false, p('B2')).kind, 'replay', 'and its own replays are replays again');
  // Without codes (the scan way's trigger) a step back stays a replay, as before.
  assert.is(t.step(1, false).kind, 'replay');
  // The same number as the last read with other codes: counted again up to it.
  assert.equal(t.step(2, false, p('C2')), { kind: 'reset', decide: true, lost: 0, lostFrom: 0 });
  assert.is(t.resets, 2);
});

test.run();
