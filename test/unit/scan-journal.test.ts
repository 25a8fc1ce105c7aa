// The hand-written ScanEvent journal encoder against protobufjs's generated encoder: byte for byte the same over
// random events (every optional field present or absent, long and non-ASCII strings, large numbers, negative
// time zone offsets), and values carved from one arena stay intact while later ones are written.
import protobuf from 'protobufjs/minimal.js';
import { prng } from '../../bench/prng.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { ScanJournal, stationParts, type ScanFields, type ScanStation } from '../../gateway/outbox/scan-journal.js';
import { ScanEvent, type IScanEvent } from '../../protocol/index.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('scan-journal');

function reference(st: ScanStation, f: ScanFields): Buffer {
  const accept = f.verdict === 1;
  const ev: IScanEvent = {
    ...f,
    site: st.site,
    line: st.line,
    station: st.station,
    gatewayId: st.gatewayId,
    operation: st.operation,
    bizStep: (accept ? st.accept : st.reject).bizStep,
    disposition: (accept ? st.accept : st.reject).disposition,
  };
  for (const k of Object.keys(ev) as (keyof IScanEvent)[]) {
    if (ev[k] === undefined) delete ev[k];
    // The journal writes well-formed UTF-8 (lone surrogates as U+FFFD), which protobufjs's decoder requires.
    else if (typeof ev[k] === 'string') (ev as Record<string, unknown>)[k] = (ev[k] as string & { toWellFormed(): string }).toWellFormed();
  }
  return Buffer.from(ScanEvent.encode(ev, protobuf.Writer.create().uint32(KIND_SCAN)).finish());
}

function randomEvent(r: () => number, i: number): { st: ScanStation; f: ScanFields } {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const text = (max: number) => {
    const alphabet = ['a', 'Z', '0', '-', '/', 'é', 'ß', '€', '漢', '\u{1F600}', '\u001d', '\ud800', '\udfff'];
    let s = '';
    const n = Math.floor(r() * max);
    for (let k = 0; k < n; k++) s += pick(alphabet);
    return s;
  };
  const opt = (max: number) => (r() < 0.3 ? undefined : r() < 0.1 ? '' : text(max));
  const st: ScanStation = {
    site: text(12) || 'site',
    line: text(6),
    station: text(6),
    gatewayId: text(20),
    operation: Math.floor(r() * 11),
    accept: { bizStep: text(15), disposition: text(15) },
    reject: { bizStep: text(15), disposition: r() < 0.5 ? '' : text(15) },
  };
  const f: ScanFields = {
    eventId: `gw:${text(8)}:${i}`,
    // Scanner and PLC clocks are inputs: negative (a PLC's empty DateTime is 1601), fractional, beyond 2^53 and 2^64.
    eventTimeMs: pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 + 5, Date.now(), 2 ** 53 - 1, -1, -11_644_473_600_000, 1.5, 2 ** 60, 2e19, 1e22]),
    tzOffsetMin: pick([0, 60, -60, -720, 840, -1, 1]),
    device: r() < 0.2 ? '' : text(30),
    readSeq: pick([0, 1, 300, 2 ** 32 - 1, 2 ** 40 + 3, -5, 2 ** 64]),
    verdict: pick([0, 1, 2]),
    reason: Math.floor(r() * 30),
    gtin: opt(14),
    serial: opt(20),
    lot: opt(20),
    expiry: opt(10),
    sscc: opt(18),
    parent: opt(18),
    statusBefore: Math.floor(r() * 12),
    statusAfter: Math.floor(r() * 12),
    raw: Buffer.from(text(r() < 0.05 ? 400 : 60), 'utf8'),
    message: r() < 0.5 ? undefined : text(r() < 0.2 ? 200 : 40),
  };
  return { st, f };
}

test('scan-journal - 20,000 random events: the same bytes as protobufjs, and earlier values unchanged by later ones', () => {
  const r = prng(20261122);
  const j = new ScanJournal();
  const kept: { value: Buffer; want: Buffer }[] = [];
  for (let i = 0; i < 20_000; i++) {
    const { st, f } = randomEvent(r, i);
    const want = reference(st, f);
    const value = j.encode(stationParts(st), f);
    if (!value.equals(want)) assert.fixture(value.toString('hex'), want.toString('hex'), `event ${i}`);
    if (i % 97 === 0) kept.push({ value, want });
  }
  // Well past one 256 KiB arena: values handed out earlier were never overwritten.
  for (const { value, want } of kept) assert.ok(value.equals(want));
  assert.ok(kept.length > 200);
});

test('scan-journal - out-of-range times and seqs still make a batch central can decode', () => {
  const st: ScanStation = { site: 's', line: 'L1', station: 'pack', gatewayId: 'gw', operation: 3, accept: { bizStep: 'packing', disposition: 'in_progress' }, reject: { bizStep: 'packing', disposition: '' } };
  const j = new ScanJournal();
  for (const [eventTimeMs, readSeq] of [[-1, -1], [1e22, 2e19], [-11_644_473_600_000, 2 ** 64]] as const) {
    const f: ScanFields = { eventId: 'gw:e:1', eventTimeMs, tzOffsetMin: 0, device: 'd\ud800', readSeq, verdict: 1, reason: 0, statusBefore: 4, statusAfter: 5, raw: Buffer.from('x') };
    const v = j.encode(stationParts(st), f);
    assert.ok(v.equals(reference(st, f)), `time ${eventTimeMs}, seq ${readSeq}`);
    const back = ScanEvent.decode(v.subarray(1));
    assert.is(back.station, 'pack');
    assert.is(back.statusAfter, 5);
  }
});

test('scan-journal - a raw code larger than an arena gets an arena of its own', () => {
  const st: ScanStation = { site: 's', line: 'L1', station: 'pack', gatewayId: 'gw', operation: 3, accept: { bizStep: 'packing', disposition: 'in_progress' }, reject: { bizStep: 'packing', disposition: '' } };
  const f: ScanFields = { eventId: 'gw:e:1', eventTimeMs: 1, tzOffsetMin: 0, device: 'd', readSeq: 1, verdict: 2, reason: 7, statusBefore: 0, statusAfter: 0, raw: Buffer.alloc(300_000, 0x41), message: 'm' };
  const j = new ScanJournal();
  const small = j.encode(stationParts(st), { ...f, raw: Buffer.from('x') });
  const big = j.encode(stationParts(st), f);
  assert.ok(big.equals(reference(st, f)));
  assert.ok(small.equals(reference(st, { ...f, raw: Buffer.from('x') })));
  const decoded = ScanEvent.decode(big.subarray(1));
  assert.is(decoded.raw.length, 300_000);
  assert.is(decoded.reason, 7);
});

test.run();
