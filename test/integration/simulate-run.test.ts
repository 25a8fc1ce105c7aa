/**
 * Short simulator runs against a real gateway process (`--spawn`) and a real nats-server: the command line
 * with its report files, an uplink outage and gateway kills. Every run must come out exact: zero mismatches,
 * zero missing verdicts, zero lost, zero duplicated events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate, type SimulateOptions } from '../../simulator/simulate.js';
import { DEFAULT_LAYOUT } from '../../simulator/site.js';
import { ERROR_KINDS } from '../../simulator/workload.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { tempDir } from '../helpers/gateway.js';
import { runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

/** The fixed fields of DESIGN.md "Simulator report", in order. */
const DESIGN_FIELDS = [
  'offeredRate', 'durationS', 'reads', 'acked', 'verdicts', 'accepted', 'rejected', 'mismatches', 'missingVerdicts',
  'centralEvents', 'lost', 'duplicatesAtCentral', 'throughput', 'latencyMs', 'byReason',
];

function options(natsUrl: string, o: Partial<SimulateOptions>): SimulateOptions {
  return {
    nats: natsUrl,
    spawn: true,
    layout: { ...DEFAULT_LAYOUT, lines: 2 },
    rate: 400,
    durationS: 6,
    seed: 3,
    errorRate: 0.02,
    errorMix: Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])),
    lagTicks: 2,
    products: 3,
    seedVia: 'stream',
    faults: { outages: [], outageMode: 'cut', plcRestarts: [] },
    plc: null,
    ramp: null,
    baseline: false,
    drainTimeoutMs: 20_000,
    seedTimeoutMs: 30_000,
    persistentControllers: true,
    keepDir: false,
    progress: null,
    ...o,
  };
}

const test = suite('simulate runs', {} as { nats: NatsServer }, 120_000);

test.before(async (ctx) => {
  ctx.nats = await startNats();
});

test.after(async (ctx) => {
  await ctx.nats?.dispose();
});

test('simulate - the command line run (after a warm-up) is exact and writes the report and a self-contained HTML file', async ({ nats }) => {
  const t = tempDir('sg-simrun-');
  try {
    const report = join(t.dir, 'report.json');
    const html = join(t.dir, 'report.html');
    const p = runScangate(['simulate', '--spawn', '--nats', nats.url, '--rate', '500', '--duration', '4', '--warmup', '2', '--lines', '2', '--seed', '11', '--report', report, '--html', html, '--quiet']);
    const { code } = await p.exited(90_000);
    assert.is(code, 0, p.output());
    const r = JSON.parse(readFileSync(report, 'utf8')) as Record<string, unknown>;
    assert.equal(Object.keys(r).slice(0, DESIGN_FIELDS.length), DESIGN_FIELDS);
    assert.is(r.offeredRate, 500);
    assert.is(r.reads, 2000);
    assert.is(r.acked, 2000);
    assert.is(r.verdicts, 2000);
    for (const k of ['mismatches', 'missingVerdicts', 'lost', 'duplicatesAtCentral']) assert.is(r[k], 0, k);
    assert.is(r.centralEvents, r.expectedEvents);
    assert.ok((r.rejected as number) > 0 && Object.keys(r.byReason as object).length > 3, 'the error mix produced rejects of several reasons');
    assert.ok((r.latencyMs as { p99: number }).p99 > 0);
    // The warm-up ran first, was checked, and its reads are not in the run's figures.
    const w = r.warmup as { rate: number; durationS: number; reads: number; passed: boolean; latencyMs: { p99: number } };
    assert.equal([w.rate, w.durationS, w.reads, w.passed], [500, 2, 1000, true]);
    assert.ok(w.latencyMs.p99 > 0);
    // The stdout line is the report without its timeline.
    const line = JSON.parse(p.output().split('\n').find((l) => l.startsWith('{"offeredRate"'))!) as Record<string, unknown>;
    assert.is(line.reads, 2000);
    assert.ok(existsSync(html));
    const page = readFileSync(html, 'utf8');
    assert.ok(page.startsWith('<!doctype html>'));
    assert.ok((page.match(/<svg /g) ?? []).length >= 4, 'four charts or more');
    assert.not.match(page, /(src|href)=["']?https?:/, 'nothing is fetched from the network');
    assert.not.match(page, /<script/);
    assert.match(page, /warm-up before the run \(not in the figures\)/);
  } finally {
    t.dispose();
  }
});

test('simulate - an uplink outage fills the outbox and costs nothing else: zero lost, zero duplicates', async ({ nats }) => {
  const { report: r } = await simulate(options(nats.url, { faults: { outages: [{ atMs: 1500, durationMs: 2500 }], outageMode: 'cut', plcRestarts: [] } }));
  assert.equal(r.failures, []);
  assert.is(r.lost, 0);
  assert.is(r.duplicatesAtCentral, 0);
  assert.is(r.mismatches, 0);
  assert.is(r.faults.length, 1);
  assert.is(r.faults[0]!.kind, 'uplink-outage');
  const during = r.timeline.filter((s) => s.uplinkDown).map((s) => s.outbox ?? 0);
  assert.ok(Math.max(0, ...r.timeline.map((s) => s.outbox ?? 0)) >= 400, `the outbox grew during the outage (${during.join(', ')})`);
  // Decisions never wait for the uplink: verdicts kept coming while it was down.
  const down = r.timeline.filter((s) => s.uplinkDown);
  assert.ok(down.length >= 2 && down.reduce((n, s) => n + s.achieved, 0) >= 0.5 * 400 * down.length, `verdicts/s while down: ${down.map((s) => s.achieved).join(', ')}`);
});

test('simulate - gateway killed twice during the run: sessions resend, nothing lost or duplicated, verdicts exact', async ({ nats }) => {
  const errorMix = Object.fromEntries(Object.keys(ERROR_KINDS).filter((k) => k !== 'duplicate-read' && k !== 'redelivery').map((k) => [k, 1]));
  const { report: r } = await simulate(options(nats.url, { durationS: 7, errorMix, faults: { kill: { everyMs: 2500, downMs: 0 }, outages: [], outageMode: 'cut', plcRestarts: [] } }));
  assert.is(r.gatewayRestarts, 2);
  assert.is(r.lost, 0);
  assert.is(r.duplicatesAtCentral, 0);
  assert.is(r.mismatches, 0, JSON.stringify(r.mismatchSamples.slice(0, 3)));
  assert.is(r.missingVerdicts, 0);
  assert.ok(r.resent > 0, 'reads in flight at the kill were sent again');
  assert.ok(r.passed, r.failures.join('; '));
});

test('simulate - a PLC restart: the gateway counts exactly the reads the PLC made while it was away', async ({ nats }) => {
  const { report: r } = await simulate(options(nats.url, { durationS: 8, faults: { outages: [], outageMode: 'cut', plcRestarts: [{ atMs: 2000, durationMs: 3000 }] } }));
  assert.ok(r.passed, r.failures.join('; '));
  const p = r.plc!;
  assert.ok(p.producedOffline > 0, 'the PLC read while its server was down');
  assert.ok(p.gateway != null && p.gateway.gaps >= 1, 'the gateway saw the gap');
  assert.is(p.gateway!.lostReads, p.undecided, 'reads lost as the gateway counts them = reads the PLC never had decided');
});

test('simulate - Ctrl-C while the baseline is measured: no report, SG_ERR_SIM_STOPPED, exit code 130, no gateway started', async ({ nats }) => {
  const p = runScangate(['simulate', '--spawn', '--nats', nats.url, '--ramp', '--baseline', '--lines', '1']);
  await p.waitFor(/measuring the bare aedes QoS 1 ceiling/, 20_000);
  p.child.kill('SIGINT');
  const { code } = await p.exited(30_000);
  assert.is(code, 130, p.output());
  assert.match(p.output(), /SG_ERR_SIM_STOPPED: the simulator was stopped before it offered any load/);
  assert.not.match(p.output(), /TypeError|at simulate/);
  assert.not.match(p.output(), /starting the gateway|ramp step/i);
});

test('simulate - a PLC restart that would end after the run is refused before anything starts', async ({ nats }) => {
  const t0 = performance.now();
  const err = await simulate(options(nats.url, { durationS: 8, faults: { outages: [], outageMode: 'cut', plcRestarts: [{ atMs: 5000, durationMs: 4000 }] } })).then(
    () => null,
    (e: unknown) => e as { code?: string; message: string; hint?: string },
  );
  assert.is(err?.code, 'SG_ERR_USAGE');
  assert.match(err!.message, /--plc-restart 4s@5s ends at 9 s, less than 2 s before the run's end \(8 s\)/);
  assert.match(err!.hint ?? '', /--duration/);
  assert.ok(performance.now() - t0 < 2000, 'refused at once');
});

test.run();
