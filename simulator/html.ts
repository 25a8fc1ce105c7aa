/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched), so it opens
 * anywhere, offline, and can be attached to an acceptance record. Charts: throughput over time, verdict
 * latency over time and by percentile, rejects by reason, outbox depth over time; fault windows are shaded.
 */
import { gatewayLatency, type Report, type TimelineSample } from './report.js';

const W = 900;
const H = 250;
const M = { l: 64, r: 16, t: 28, b: 40 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** A step of 1, 2 or 5 times a power of ten, about v. */
function niceStep(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** Axis maximum and tick step: four to six round steps. */
function axis(max: number): { max: number; step: number } {
  const step = niceStep(niceMax(max) / 5);
  return { max: Math.max(step, Math.ceil(max / step) * step), step };
}

function fmt(v: number): string {
  if (v >= 1_000_000) return `${+(v / 1_000_000).toFixed(1)}M`;
  if (v >= 10_000) return `${+(v / 1000).toFixed(0)}k`;
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  if (v >= 10 || v === 0) return String(+v.toFixed(0));
  return String(+v.toPrecision(2));
}

interface Series {
  name: string;
  color: string;
  points: [number, number | null][];
  dash?: boolean;
  area?: boolean;
}

interface Band {
  x0: number;
  x1: number;
  label: string;
  color: string;
}

function lineChart(title: string, yUnit: string, series: Series[], bands: Band[], xMax: number, yMaxIn?: number): string {
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  let top = yMaxIn ?? 0;
  if (yMaxIn === undefined) for (const s of series) for (const [, y] of s.points) if (y !== null && y > top) top = y;
  const { max: yMax, step: yStep } = axis(top);
  const xm = xMax > 0 ? xMax : 1;
  const X = (x: number) => M.l + (x / xm) * pw;
  const Y = (y: number) => M.t + ph - (Math.min(y, yMax) / yMax) * ph;
  const out: string[] = [`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">`];
  for (const b of bands) {
    const x0 = X(Math.max(0, b.x0));
    const x1 = Math.max(x0 + 2, X(Math.min(xm, b.x1)));
    out.push(`<rect x="${x0.toFixed(1)}" y="${M.t}" width="${(x1 - x0).toFixed(1)}" height="${ph}" fill="${b.color}" opacity="0.18"/>`);
    out.push(`<text x="${(x0 + 3).toFixed(1)}" y="${M.t + 12}" class="band">${esc(b.label)}</text>`);
  }
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${M.l - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(y)}</text>`);
  }
  const xStep = niceStep(xm / 8);
  for (let x = 0; x <= xm + 1e-9; x += xStep) {
    out.push(`<text x="${X(x).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle" class="tick">${fmt(x)}</text>`);
  }
  out.push(`<text x="${M.l + pw / 2}" y="${H - 6}" text-anchor="middle" class="axis">seconds</text>`);
  out.push(`<text x="14" y="${M.t + ph / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${M.t + ph / 2})">${esc(yUnit)}</text>`);
  out.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ph}" class="frame"/><line x1="${M.l}" x2="${W - M.r}" y1="${M.t + ph}" y2="${M.t + ph}" class="frame"/>`);
  for (const s of series) {
    const segs: string[] = [];
    let cur = '';
    for (const [x, y] of s.points) {
      if (y === null) {
        if (cur) segs.push(cur);
        cur = '';
        continue;
      }
      cur += `${cur ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`;
    }
    if (cur) segs.push(cur);
    for (const d of segs) {
      if (s.area) out.push(`<path d="${d}L${X(lastX(d)).toFixed(1)},${Y(0)}L${firstX(d)},${Y(0)}Z" fill="${s.color}" opacity="0.2"/>`);
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="5 4"' : ''}/>`);
    }
  }
  let lx = M.l + 4;
  for (const s of series) {
    out.push(`<rect x="${lx}" y="8" width="12" height="4" fill="${s.color}"/><text x="${lx + 16}" y="14" class="legend">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 6.6;
  }
  out.push('</svg>');
  return out.join('');

  function lastX(d: string): number {
    const m = /([\d.]+),[\d.]+$/.exec(d);
    return m ? ((Number(m[1]) - M.l) / pw) * xm : 0;
  }
  function firstX(d: string): string {
    return /^M([\d.]+)/.exec(d)?.[1] ?? String(M.l);
  }
}

/** HDR-style percentile plot: x is 1/(1-p) on a log scale, so the tail gets the room. */
function percentileChart(dist: { percentile: number; ms: number }[]): string {
  const pts = dist.filter((d) => d.percentile < 100);
  if (pts.length === 0) return '<p>no verdicts</p>';
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const xOf = (p: number) => Math.log10(1 / (1 - p / 100));
  const xMax = 5.3; // a little beyond 99.999%, so its label fits
  const { max: yMax, step: yStep } = axis(Math.max(...pts.map((d) => d.ms)));
  const X = (p: number) => M.l + (Math.min(xOf(p), xMax) / xMax) * pw;
  const Y = (y: number) => M.t + ph - (y / yMax) * ph;
  const out: string[] = [`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="latency by percentile">`];
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" class="grid"/><text x="${M.l - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(y)}</text>`);
  }
  for (const [p, label] of [[0, '0%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [99.999, '99.999%']] as const) {
    out.push(`<line x1="${X(p).toFixed(1)}" x2="${X(p).toFixed(1)}" y1="${M.t}" y2="${M.t + ph}" class="grid"/><text x="${X(p).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle" class="tick">${label}</text>`);
  }
  out.push(`<text x="${M.l + pw / 2}" y="${H - 6}" text-anchor="middle" class="axis">percentile</text>`);
  out.push(`<text x="14" y="${M.t + ph / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${M.t + ph / 2})">ms</text>`);
  out.push(`<path d="${pts.map((d, k) => `${k ? 'L' : 'M'}${X(d.percentile).toFixed(1)},${Y(d.ms).toFixed(1)}`).join('')}" fill="none" stroke="#1f6feb" stroke-width="2"/>`);
  for (const d of pts) out.push(`<circle cx="${X(d.percentile).toFixed(1)}" cy="${Y(d.ms).toFixed(1)}" r="2.5" fill="#1f6feb"><title>p${d.percentile}: ${d.ms} ms</title></circle>`);
  out.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ph}" class="frame"/><line x1="${M.l}" x2="${W - M.r}" y1="${M.t + ph}" y2="${M.t + ph}" class="frame"/></svg>`);
  return out.join('');
}

function barChart(entries: [string, number][]): string {
  if (entries.length === 0) return '<p>no rejects</p>';
  const rowH = 22;
  const h = entries.length * rowH + 20;
  const max = niceMax(Math.max(...entries.map(([, v]) => v)));
  const x0 = 230;
  const pw = W - x0 - 80;
  const out = [`<svg viewBox="0 0 ${W} ${h}" width="100%" role="img" aria-label="rejects by reason">`];
  entries.forEach(([k, v], j) => {
    const y = 10 + j * rowH;
    const w = Math.max(1, (v / max) * pw);
    out.push(`<text x="${x0 - 8}" y="${y + 14}" text-anchor="end" class="label">${esc(k)}</text>`);
    out.push(`<rect x="${x0}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${k === 'DUPLICATE_READ' ? '#8b949e' : '#d1242f'}" opacity="0.85"/>`);
    out.push(`<text x="${(x0 + w + 6).toFixed(1)}" y="${y + 14}" class="label">${v}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

function bandsOf(r: Report): Band[] {
  const colors = { 'gateway-kill': '#d1242f', 'uplink-outage': '#bf8700', 'plc-restart': '#8250df' } as const;
  const names = { 'gateway-kill': 'gateway killed', 'uplink-outage': 'uplink down', 'plc-restart': 'PLC restart' } as const;
  return r.faults.map((f) => ({ x0: f.atS, x1: f.atS + Math.max(f.durationS, 0.3), label: names[f.kind], color: colors[f.kind] }));
}

function kv(rows: [string, string | number][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('')}</table>`;
}

export function renderHtml(r: Report): string {
  const tl: TimelineSample[] = r.timeline;
  const xMax = tl.length > 0 ? tl[tl.length - 1]!.t : r.durationS;
  const bands = bandsOf(r);
  const pts = (f: (s: TimelineSample) => number | null): [number, number | null][] => tl.map((s) => [s.t, f(s)]);
  const l = r.latencyMs;
  const status = r.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
  const headline: [string, string | number][] = [
    ['offered rate', `${r.offeredRate} reads/s for ${r.durationS} s`],
    ['throughput (verdicts/s)', r.throughput],
    ['verdict latency from the scheduled send', `p50 ${l.p50} ms · p90 ${l.p90} ms · p99 ${l.p99} ms · p99.9 ${l.p999} ms · max ${l.max} ms`],
    ['PUBACK latency (read durable)', `p50 ${r.ackLatencyMs.p50} ms · p99 ${r.ackLatencyMs.p99} ms · max ${r.ackLatencyMs.max} ms`],
    ['event at central', `p50 ${r.centralLatencyMs.p50} ms · p99 ${r.centralLatencyMs.p99} ms · max ${r.centralLatencyMs.max} ms`],
    ['reads / acknowledged / verdicts', `${r.reads} / ${r.acked} / ${r.verdicts}`],
    ['accepted / rejected', `${r.accepted} / ${r.rejected}`],
    ['mismatches', r.mismatches],
    ['missing verdicts', r.missingVerdicts],
    ['events at central (expected)', `${r.centralEvents} (${r.expectedEvents})`],
    ['lost / duplicated at central', `${r.lost} / ${r.duplicatesAtCentral}`],
    ['CPU (% of one core)', `simulator ${r.cpu.simulatorPct}% (its event-loop delay p99 ${r.simulatorLoopDelayMs.p99} ms) · gateway ${r.cpu.gatewayPct ?? '?'}%`],
  ];
  if (r.warmup?.runAfter === false) headline.push(['warm-up', 'these are the warm-up\'s figures: the run after it was not started']);
  else if (r.warmup !== undefined) headline.push(['warm-up before the run (not in the figures)', `${r.warmup.durationS} s at ${r.warmup.rate} reads/s: ${r.warmup.reads} reads, ${r.warmup.passed ? 'exact' : 'FAILED'}, p50 ${r.warmup.latencyMs.p50} ms · p99 ${r.warmup.latencyMs.p99} ms`]);
  if (r.baseline !== undefined) headline.push(['bare aedes QoS 1 ceiling (same run)', `${r.baseline.aedesQos1PerS}/s; gateway = ${(r.baseline.ratio * 100).toFixed(1)}% of it`]);
  if (r.ramp !== undefined) headline.push(['ramp: highest rate sustained', `${r.ramp.sustainedRate} reads/s (p99 <= ${r.ramp.p99BudgetMs} ms, no error)`]);
  if (r.plc !== null) {
    const g = r.plc.gateway;
    headline.push(['virtual PLC', `${r.plc.produced} reads (${r.plc.producedOffline} while its server was down), ${r.plc.decided} decided, ${r.plc.undecided} undecided, p99 ${r.plc.latencyMs.p99} ms`]);
    if (g) headline.push(['PLC reads, as the gateway saw them', `${g.reads} read, ${g.lostReads} lost in ${g.gaps} gaps (recorded as NO_READ), ${g.decisionsWritten} decisions written`]);
  }
  const own = gatewayLatency(r.gatewayStatus);
  if (own !== null) headline.push(["the gateway's own part (its histograms since it started)", own]);
  if (r.gatewayCrashes.length > 0) headline.push(['gateway crashes', r.gatewayCrashes.map((c) => `at ${c.atS} s (${c.signal ?? `exit ${c.code}`})`).join(', ')]);
  const lay = r.run.layout;
  const runRows: [string, string | number][] = [
    ['started', r.run.startedAt],
    ['gateway', r.run.gatewayId],
    ['site', `${lay.site}: ${lay.lines} lines x ${lay.stations} stations, cases of ${lay.caseSize}, ${lay.casesPerPallet} cases per pallet`],
    ['seed / run id', `${r.run.seed} / ${r.run.runId}`],
    ['planned reads', r.run.plannedReads],
    ['errors injected', Object.entries(r.run.errorsPlanned).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['cache seeded', JSON.stringify(r.run.seeding)],
    ['machine', `${r.machine.cpus} cores, load ${r.machine.loadAvgAtStart1m} at start and ${r.machine.loadAvg1m} at the end (1 min), Node ${r.machine.node}`],
  ];
  const faults = r.faults.length === 0 ? '<p>none</p>' : `<table class="grid"><tr><th>fault</th><th>at (s)</th><th>for (s)</th></tr>${r.faults.map((f) => `<tr><td>${f.kind}${f.note ? ` (${esc(f.note)})` : ''}</td><td>${f.atS}</td><td>${f.durationS}</td></tr>`).join('')}</table>`;
  const failures = r.failures.length === 0 ? '' : `<h2>Why it failed</h2><ul>${r.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>`;
  const samples =
    r.mismatchSamples.length === 0
      ? ''
      : `<h2>Mismatches (first ${r.mismatchSamples.length})</h2><table class="grid"><tr><th>read</th><th>kind</th><th>station</th><th>where</th><th>expected</th><th>got</th></tr>${r.mismatchSamples
          .map((s) => `<tr><td>${s.read}</td><td>${esc(s.kind)}</td><td>${esc(s.station)}</td><td>${s.where}</td><td>${esc(s.expected)}</td><td><code>${esc(s.got)}</code></td></tr>`)
          .join('')}</table>`;
  const hasOutbox = tl.some((s) => s.outbox !== null);
  const ramp =
    r.ramp === undefined
      ? ''
      : `<h2>Ramp</h2><table class="grid"><tr><th>offered/s</th><th>throughput/s</th><th>p99 ms</th><th>sustained</th><th>why not</th></tr>${r.ramp.steps
          .map((s) => `<tr><td>${s.rate}</td><td>${s.throughput}</td><td>${s.p99}</td><td>${s.passed ? 'yes' : 'no'}</td><td>${esc(s.failures.join('; '))}</td></tr>`)
          .join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scangate load test: ${r.passed ? 'PASS' : 'FAIL'} at ${r.offeredRate} reads/s</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;max-width:960px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.pass{background:#1a7f37;color:#fff;padding:2px 10px;border-radius:12px}.fail{background:#d1242f;color:#fff;padding:2px 10px;border-radius:12px}
table{border-collapse:collapse}table.kv th{text-align:left;font-weight:600;padding:3px 16px 3px 0;vertical-align:top;white-space:nowrap}table.kv td{padding:3px 0}
table.grid th,table.grid td{border:1px solid #d0d7de;padding:3px 8px;text-align:left}code{font-size:12px}
svg text{font-family:inherit}.tick{font-size:11px;fill:#57606a}.axis{font-size:12px;fill:#57606a}.legend{font-size:12px;fill:#1f2328}.label{font-size:12px;fill:#1f2328}
.band{font-size:11px;fill:#57606a}.grid{stroke:#eaeef2}.frame{stroke:#8c959f}.note{color:#57606a;font-size:12px}
</style></head><body>
<h1>scangate load test ${status}</h1>
<p class="note">Offered open loop at a fixed rate; latency counts from each read's scheduled send time (no coordinated omission). Every verdict and every event at central is checked against the right answer.</p>
${kv(headline)}
${failures}
<h2>Throughput over time</h2>
${lineChart('throughput', 'per second', [
    { name: 'offered reads/s', color: '#8c959f', points: pts((s) => s.offered), dash: true },
    { name: 'verdicts/s', color: '#1f6feb', points: pts((s) => s.achieved) },
    { name: 'events at central/s', color: '#1a7f37', points: pts((s) => s.central) },
  ], bands, xMax)}
<h2>Verdict latency over time</h2>
${lineChart('latency', 'ms', [
    { name: 'p50', color: '#1a7f37', points: pts((s) => (s.achieved > 0 ? s.p50 : null)) },
    { name: 'p99', color: '#bf8700', points: pts((s) => (s.achieved > 0 ? s.p99 : null)) },
    { name: 'max', color: '#d1242f', points: pts((s) => (s.achieved > 0 ? s.max : null)), dash: true },
  ], bands, xMax)}
<h2>Verdict latency by percentile (whole run)</h2>
${percentileChart(r.latencyDistribution)}
<h2>Rejects by reason</h2>
${barChart(Object.entries(r.byReason))}
<p class="note">DUPLICATE_READ: a read repeated within the duplicate-read window, answered with its first verdict and no second event.</p>
<h2>Outbox depth over time</h2>
${hasOutbox ? lineChart('outbox', 'unsent events', [{ name: 'events in the outbox', color: '#8250df', points: pts((s) => s.outbox), area: true }], bands, xMax) : '<p>the gateway\'s HTTP API was not reachable: no outbox figures</p>'}
<h2>Faults</h2>
${faults}
${ramp}
${samples}
${r.gatewayLogTail ? `<h2>End of the gateway's log</h2><pre>${esc(r.gatewayLogTail)}</pre>` : ''}
<h2>Run</h2>
${kv(runRows)}
<p class="note">Generated by <code>scangate simulate</code>. The report JSON holds every figure and the per-second timeline.</p>
</body></html>
`;
}
