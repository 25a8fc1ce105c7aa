/**
 * The simulator's report (DESIGN.md "Simulator report"): the fixed fields first, exactly as specified, then
 * what an engineer needs to trust and reproduce them (run parameters, machine load, timeline, faults,
 * samples of any mismatch). `passed` is false, and the command exits 1, on any mismatch, missing verdict,
 * lost or duplicated event.
 */
import { cpus, loadavg } from 'node:os';
import type { Central } from './central.js';
import { percentilesMs, type Checker, type Histogram, type MismatchSample, type Percentiles } from './checker.js';
import type { FaultRecord } from './faults.js';
import type { SiteLayout } from './site.js';
import type { Workload } from './workload.js';

export interface TimelineSample {
  /** Seconds since the first scheduled read. */
  t: number;
  /** Reads per second released by the schedule, sent, acknowledged, answered (verdicts), and events at central. */
  offered: number;
  sent: number;
  acked: number;
  achieved: number;
  central: number;
  /** Verdict latency in this second (from the scheduled send time), ms. */
  p50: number;
  p99: number;
  max: number;
  mismatches: number;
  /** Unsent events in the gateway's outbox (null when its HTTP API is not reachable). */
  outbox: number | null;
  /** Reads sent and not yet acknowledged. */
  unacked: number;
  uplinkDown: boolean;
  /** CPU used in this second, in % of one core: the simulator, and the spawned gateway (null otherwise). */
  simCpu: number;
  gwCpu: number | null;
}

/** The gateway's own view of its PLC readers (summed), from /api/status. */
export interface PlcGatewayStats {
  reads: number;
  lostReads: number;
  gaps: number;
  decisionsWritten: number;
  decisionWriteErrors: number;
  decisionsExpired: number;
}

export interface PlcStats {
  produced: number;
  producedOffline: number;
  decided: number;
  undecided: number;
  accepted: number;
  rejected: number;
  duplicateDecisions: number;
  unknownSeqDecisions: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; n: number };
  gateway?: PlcGatewayStats | null;
}

export interface Report {
  offeredRate: number;
  durationS: number;
  reads: number;
  acked: number;
  verdicts: number;
  accepted: number;
  rejected: number;
  mismatches: number;
  missingVerdicts: number;
  centralEvents: number;
  lost: number;
  duplicatesAtCentral: number;
  throughput: number;
  latencyMs: Percentiles;
  byReason: Record<string, number>;
  // Beyond the fixed shape:
  passed: boolean;
  failures: string[];
  run: {
    startedAt: string;
    seed: number;
    runId: number;
    gatewayId: string;
    layout: SiteLayout;
    plannedReads: number;
    errorsPlanned: Record<string, number>;
    seeding: Record<string, unknown>;
    aborted: boolean;
  };
  /** Read scheduled -> PUBACK (the read is durable), read actually sent -> verdict, read scheduled -> event at central. */
  ackLatencyMs: Percentiles;
  serviceLatencyMs: Percentiles;
  centralLatencyMs: Percentiles;
  /** Verdict latency by percentile (HDR distribution) for the chart. */
  latencyDistribution: { percentile: number; ms: number }[];
  unsent: number;
  unacked: number;
  /** Reads lost that were never acknowledged (the scanner still holds them; not a loss). */
  unackedWithoutEvent: number;
  resent: number;
  /** Reads decided again after a gateway restart because their first decision was not yet durable. */
  redecided: number;
  extraVerdicts: number;
  unknownVerdicts: number;
  unexpectedEvents: number;
  expectedEvents: number;
  aggregation: { expectedChildren: number; receivedChildren: number };
  faults: FaultRecord[];
  faultErrors: string[];
  gatewayRestarts: number;
  /** Exits of the spawned gateway nobody asked for (it was started again), and the end of its log. */
  gatewayCrashes: { atS: number; code: number | null; signal: string | null }[];
  gatewayLogTail?: string;
  /** The gateway's own counters at the end (/api/status: mqtt and pipeline counters), when reachable. */
  gatewayStatus: Record<string, unknown> | null;
  plc: PlcStats | null;
  mismatchSamples: MismatchSample[];
  machine: { cpus: number; loadAvg1m: number; loadAvgAtStart1m: number; node: string };
  /** CPU during the load phase, in % of one core (the gateway's only when the simulator started it). */
  cpu: { simulatorPct: number; gatewayPct: number | null };
  /** The simulator's own event-loop delay during the load phase: a floor under every latency it measures. */
  simulatorLoopDelayMs: { p50: number; p99: number; max: number };
  /** The bare aedes QoS 1 ceiling measured in the same run, and the gateway's throughput as a share of it. */
  baseline?: { aedesQos1PerS: number; ratio: number };
  /**
   * A run before this one against the same gateway (its own serials, checked the same way, its figures kept
   * apart): compiled code, a grown heap and warm caches, so that these figures are the steady state's.
   */
  warmup?: WarmupSummary;
  /** Ramp mode: every step, and the highest rate sustained with p99 under the budget and no error. */
  ramp?: { sustainedRate: number; p99BudgetMs: number; steps: { rate: number; passed: boolean; throughput: number; p99: number; failures: string[] }[] };
  timeline: TimelineSample[];
}

function distribution(h: Histogram): { percentile: number; ms: number }[] {
  if (h.totalCount === 0) return [];
  const ps = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];
  return ps.map((p) => ({ percentile: p, ms: Math.round(h.getValueAtPercentile(p)) / 1000 }));
}

export interface ReportInput {
  w: Workload;
  chk: Checker;
  central: Central;
  tally: ReturnType<Checker['tally']>;
  rate: number;
  durationS: number;
  loadMs: number;
  timeline: TimelineSample[];
  faults: FaultRecord[];
  faultErrors: string[];
  seed: number;
  runId: number;
  layout: SiteLayout;
  seedInfo: Record<string, unknown>;
  gatewayId: string;
  kills: number;
  crashes: { atS: number; code: number | null; signal: string | null }[];
  logTail: string;
  gatewayStatus: Record<string, unknown> | null;
  plc: PlcStats | null;
  aborted: boolean;
  gaveUp: string | null;
  loadAvgAtStart?: number;
  cpu: { simulatorPct: number; gatewayPct: number | null };
  loopDelayMs: { p50: number; p99: number; max: number };
}

export function buildReport(x: ReportInput): Report {
  const { chk, central, tally, w } = x;
  const spanS = chk.lastVerdictAt > chk.t0 ? (chk.lastVerdictAt - chk.t0) / 1000 : 0;
  const missing = tally.missingVerdicts + (x.aborted ? 0 : tally.unsent);
  const agg = { expectedChildren: central.expectedAggregationChildren(), receivedChildren: central.aggregationChildren };
  const r: Report = {
    offeredRate: x.rate,
    durationS: x.durationS,
    reads: chk.sent,
    acked: chk.acked,
    verdicts: chk.verdictCount,
    accepted: chk.accepted,
    rejected: chk.rejected,
    mismatches: chk.mismatches,
    missingVerdicts: missing,
    centralEvents: central.events,
    lost: tally.lost,
    duplicatesAtCentral: tally.duplicates,
    // Verdicts per second from the first scheduled read to the last verdict: a gateway that falls behind
    // takes longer than the offered duration and shows a lower figure.
    throughput: spanS > 0 ? Math.round(chk.verdictCount / Math.max(spanS, chk.verdictCount / x.rate)) : 0,
    latencyMs: percentilesMs(chk.latency),
    byReason: Object.fromEntries(Object.entries(chk.byReason).filter(([k]) => k !== 'OK').sort((a, b) => b[1] - a[1])),
    passed: true,
    failures: [],
    run: {
      startedAt: new Date(performance.timeOrigin + chk.t0).toISOString(),
      seed: x.seed,
      runId: x.runId,
      gatewayId: x.gatewayId,
      layout: x.layout,
      plannedReads: w.n,
      errorsPlanned: w.errorsPlanned,
      seeding: x.seedInfo,
      aborted: x.aborted,
    },
    ackLatencyMs: percentilesMs(chk.ackLatency),
    serviceLatencyMs: percentilesMs(chk.serviceLatency),
    centralLatencyMs: percentilesMs(central.latency),
    latencyDistribution: distribution(chk.latency),
    unsent: tally.unsent,
    unacked: tally.unacked,
    unackedWithoutEvent: tally.lostUnacked,
    resent: chk.resent,
    redecided: chk.redecided,
    extraVerdicts: chk.extraVerdicts,
    unknownVerdicts: chk.unknownVerdicts,
    unexpectedEvents: central.unexpectedEvents,
    expectedEvents: tally.expectedEvents,
    aggregation: agg,
    faults: x.faults,
    faultErrors: x.faultErrors,
    gatewayRestarts: x.kills,
    gatewayCrashes: x.crashes,
    gatewayStatus: x.gatewayStatus,
    plc: x.plc,
    mismatchSamples: chk.samples,
    cpu: x.cpu,
    simulatorLoopDelayMs: x.loopDelayMs,
    machine: { cpus: cpus().length, loadAvg1m: Math.round(loadavg()[0]! * 100) / 100, loadAvgAtStart1m: x.loadAvgAtStart ?? 0, node: process.version },
    timeline: x.timeline,
  };
  if (x.crashes.length > 0) r.gatewayLogTail = x.logTail;
  const f = r.failures;
  if (x.crashes.length > 0) f.push(`the gateway crashed ${x.crashes.length} time(s) (${x.crashes.map((c) => `at ${c.atS} s: ${c.signal ?? `exit code ${c.code}`}`).join(', ')}); see gatewayLogTail`);
  if (r.mismatches > 0) f.push(`${r.mismatches} verdicts or events differ from what is right`);
  if (r.missingVerdicts > 0) f.push(`${r.missingVerdicts} reads got no verdict${tally.unsent > 0 && !x.aborted ? ` (${tally.unsent} of them never sent: the gateway stalled the line)` : ''}`);
  if (r.lost > 0) f.push(`${r.lost} acknowledged reads have no event at central`);
  if (r.duplicatesAtCentral > 0) f.push(`${r.duplicatesAtCentral} events arrived at central more than once`);
  if (r.unexpectedEvents > 0) f.push(`${r.unexpectedEvents} events at central match no read that should produce one`);
  if (r.unknownVerdicts > 0) f.push(`${r.unknownVerdicts} verdicts match no read`);
  if (agg.receivedChildren !== agg.expectedChildren && r.lost === 0) f.push(`aggregation events name ${agg.receivedChildren} children, ${agg.expectedChildren} expected`);
  if (x.plc !== null && (x.plc.rejected > 0 || x.plc.duplicateDecisions > 0)) f.push(`PLC: ${x.plc.rejected} wrong and ${x.plc.duplicateDecisions} duplicate decisions`);
  for (const e of x.faultErrors) f.push(`fault injection failed: ${e}`);
  if (x.gaveUp !== null) f.unshift(x.gaveUp);
  r.passed = f.length === 0;
  return r;
}

/** What a warm-up run did (report.warmup). */
export interface WarmupSummary {
  rate: number;
  durationS: number;
  reads: number;
  throughput: number;
  latencyMs: { p50: number; p99: number };
  passed: boolean;
  failures: string[];
  /** false: the warm-up failed or was stopped, and the report holding this is the warm-up's own. */
  runAfter: boolean;
}

export function warmupSummary(r: Report): WarmupSummary {
  return { rate: r.offeredRate, durationS: r.durationS, reads: r.reads, throughput: r.throughput, latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99 }, passed: r.passed, failures: [...r.failures], runAfter: true };
}

/** The result when the warm-up failed or was stopped: its own report, every failure marked as the warm-up's. */
export function warmupOnly(r: Report, w: WarmupSummary, stopped: boolean): Report {
  r.warmup = { ...w, runAfter: false };
  r.failures = r.failures.map((f) => `warm-up: ${f}`);
  if (!w.passed) r.failures.push(`the ${stopped ? 'stopped' : 'failed'} warm-up's report: the run after it was not started`);
  r.passed = w.passed;
  return r;
}

/** A report's figures count after the warm-up; its verdict counts the warm-up's errors too. */
export function withWarmup(r: Report, w: WarmupSummary): Report {
  r.warmup = w;
  if (!w.passed) {
    r.failures.unshift(...w.failures.map((f) => `warm-up: ${f}`));
    r.passed = false;
  }
  return r;
}

/** The report without its timeline, for a terminal. */
interface LatencySummary {
  count: number;
  meanMs: number;
  p99AtMostMs: number | string;
}

function isLatency(x: unknown): x is LatencySummary {
  return typeof x === 'object' && x !== null && typeof (x as LatencySummary).count === 'number' && (x as LatencySummary).count > 0;
}

/**
 * Broker receipt -> verdict published and decision -> PUBACK, from the gateway's /api/status (mqtt.verdictLatency,
 * mqtt.ackLatency): beside the end-to-end figures they tell the decision from the queueing around it. Null when the
 * gateway reports none (an older gateway, or no reads).
 */
export function gatewayLatency(status: Record<string, unknown> | null): string | null {
  const mqtt = status?.['mqtt'] as Record<string, unknown> | undefined;
  const v = mqtt?.['verdictLatency'];
  if (!isLatency(v)) return null;
  const a = mqtt?.['ackLatency'];
  const ack = isLatency(a) ? `; decision -> PUBACK (durable) mean ${a.meanMs} ms, p99 <= ${a.p99AtMostMs} ms` : '';
  return `broker receipt -> verdict published mean ${v.meanMs} ms, p99 <= ${v.p99AtMostMs} ms${ack}`;
}

export function summary(r: Report): string {
  const l = r.latencyMs;
  const lines = [
    `${r.passed ? 'PASS' : 'FAIL'}: offered ${r.offeredRate} reads/s for ${r.durationS} s; ${r.reads} reads, ${r.acked} acknowledged, ${r.verdicts} verdicts (${r.accepted} accepted, ${r.rejected} rejected)`,
    `  throughput ${r.throughput} verdicts/s; verdict latency from the scheduled send: p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms, max ${l.max} ms`,
    `  PUBACK (durable) p99 ${r.ackLatencyMs.p99} ms; at central p99 ${r.centralLatencyMs.p99} ms`,
    `  CPU: simulator ${r.cpu.simulatorPct}% of a core (its event-loop delay p99 ${r.simulatorLoopDelayMs.p99} ms), gateway ${r.cpu.gatewayPct ?? '?'}%; load ${r.machine.loadAvgAtStart1m} -> ${r.machine.loadAvg1m} on ${r.machine.cpus} cores`,
    `  mismatches ${r.mismatches}, missing verdicts ${r.missingVerdicts}, central events ${r.centralEvents}/${r.expectedEvents}, lost ${r.lost}, duplicates ${r.duplicatesAtCentral}`,
  ];
  const own = gatewayLatency(r.gatewayStatus);
  if (own !== null) lines.push(`  the gateway's own part (its histograms since it started): ${own}`);
  if (r.warmup?.runAfter === false) lines.push('  these are the warm-up\'s figures: the run after it was not started');
  else if (r.warmup !== undefined) lines.push(`  after a warm-up of ${r.warmup.durationS} s at ${r.warmup.rate} reads/s (${r.warmup.reads} reads, ${r.warmup.passed ? 'exact' : 'FAILED'}; its p99 ${r.warmup.latencyMs.p99} ms, not counted above)`);
  if (r.baseline !== undefined) lines.push(`  bare aedes QoS 1 ceiling ${r.baseline.aedesQos1PerS}/s: the gateway's throughput is ${(r.baseline.ratio * 100).toFixed(1)}% of it`);
  if (r.faults.length > 0) lines.push(`  faults: ${r.faults.map((x) => `${x.kind}@${x.atS}s${x.durationS > 0 ? ` for ${x.durationS}s` : ''}`).join(', ')}`);
  if (r.plc !== null) lines.push(`  PLC: ${r.plc.produced} reads (${r.plc.producedOffline} while its server was down), ${r.plc.decided} decided, ${r.plc.undecided} undecided, p99 ${r.plc.latencyMs.p99} ms`);
  for (const x of r.failures) lines.push(`  - ${x}`);
  for (const s of r.mismatchSamples.slice(0, 5)) lines.push(`    read ${s.read} ${s.kind} at ${s.station} (${s.where}): expected ${s.expected}, got ${s.got}`);
  return lines.join('\n');
}
