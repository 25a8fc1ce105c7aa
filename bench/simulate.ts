/**
 * `npm run bench -- simulate`: the simulator's targets, measured in one run on this machine with a gateway
 * process of its own (durable outbox, JetStream forwarding) and a nats-server of its own:
 *   1. the bare aedes QoS 1 ceiling (the baseline of the ratio);
 *   2. verdict latency (read scheduled -> verdict received) at SIM_LATENCY_RATE reads/s (default 10,000), after a
 *      warm-up of SIM_WARMUP_S seconds at that rate (default 10; checked, its latency reported apart);
 *   3. the highest rate sustained with p99 <= SIM_P99_MS (default 10) and no error of any kind (a ramp);
 *   4. a sustained run at SIM_SUSTAIN_RATE (default 30,000) for SIM_SUSTAIN_S seconds (default 60).
 * Every run is checked exactly (mismatches, missing verdicts, lost and duplicated events must all be 0).
 * Reports go to $SIM_OUT (default {tmpdir}/scangate-bench-simulate) as simulate-*.json and .html.
 * SIM_SKIP=latency,ramp,sustain skips parts; SIM_VERBOSE=1 prints the runs' progress.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml } from '../simulator/html.js';
import { startNatsServer } from '../simulator/nats-server.js';
import type { Report } from '../simulator/report.js';
import { DEFAULT_LAYOUT } from '../simulator/site.js';
import { simulate, type SimulateOptions } from '../simulator/simulate.js';
import { measureAedesCeiling } from '../simulator/baseline.js';
import { ERROR_KINDS } from '../simulator/workload.js';

const env = (k: string, d: number) => (process.env[k] !== undefined ? Number(process.env[k]) : d);

function line(name: string, r: Report): string {
  const l = r.latencyMs;
  return `${name}: offered ${r.offeredRate}/s for ${r.durationS} s -> ${r.throughput} verdicts/s, p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms; ` +
    `mismatches ${r.mismatches}, missing ${r.missingVerdicts}, lost ${r.lost}, duplicates ${r.duplicatesAtCentral}; cpu sim ${r.cpu.simulatorPct}% gateway ${r.cpu.gatewayPct ?? '?'}%; ${r.passed ? 'PASS' : 'FAIL'}` +
    (r.warmup !== undefined ? `\n  (after a warm-up of ${r.warmup.durationS} s at ${r.warmup.rate}/s: p50 ${r.warmup.latencyMs.p50} ms, p99 ${r.warmup.latencyMs.p99} ms, ${r.warmup.passed ? 'exact' : 'FAILED'})` : '');
}

export async function run(): Promise<void> {
  const skip = new Set((process.env.SIM_SKIP ?? '').split(',').filter((x) => x));
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-sim-'));
  const out = process.env.SIM_OUT ?? join(tmpdir(), 'scangate-bench-simulate');
  mkdirSync(out, { recursive: true });
  const nats = await startNatsServer(dir);
  const save = (name: string, r: Report) => {
    writeFileSync(join(out, `simulate-${name}.json`), `${JSON.stringify(r, null, 2)}\n`);
    writeFileSync(join(out, `simulate-${name}.html`), renderHtml(r));
  };
  const base = (o: Partial<SimulateOptions>): SimulateOptions => ({
    nats: nats.url,
    spawn: true,
    layout: { ...DEFAULT_LAYOUT, lines: env('SIM_LINES', 8) },
    rate: 1000,
    durationS: 10,
    seed: 1,
    errorRate: 0.02,
    errorMix: Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])),
    lagTicks: 2,
    products: 4,
    seedVia: 'stream',
    faults: { outages: [], outageMode: 'cut', plcRestarts: [] },
    plc: null,
    ramp: null,
    baseline: false,
    drainTimeoutMs: 60_000,
    seedTimeoutMs: 600_000,
    persistentControllers: true,
    keepDir: false,
    progress: process.env.SIM_VERBOSE ? (l) => console.error(l) : null,
    ...o,
  });
  try {
    console.log(`machine: load ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1/5/15 min) at start`);
    const ceiling = await measureAedesCeiling();
    console.log(`bare aedes QoS 1 ceiling: ${ceiling.qos1PerS} publishes/s (${ceiling.connections} connections x ${ceiling.window} in flight)`);
    if (!skip.has('latency')) {
      const rate = env('SIM_LATENCY_RATE', 10_000);
      const { report } = await simulate(base({ rate, durationS: env('SIM_LATENCY_S', 20), warmupS: env('SIM_WARMUP_S', 10) }));
      save('latency', report);
      console.log(line(`latency at ${rate}/s`, report));
    }
    if (!skip.has('ramp')) {
      const p99 = env('SIM_P99_MS', 10);
      const { report, ramp } = await simulate(base({ ramp: { startRate: env('SIM_RAMP_START', 5000), factor: 1.25, maxRate: 200_000, stepS: env('SIM_RAMP_STEP_S', 10), p99BudgetMs: p99, refine: 3 } }));
      save('ramp', report);
      for (const s of ramp!.steps) console.log(`  ramp ${s.rate}/s: ${s.passed ? 'sustained' : 'not sustained'} (${s.throughput}/s, p99 ${s.p99} ms)${s.passed ? '' : `: ${s.failures.join('; ')}`}`);
      console.log(`highest rate sustained with p99 <= ${p99} ms and no error: ${ramp!.sustainedRate} reads/s = ${((ramp!.sustainedRate / ceiling.qos1PerS) * 100).toFixed(1)}% of the bare aedes ceiling`);
    }
    if (!skip.has('sustain')) {
      const rate = env('SIM_SUSTAIN_RATE', 30_000);
      const { report } = await simulate(base({ rate, durationS: env('SIM_SUSTAIN_S', 60) }));
      report.baseline = { aedesQos1PerS: ceiling.qos1PerS, ratio: Math.round((report.throughput / ceiling.qos1PerS) * 1000) / 1000 };
      save('sustain', report);
      console.log(line(`sustained ${rate}/s`, report));
      console.log(`gateway throughput / bare aedes ceiling: ${(report.baseline.ratio * 100).toFixed(1)}%`);
    }
    console.log(`machine: load ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end; reports in ${out}`);
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
