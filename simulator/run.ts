/**
 * One load run against a gateway: build the workload, seed the cache, connect the scanners and the line
 * controller, consume the events as central, offer the reads on schedule, inject the faults, drain, tally.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { Central } from './central.js';
import { Checker, histogram, percentilesMs, type VerdictJson } from './checker.js';
import { FaultScheduler, type FaultSpecs } from './faults.js';
import { GatewayProcess } from './gateway-process.js';
import { LineController } from './controller.js';
import { Fleet, Scanner } from './scanners.js';
import { seedViaStream, writeImportFile } from './seed.js';
import type { Target } from './target.js';
import { GatewayError } from '../gateway/errors.js';
import type { SiteLayout } from './site.js';
import { Role } from './site.js';
import { ST } from './population.js';
import { Workload, type ErrorKindName } from './workload.js';
import { buildReport, type PlcGatewayStats, type Report, type TimelineSample } from './report.js';

export interface LoadOptions {
  rate: number;
  durationS: number;
  seed: number;
  /** Distinguishes this run's serials, devices and containers from every other run's. */
  runId: number;
  errorRate: number;
  errorMix: Partial<Record<ErrorKindName, number>>;
  lagTicks: number;
  products: number;
  seedVia: 'stream' | 'import';
  faults: FaultSpecs;
  /** After the last read: how long to wait for acknowledgements, verdicts and events, in ms. */
  drainTimeoutMs: number;
  seedTimeoutMs: number;
  /** Release period of due reads, in ms (default 1, 2 above 15,000 reads/s). */
  tickMs?: number;
  /** Stop offering when a due read has waited this long to be sent (the gateway cannot keep up), in ms. */
  maxLagMs: number;
  /** Line controllers with persistent sessions (clean session 0) rather than clean ones. */
  persistentControllers: boolean;
  /** Progress lines (stderr); null: quiet. */
  progress: ((line: string) => void) | null;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fmtRate(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n));
}

/** Run the load and return the report. The target must be open (and the spawned gateway not started yet). */
export async function runLoad(target: Target, nc: NatsConnection, o: LoadOptions): Promise<Report> {
  const say = o.progress ?? (() => undefined);
  const layout = { ...target.layoutOf() };
  const devicePrefix = `sim${o.runId.toString(36)}`;
  const tBuild = performance.now();
  const w = new Workload({
    layout,
    reads: Math.max(1, Math.round(o.rate * o.durationS)),
    seed: o.seed,
    runId: o.runId,
    errorRate: o.errorRate,
    errorMix: o.errorMix,
    lagTicks: o.lagTicks,
    products: o.products,
    devicePrefix,
  });
  say(`workload: ${w.n} reads on ${w.stations.length} stations, ${w.population.size} serials, ${w.containers.length} cases and pallets (${Math.round(performance.now() - tBuild)} ms)`);

  // An import goes into the data directory before a spawned gateway starts; the status stream needs it running.
  let seedInfo: Record<string, unknown> | null = null;
  if (o.seedVia === 'import' && target.spawned && !target.started) {
    const file = `${target.dir}/seed.ndjson`;
    const records = writeImportFile(file, w.population);
    const t = performance.now();
    const r = await GatewayProcess.run(['import', file, '--config', target.configFile!]);
    if (r.code !== 0) throw new Error(`scangate import failed:\n${r.output}`);
    seedInfo = { via: 'import', records, ms: Math.round(performance.now() - t) };
  }
  if (target.spawned && !target.started) await target.startGateway();

  const chk = new Checker(w, o.rate);
  const fleet = new Fleet(w, chk);
  const onVerdict = (v: VerdictJson, now: number, redelivered: boolean) => chk.onVerdict(v, now, redelivered);
  const ctls = new Map<string, LineController>();
  for (const st of w.stations) {
    if (!ctls.has(st.line)) ctls.set(st.line, new LineController(target.endpoint, `${devicePrefix}-${st.line}-controller`, layout.topicPrefix, target.site, st.line, o.persistentControllers, onVerdict));
  }
  const disconnect = () => Promise.all([...fleet.scanners.map((s) => s.close().catch(() => undefined)), ...[...ctls.values()].map((c) => c.close().catch(() => undefined))]);
  try {
    await Promise.all([...ctls.values()].map((c) => c.open()));
    await preflight(w, ctls, layout);
    if (seedInfo === null) {
      // Seed the cache the way production does: central's status stream.
      const r = await seedViaStream(nc, w.population, {
        site: target.site,
        gatewayId: target.gatewayId,
        timeoutMs: o.seedTimeoutMs,
        progress: (d, t) => say(`seeding: ${d}/${t} status messages applied`),
      });
      seedInfo = { via: 'status-stream', ...r };
    }
    say(`seeded ${JSON.stringify(seedInfo)}`);
    if (target.plc !== null && !target.plc.line.generating) {
      // The PLC's readers read serials the cache knows (ASSIGNED ones are in normal lots), at a verify station.
      const codes: string[] = [];
      for (let i = 0; i < w.population.size && codes.length < 2000; i++) if (w.population.seedStatus[i] === ST.ASSIGNED) codes.push(w.population.code(i));
      target.plcCodes.splice(0, target.plcCodes.length, ...codes);
      // Reads a PLC makes before the gateway subscribed are never seen (nor counted as lost): start after.
      if (!(await target.waitPlcConnected())) say('the gateway did not connect to the virtual PLC within 20 s; its reads go unanswered');
      target.plc.line.startGeneration(target.plcRate);
    }
    for (const st of w.stations) {
      const sc = new Scanner(st, target.endpoint, `${st.device}`, w, chk, fleet);
      sc.controller = ctls.get(st.line)!;
      fleet.add(sc);
    }
    await Promise.all(fleet.scanners.map((s) => s.open()));
  } catch (err) {
    await disconnect();
    throw err;
  }
  const seeded = seedInfo ?? {};

  const central = new Central(nc, chk, `0952${w.population.ssccTag}`);
  await central.start(`scangate.v1.events.${target.site}.${target.gatewayId}`).catch(async (err: unknown) => {
    await disconnect();
    throw err;
  });

  // Offer the reads on schedule.
  const faults = new FaultScheduler(o.faults, faultActions(target, o.faults), o.durationS * 1000);
  const timeline: TimelineSample[] = [];
  let status = await target.status();
  let polling = false;
  const t0 = performance.now() + 100;
  chk.t0 = t0;
  const cpuNow = () => {
    const u = process.cpuUsage();
    return { sim: (u.user + u.system) / 1e6, gw: target.gatewayCpuS() };
  };
  let last = { released: 0, sent: 0, acked: 0, verdicts: 0, central: 0, t: t0, cpu: cpuNow() };
  let loadCpu = last.cpu;
  let phase: 'load' | 'drain' = 'load';
  const sample = () => {
    const now = performance.now();
    const p = percentilesMs(chk.interval);
    chk.interval.reset();
    const dt = (now - last.t) / 1000;
    const cpu = cpuNow();
    const s: TimelineSample = {
      t: Math.round((now - t0) / 100) / 10,
      offered: Math.round((fleet.released - last.released) / dt),
      sent: Math.round((chk.sent - last.sent) / dt),
      acked: Math.round((chk.acked - last.acked) / dt),
      achieved: Math.round((chk.verdictCount - last.verdicts) / dt),
      central: Math.round((central.events - last.central) / dt),
      p50: p.p50,
      p99: p.p99,
      max: p.max,
      mismatches: chk.mismatches,
      outbox: status?.outboxEvents ?? null,
      unacked: fleet.unacked,
      uplinkDown: target.proxy?.down ?? false,
      simCpu: Math.round(((cpu.sim - last.cpu.sim) / dt) * 100),
      gwCpu: cpu.gw !== null && last.cpu.gw !== null && cpu.gw >= last.cpu.gw ? Math.round(((cpu.gw - last.cpu.gw) / dt) * 100) : null,
    };
    timeline.push(s);
    last = { released: fleet.released, sent: chk.sent, acked: chk.acked, verdicts: chk.verdictCount, central: central.events, t: now, cpu };
    if (!polling) {
      polling = true;
      void target.status().then((st) => {
        status = st;
        polling = false;
      });
    }
    say(
      `${phase === 'load' ? 't' : 'drain'}=${s.t.toFixed(0)}s offered ${fmtRate(s.offered)}/s achieved ${fmtRate(s.achieved)}/s ` +
        `p50 ${s.p50.toFixed(2)}ms p99 ${s.p99.toFixed(2)}ms mismatches ${s.mismatches} unacked ${s.unacked} ` +
        `outbox ${s.outbox ?? '?'} central ${central.events}/${chk.sent} cpu sim ${s.simCpu}%${s.gwCpu !== null ? ` gw ${s.gwCpu}%` : ''}${s.uplinkDown ? ' [uplink down]' : ''}`,
    );
  };
  await sleep(Math.max(0, t0 - performance.now()));
  // The tool's own delays are part of every latency it measures: its event loop's delay is reported next to them.
  const loadAtStart = loadavg()[0]!;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  faults.start(t0);
  loadCpu = cpuNow();
  // Due reads go out every tick, one socket write per station: 1 ms below 15,000 reads/s (the tick is part of
  // the measured latency), 2 ms above (half the writes, which cost the tool more than anything else).
  const tickMs = o.tickMs ?? (o.rate > 15_000 ? 2 : 1);
  const ticker = setInterval(() => fleet.release(performance.now()), tickMs);
  const progress = setInterval(sample, 1000);
  try {
    // Load phase: until every read is released and sent (or the run is stopped).
    let gaveUp: string | null = null;
    while (!fleet.sentAll && !o.signal?.aborted) {
      await sleep(20);
      // A gateway that cannot keep up makes the line wait longer and longer; past maxLagMs it is not coming back.
      const lag = performance.now() - chk.scheduled(fleet.oldestPending());
      if (lag > o.maxLagMs) {
        gaveUp = `gave up at ${((performance.now() - t0) / 1000).toFixed(1)} s: a read waited more than ${o.maxLagMs / 1000} s for its acknowledgement (the gateway fell behind the offered rate)`;
        say(gaveUp);
        break;
      }
    }
    const loadEnd = performance.now();
    loopDelay.disable();
    // The PLC's line stops with the run; its reads still in flight are waited for below.
    target.plc?.line.stopGeneration();
    const plcPending = () => (target.plc === null ? 0 : target.plc.line.stats((rec) => rec.online).undecided);
    const endCpu = cpuNow();
    const loadS = (loadEnd - t0) / 1000;
    const cpuPct = {
      simulatorPct: Math.round(((endCpu.sim - loadCpu.sim) / loadS) * 100),
      gatewayPct: endCpu.gw !== null && loadCpu.gw !== null && target.kills === 0 ? Math.round(((endCpu.gw - loadCpu.gw) / loadS) * 100) : null,
    };
    clearInterval(ticker);
    phase = 'drain';
    // Drain: acknowledgements and verdicts, then central's events and an empty outbox.
    const deadline = performance.now() + o.drainTimeoutMs;
    let lastChange = performance.now();
    let seen = -1;
    // Drained also when the run was stopped early: what was sent is still checked.
    while (performance.now() < deadline) {
      const t = chk.tally();
      const centralDone = chk.acked > 0 && t.lost === 0 && (status === null || status.outboxEvents === 0);
      if (t.missingVerdicts === 0 && t.unacked === 0 && centralDone && plcPending() === 0) break;
      // Everything acknowledged and at central, and no verdict for a while: the missing ones are not coming.
      const progressMark = chk.verdictCount + chk.extraVerdicts + central.events;
      if (progressMark !== seen) {
        seen = progressMark;
        lastChange = performance.now();
      } else if (t.unacked === 0 && centralDone && performance.now() - lastChange > 5000) break;
      await sleep(100);
    }
    faults.stop();
    clearInterval(progress);
    sample();
    const tally = chk.tally();
    const report = buildReport({
      w,
      chk,
      central,
      tally,
      rate: o.rate,
      durationS: o.signal?.aborted ? Math.round((loadEnd - t0) / 100) / 10 : o.durationS,
      loadMs: loadEnd - t0,
      timeline,
      faults: faults.records,
      faultErrors: faults.errors,
      seed: o.seed,
      runId: o.runId,
      layout,
      seedInfo: seeded,
      gatewayId: target.gatewayId,
      kills: target.kills,
      crashes: target.crashes().filter((c) => c.atMs >= performance.timeOrigin + t0).map((c) => ({ atS: Math.round(c.atMs - performance.timeOrigin - t0) / 1000, code: c.code, signal: c.signal })),
      logTail: target.logTail(),
      gatewayStatus: pick(await target.rawStatus(), ['mqtt', 'counters']),
      plc: target.plc !== null ? { ...target.plc.line.stats(), gateway: await plcGatewayStats(target) } : null,
      aborted: o.signal?.aborted ?? false,
      gaveUp,
      loadAvgAtStart: Math.round(loadAtStart * 100) / 100,
      cpu: cpuPct,
      loopDelayMs: { p50: ns(loopDelay.percentile(50)), p99: ns(loopDelay.percentile(99)), max: ns(loopDelay.max) },
    });
    return report;
  } finally {
    clearInterval(ticker);
    clearInterval(progress);
    faults.stop();
    await central.close();
    await disconnect();
  }
}

/** ns -> ms with 2 decimals. */
function ns(v: number): number {
  return Math.round(v / 10_000) / 100;
}

function pick(o: Record<string, unknown> | null, keys: string[]): Record<string, unknown> | null {
  if (o === null) return null;
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/**
 * As the line controller, before the first read: the order of every station (an undeclared station answers
 * UNAUTHORIZED_STATION), and a container opened and closed again at every aggregating station, whose reply
 * says the station's capacity. A gateway configured for another site layout is refused here, not counted
 * as thousands of mismatches.
 */
async function preflight(w: Workload, ctls: Map<string, LineController>, layout: SiteLayout): Promise<void> {
  const hint = `start the gateway with the configuration of \`scangate simulate --print-config --lines ${layout.lines} --stations ${layout.stations} --site ${layout.site}\``;
  for (const st of w.stations) {
    const ctl = ctls.get(st.line)!;
    const r = await ctl.command(st.base, { cmd: 'setOrder', gtins: w.orderGtins });
    if (r.ok !== true) {
      throw new GatewayError('SG_ERR_SIM_SITE', `station ${st.line}/${st.id} of the virtual site refused setOrder: ${String(r.error ?? '')} ${String(r.message ?? '')}`.trim(), { hint });
    }
    const capacity = st.role === Role.Pack ? layout.caseSize : st.role === Role.Palletize ? layout.casesPerPallet : 0;
    if (capacity === 0) continue;
    const sscc = w.population.newSscc();
    const o = await ctl.command(st.base, { cmd: 'openContainer', sscc });
    const c = await ctl.command(st.base, { cmd: 'closeContainer', sscc });
    if (o.ok !== true || c.ok !== true || o.capacity !== capacity) {
      throw new GatewayError('SG_ERR_SIM_SITE', `station ${st.line}/${st.id} should aggregate with capacity ${capacity}: openContainer answered ${JSON.stringify(o)}`, { hint });
    }
  }
}

/** The gateway's counters of its PLC readers, summed. */
async function plcGatewayStats(target: Target): Promise<PlcGatewayStats | null> {
  const s = await target.opcuaStatus();
  const readers = s?.endpoints?.flatMap((e) => e.readers ?? []) ?? [];
  if (readers.length === 0) return null;
  const sum = (k: string) => readers.reduce((n, r) => n + (typeof r[k] === 'number' ? (r[k] as number) : 0), 0);
  return { reads: sum('reads'), lostReads: sum('lostReads'), gaps: sum('gaps'), decisionsWritten: sum('decisionsWritten'), decisionWriteErrors: sum('decisionWriteErrors'), decisionsExpired: sum('decisionsExpired') };
}

function faultActions(target: Target, f: FaultSpecs): ConstructorParameters<typeof FaultScheduler>[1] {
  const a: ConstructorParameters<typeof FaultScheduler>[1] = {};
  if (target.spawned) a.killGateway = (downMs) => target.killGateway(downMs);
  if (target.proxy !== null) {
    a.uplinkDown = () => target.uplinkDown(f.outageMode);
    a.uplinkUp = () => target.uplinkUp();
  }
  if (target.plc !== null) a.plcRestart = (downMs) => target.plcRestart(downMs);
  return a;
}

export { histogram };
