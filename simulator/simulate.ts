/**
 * `scangate simulate` as a library: one run at a fixed offered rate, or a ramp that finds the highest rate
 * the gateway sustains with p99 under a budget and no error of any kind; optionally with the bare aedes
 * ceiling measured first for the ratio.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { GatewayError } from '../gateway/errors.js';
import { measureAedesCeiling, type BaselineResult } from './baseline.js';
import { connectNats, ensureStreams } from './central.js';
import type { FaultSpecs } from './faults.js';
import { warmupOnly, warmupSummary, withWarmup, type Report, type WarmupSummary } from './report.js';
import { runLoad, type LoadOptions } from './run.js';
import { DEFAULT_LAYOUT, type SiteLayout } from './site.js';
import { Target, type PlcOptions } from './target.js';
import type { ErrorKindName } from './workload.js';

/** A PLC restart must end this long before the run does (reconnect, then a read that shows the gap). */
const PLC_BACK_MARGIN_MS = 2000;

export interface RampOptions {
  startRate: number;
  /** Each step offers this many times the last passing rate. */
  factor: number;
  maxRate: number;
  stepS: number;
  p99BudgetMs: number;
  /** Bisection steps between the last passing and the first failing rate. */
  refine: number;
}

export interface SimulateOptions {
  mqtt?: string;
  http?: string;
  nats: string;
  gatewayId?: string;
  spawn: boolean;
  layout: SiteLayout;
  rate: number;
  durationS: number;
  /**
   * Seconds of load before the measured run (at its rate; before a ramp, at the ramp's first rate), checked
   * like the run but kept out of its figures; 0: none.
   */
  warmupS?: number;
  seed: number;
  runId?: number;
  errorRate: number;
  errorMix: Partial<Record<ErrorKindName, number>>;
  lagTicks: number;
  products: number;
  seedVia: 'stream' | 'import';
  faults: FaultSpecs;
  plc: PlcOptions | null;
  ramp: RampOptions | null;
  baseline: boolean;
  drainTimeoutMs: number;
  seedTimeoutMs: number;
  /** Stop offering when reads wait longer than this to be sent, in ms (default 30 s). */
  maxLagMs?: number;
  /** Release period of due reads, in ms (default: 1, or 2 above 15,000 reads/s). */
  tickMs?: number;
  persistentControllers: boolean;
  username?: string;
  password?: string;
  keepDir: boolean;
  progress: ((line: string) => void) | null;
  signal?: AbortSignal;
}

export interface RampStep {
  rate: number;
  passed: boolean;
  throughput: number;
  p99: number;
  failures: string[];
}

export interface SimulateResult {
  /** The run's report; in a ramp, the report of the highest passing step (or the first step if none passed). */
  report: Report;
  ramp?: { sustainedRate: number; p99BudgetMs: number; steps: RampStep[] };
  baseline?: BaselineResult;
  /** Where the spawned gateway's files are (kept with keepDir). */
  dir: string | null;
}

/** The warm-up's step number: its seed and run id differ from every measured step's. */
const WARMUP_STEP = 1000;

function runIdFrom(o: SimulateOptions, step: number): number {
  return ((o.runId ?? (Date.now() % 2_000_000_000)) + step * 7919) >>> 0;
}

function stoppedBeforeLoad(): GatewayError {
  return new GatewayError('SG_ERR_SIM_STOPPED', 'the simulator was stopped before it offered any load: there is no report', {
    hint: 'let it run until the first reads are sent (after the baseline, seeding and warm-up), or stop it later',
  });
}

export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  const say = o.progress ?? (() => undefined);
  // The gateway counts the reads a PLC made while it was away from the gap it sees at the first read after it
  // reconnected (a few hundred ms after the PLC is back): a PLC still away when the reads stop leaves a gap nobody
  // sees, and the two counts disagree. Faults run in the first step of a ramp.
  const runS = o.ramp === null ? o.durationS : o.ramp.stepS;
  for (const w of o.faults.plcRestarts) {
    if (w.atMs + w.durationMs + PLC_BACK_MARGIN_MS <= runS * 1000) continue;
    throw new GatewayError('SG_ERR_USAGE', `--plc-restart ${w.durationMs / 1000}s@${w.atMs / 1000}s ends at ${(w.atMs + w.durationMs) / 1000} s, less than ${PLC_BACK_MARGIN_MS / 1000} s before the run's end (${runS} s): the reads the PLC makes while it is away are counted by the gateway only once it is back and reads again`, {
      hint: `end the restart at least ${PLC_BACK_MARGIN_MS / 1000} s before --duration${o.ramp === null ? '' : ' (--ramp-step in a ramp)'}, or lengthen it`,
    });
  }
  let baseline: BaselineResult | undefined;
  if (o.baseline) {
    say('measuring the bare aedes QoS 1 ceiling (4 s)...');
    baseline = await measureAedesCeiling();
    say(`bare aedes: ${baseline.qos1PerS} QoS 1 publishes/s acknowledged`);
  }
  // Stopped (Ctrl-C) before any load was offered, e.g. while the baseline was measured: nothing to report.
  if (o.signal?.aborted) throw stoppedBeforeLoad();
  const needsProxy = o.faults.outages.length > 0;
  if (!o.spawn && (needsProxy || o.faults.kill !== undefined || o.faults.plcRestarts.length > 0 || o.plc !== null)) {
    throw new GatewayError('SG_ERR_USAGE', 'faults and the virtual PLC need a gateway the simulator starts itself', { hint: 'add --spawn' });
  }
  const plc = o.plc ?? (o.faults.plcRestarts.length > 0 ? { readers: 2, ratePerReader: 20 } : null);
  // A gateway started for this run is a new gateway with a new data directory: give it its own id and site, so
  // it neither replays other runs' status messages nor looks like another incarnation of an earlier gateway.
  const tag = (runIdFrom(o, 0) % 1_679_616).toString(36).padStart(4, '0');
  const layout = o.spawn && o.layout.site === DEFAULT_LAYOUT.site ? { ...o.layout, site: `sim-${tag}` } : o.layout;
  const topts: ConstructorParameters<typeof Target>[0] = { nats: o.nats, spawn: o.spawn, layout, proxy: needsProxy, plc, keepDir: o.keepDir };
  if (o.progress !== null) topts.log = o.progress;
  if (o.spawn && o.gatewayId === undefined) topts.gatewayId = `sim-gw-${tag}`;
  if (o.mqtt !== undefined) topts.mqtt = o.mqtt;
  if (o.http !== undefined) topts.http = o.http;
  if (o.gatewayId !== undefined) topts.gatewayId = o.gatewayId;
  if (o.username !== undefined) topts.username = o.username;
  if (o.password !== undefined) topts.password = o.password;
  const target = new Target(topts);
  let nc: NatsConnection | null = null;
  try {
    await target.open();
    nc = await connectNats(o.nats, 'scangate-simulator');
    await ensureStreams(nc);
    const load = (rate: number, durationS: number, step: number): LoadOptions => {
      const l: LoadOptions = {
        rate,
        durationS,
        seed: o.seed + step,
        runId: runIdFrom(o, step),
        errorRate: o.errorRate,
        errorMix: o.errorMix,
        lagTicks: o.lagTicks,
        products: o.products,
        seedVia: o.seedVia,
        faults: step === 0 ? o.faults : { outages: [], outageMode: o.faults.outageMode, plcRestarts: [] },
        drainTimeoutMs: o.drainTimeoutMs,
        seedTimeoutMs: o.seedTimeoutMs,
        maxLagMs: o.maxLagMs ?? 30_000,
        ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
        persistentControllers: o.persistentControllers,
        progress: o.progress,
      };
      if (o.signal !== undefined) l.signal = o.signal;
      return l;
    };
    const withBaseline = (r: Report): Report => {
      if (baseline !== undefined) r.baseline = { aedesQos1PerS: baseline.qos1PerS, ratio: Math.round((r.throughput / baseline.qos1PerS) * 1000) / 1000 };
      return r;
    };
    const result = (report: Report): SimulateResult => {
      const res: SimulateResult = { report, dir: target.dir };
      if (report.ramp !== undefined) res.ramp = report.ramp;
      if (baseline !== undefined) res.baseline = baseline;
      return res;
    };
    let warmup: WarmupSummary | undefined;
    if ((o.warmupS ?? 0) > 0 && !o.signal?.aborted) {
      const rate = o.ramp === null ? o.rate : o.ramp.startRate;
      say(`warming up: ${rate} reads/s for ${o.warmupS} s (checked, not counted in the figures)`);
      const wr = await runLoad(target, nc, load(rate, o.warmupS!, WARMUP_STEP));
      warmup = warmupSummary(wr);
      say(`warm-up ${warmup.passed ? 'exact' : `failed: ${warmup.failures.join('; ')}`}: p99 ${warmup.latencyMs.p99} ms`);
      if (!warmup.passed || o.signal?.aborted) {
        // Nothing after a failed or stopped warm-up: its own report is the result, and says so.
        return result(withBaseline(warmupOnly(wr, warmup, o.signal?.aborted === true)));
      }
    }
    const finish = (r: Report): Report => withBaseline(warmup !== undefined ? withWarmup(r, warmup) : r);
    if (o.ramp === null) return result(finish(await runLoad(target, nc, load(o.rate, o.durationS, 0))));
    // Ramp: up by `factor` until a step fails, then bisect.
    const rp = o.ramp;
    const steps: RampStep[] = [];
    let best: Report | null = null;
    let first: Report | null = null;
    let lo = 0;
    let hi = 0;
    let step = 0;
    const tryRate = async (rate: number): Promise<boolean> => {
      say(`ramp step ${step + 1}: ${rate} reads/s for ${rp.stepS} s`);
      const r = finish(await runLoad(target, nc!, load(rate, rp.stepS, step++)));
      first ??= r;
      const passed = r.passed && r.latencyMs.p99 <= rp.p99BudgetMs && r.throughput >= 0.98 * rate;
      const failures = [...r.failures];
      if (r.latencyMs.p99 > rp.p99BudgetMs) failures.push(`p99 ${r.latencyMs.p99} ms is over the budget of ${rp.p99BudgetMs} ms`);
      if (r.throughput < 0.98 * rate) failures.push(`throughput ${r.throughput}/s is below the offered ${rate}/s`);
      steps.push({ rate, passed, throughput: r.throughput, p99: r.latencyMs.p99, failures });
      say(`ramp step ${step}: ${rate}/s ${passed ? 'sustained' : `not sustained (${failures.join('; ')})`}`);
      if (passed && (best === null || rate > best.offeredRate)) best = r;
      return passed;
    };
    for (let rate = rp.startRate; rate <= rp.maxRate && !o.signal?.aborted; rate = Math.round(rate * rp.factor)) {
      if (await tryRate(rate)) lo = rate;
      else {
        hi = rate;
        break;
      }
    }
    // Not even the first step held: come down until one does.
    for (let rate = Math.round(rp.startRate / rp.factor); lo === 0 && rate >= 50 && !o.signal?.aborted; rate = Math.round(rate / rp.factor)) {
      if (await tryRate(rate)) lo = rate;
      else hi = rate;
    }
    for (let k = 0; k < rp.refine && hi > 0 && lo > 0 && hi - lo > Math.max(100, lo * 0.03) && !o.signal?.aborted; k++) {
      const mid = Math.round((lo + hi) / 2 / 100) * 100;
      if (await tryRate(mid)) lo = mid;
      else hi = mid;
    }
    if (first === null) {
      if (o.signal?.aborted) throw stoppedBeforeLoad();
      throw new GatewayError('SG_ERR_USAGE', `no ramp step could run: --ramp-start ${rp.startRate} is above --ramp-max ${rp.maxRate}, and stepping down from it stays under 50 reads/s`, {
        hint: 'give a --ramp-start of at most --ramp-max',
      });
    }
    const report: Report = best ?? first;
    report.ramp = { sustainedRate: lo, p99BudgetMs: rp.p99BudgetMs, steps };
    // The ratio of a ramp is the sustained rate's.
    if (report.baseline !== undefined) report.baseline.ratio = Math.round((lo / report.baseline.aedesQos1PerS) * 1000) / 1000;
    return result(report);
  } finally {
    await nc?.close().catch(() => undefined);
    await target.close();
  }
}
