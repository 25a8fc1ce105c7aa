/**
 * The simulator's workload, checked against the gateway's own parser: codes are what the workload says they
 * are (valid GS1 keys, character set 82, the injected errors parse to the expected reason), dependencies point
 * backwards, and the same seed gives the same workload.
 */
import { compileParser, isValidGs1Key } from '../../gateway/parse/index.js';
import { readVerdict } from '../../simulator/controller.js';
import { CSET82 } from '../../simulator/population.js';
import { warmupOnly, withWarmup, type Report, type WarmupSummary } from '../../simulator/report.js';
import { DEFAULT_LAYOUT } from '../../simulator/site.js';
import { ERROR_KINDS, Kind, REASON, Workload, type WorkloadOptions } from '../../simulator/workload.js';
import { assert, suite } from '../helpers/uvu.js';

const opts = (o: Partial<WorkloadOptions> = {}): WorkloadOptions => ({
  layout: { ...DEFAULT_LAYOUT, lines: 3, stations: 6 },
  reads: 20_000,
  seed: 42,
  runId: 123_456,
  errorRate: 0.05,
  errorMix: Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])),
  lagTicks: 2,
  products: 3,
  devicePrefix: 'simtest',
  ...o,
});

const test = suite('simulate workload');
const parse = compileParser({});

test('simulate - the same seed gives the same workload, another seed another', () => {
  const a = new Workload(opts());
  const b = new Workload(opts());
  const c = new Workload(opts({ seed: 43 }));
  assert.is(a.n, 20_000);
  assert.equal(a.kind, b.kind);
  assert.equal(a.station, b.station);
  assert.equal(a.expReason, b.expReason);
  assert.is(a.payload(1234), b.payload(1234));
  assert.not.equal(a.kind, c.kind);
});

test('simulate - every code parses to what the workload expects', () => {
  const w = new Workload(opts());
  const seen = new Set<number>();
  for (let i = 0; i < w.n; i++) {
    const k = w.kind[i]!;
    seen.add(k);
    const code = w.code(i);
    const p = parse(code);
    if (k === Kind.NoRead) {
      assert.is(code, 'NOREAD');
      continue;
    }
    if (k === Kind.DuplicateRead || k === Kind.Redelivery) {
      assert.is(code, w.code(w.ref[i]!));
      continue;
    }
    if (k === Kind.BadCheckDigit || k === Kind.Malformed) {
      assert.not.ok(p.ok, code);
      if (!p.ok) assert.is(p.reason, k === Kind.BadCheckDigit ? 'BAD_CHECK_DIGIT' : 'MALFORMED', code);
      continue;
    }
    assert.ok(p.ok, `${code}: ${p.ok ? '' : p.message}`);
    if (!p.ok) continue;
    if (w.isContainerRead(i)) {
      assert.is(p.sscc, w.containers[w.ref[i]!]);
      assert.ok(isValidGs1Key(p.sscc!));
      continue;
    }
    const s = w.serialOf(i);
    if (s >= 0) {
      assert.is(p.serial, w.population.serials[s]);
      assert.is(p.gtin, w.population.gtin(s));
      assert.is(p.lot, w.population.lots[s]!.lot);
      assert.is(p.expiry, w.population.lots[s]!.expiry);
    }
    assert.ok(isValidGs1Key(p.gtin!), p.gtin);
    assert.ok([...p.serial!].every((ch) => CSET82.includes(ch)), p.serial);
    assert.ok(p.gtin!.startsWith('0952'), 'GS1 demo prefix 952');
  }
  for (const k of Object.values(ERROR_KINDS)) assert.ok(seen.has(k), `error kind ${k} injected`);
});

test('simulate - dependencies point backwards; duplicates repeat the read before them at the same station', () => {
  const w = new Workload(opts());
  for (let i = 0; i < w.n; i++) {
    const d = w.dep[i]!;
    assert.ok(d < i, `read ${i} depends on ${d}`);
    const k = w.kind[i]!;
    if (k === Kind.Receive) assert.is(w.kind[d], Kind.Commission);
    if (k === Kind.PackItem) assert.ok(w.kind[d] === Kind.Inspect || w.kind[d] === Kind.Receive);
    if (k === Kind.CaseOnPallet) assert.is(w.kind[d], Kind.PackItem);
    if (k === Kind.Ship) assert.is(w.kind[d], Kind.CaseOnPallet);
    if (k === Kind.DuplicateRead || k === Kind.Redelivery) {
      assert.is(w.ref[i], i - 1);
      assert.is(w.station[i], w.station[i - 1]);
      assert.is(w.expReason[i], w.expReason[i - 1]);
      assert.not.ok(w.expectsEvent(i));
    }
    if (k === Kind.Redelivery) assert.is(w.seqOf(i), i);
  }
});

test('simulate - the error share is about what was asked, and 0 injects none', () => {
  const w = new Workload(opts());
  const errors = Object.values(w.errorsPlanned).reduce((a, b) => a + b, 0);
  assert.ok(errors > 0.03 * w.n && errors < 0.07 * w.n, `${errors} errors in ${w.n} reads`);
  const none = new Workload(opts({ errorRate: 0 }));
  for (let i = 0; i < none.n; i++) assert.is(none.expReason[i], REASON.OK);
});

test('simulate - a verdict read from its bytes says what JSON.parse says', () => {
  const cases = [
    { seq: 12, device: 'simx-L1-pack', code: ']d201095201234567881730123110LOT\u001d21a"b', gtin: '09520123456788', serial: 'a"b', verdict: 'accept', reason: 'OK', reasonCode: 0, status: 'PACKED', eventId: 'gw:ab12:77', ts: 1 },
    { seq: 3, device: 'd', code: 'x', verdict: 'reject', reason: 'MALFORMED', reasonCode: 2, ts: 2, message: 'has "reason":"OK" inside' },
    { seq: 99, device: 'd', sscc: '095201234567890122', verdict: 'accept', reason: 'OK', reasonCode: 0, status: 'SHIPPED', eventId: 'g:e:1', ts: 3, duplicateRead: true },
  ];
  for (const c of cases) {
    const b = Buffer.concat([Buffer.from('xx'), Buffer.from(JSON.stringify(c))]);
    const v = readVerdict(b, 2)!;
    const j = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
    for (const k of ['seq', 'device', 'verdict', 'reason', 'status', 'gtin', 'serial', 'sscc', 'eventId', 'duplicateRead'] as const) assert.is(v[k], j[k], k);
  }
});

test('simulate - a warm-up is reported apart, and its errors fail the run', () => {
  const report = () => ({ passed: true, failures: [] as string[] }) as unknown as Report;
  const w: WarmupSummary = { rate: 100, durationS: 2, reads: 200, throughput: 100, latencyMs: { p50: 1, p99: 2 }, passed: true, failures: [], runAfter: true };
  const ok = withWarmup(report(), w);
  assert.equal([ok.passed, ok.failures, ok.warmup], [true, [], w]);
  const bad = withWarmup(report(), { ...w, passed: false, failures: ['1 mismatch'] });
  assert.is(bad.passed, false);
  assert.equal(bad.failures, ['warm-up: 1 mismatch']);
  // A failed warm-up is the whole result: its report, marked, and nothing run after it.
  const own = { passed: false, failures: ['1 mismatch'] } as unknown as Report;
  const only = warmupOnly(own, { ...w, passed: false, failures: ['1 mismatch'] }, false);
  assert.is(only.passed, false);
  assert.equal(only.failures, ['warm-up: 1 mismatch', "the failed warm-up's report: the run after it was not started"]);
  assert.is(only.warmup?.runAfter, false);
});

test.run();
