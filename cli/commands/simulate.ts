/**
 * `scangate simulate`: the load test. Progress on stderr, the report (DESIGN.md "Simulator report") as JSON on
 * stdout and in --report FILE, a self-contained HTML report with --html FILE; exit 1 on any mismatch, missing
 * verdict, lost or duplicated event.
 */
import { writeFileSync } from 'node:fs';
import { parse } from '../args.js';
import { GatewayError, describeError } from '../../gateway/errors.js';
import { parseKill, parseWindows } from '../../simulator/faults.js';
import { renderHtml } from '../../simulator/html.js';
import { summary } from '../../simulator/report.js';
import { DEFAULT_LAYOUT, gatewayConfig } from '../../simulator/site.js';
import { simulate, type SimulateOptions } from '../../simulator/simulate.js';
import { ERROR_KINDS, type ErrorKindName } from '../../simulator/workload.js';

const USAGE = 'scangate simulate [--mqtt URL --http URL | --spawn] [--nats URL] [--rate N] [--duration S] [--lines N] [--seed N] [--report FILE] [--html FILE] [options]';

const HELP = `${USAGE}

Offers reads at a fixed rate (open loop) to a gateway from a virtual site of L lines x S stations, knows the right
verdict for every read, and checks the verdicts (as the line controller) and the events (as central).

Target
  --mqtt URL              the running gateway's MQTT (default mqtt://127.0.0.1:1883)
  --http URL              its HTTP API, for its identity and outbox depth (default http://127.0.0.1:8080)
  --gateway-id ID         when --http is not available
  --spawn                 start a gateway for the run (free ports, temporary data dir); needed for faults
  --nats URL              NATS with JetStream, the gateway's uplink (default nats://127.0.0.1:4222)
  --print-config          print the gateway configuration declaring the virtual site, and exit:
                            scangate simulate --print-config --lines 4 > sim.yaml && scangate start --config sim.yaml
Workload
  --rate N                reads per second offered (default 1000)
  --duration S            seconds (default 10)
  --warmup S              seconds of load before the run (at its rate; with --ramp, at --ramp-start), checked
                            but not counted in its figures (compiled code, warm caches: the steady state); default 0
  --lines N               lines (default ${DEFAULT_LAYOUT.lines})
  --stations N            stations per line, at least 5; more are inspection points (default ${DEFAULT_LAYOUT.stations})
  --site ID               site id (default ${DEFAULT_LAYOUT.site}; with --spawn a site of the run's own, sim-XXXX)
  --case-size N           items per case (default ${DEFAULT_LAYOUT.caseSize})
  --cases-per-pallet N    (default ${DEFAULT_LAYOUT.casesPerPallet})
  --products N            GTINs on order (default 4)
  --seed N                the same seed gives the same workload (default 1)
  --run-id N              the run's id in its GTINs, serials, SSCCs and device names (default: from the clock); runs against
                            one gateway must differ, or the second one's serials are duplicates
  --errors P              share of injected error reads, e.g. 2% or 0.02 (default 2%)
  --error-mix K=W,...     weights of the error kinds (default all 1): ${Object.keys(ERROR_KINDS).join(', ')}
  --seed-via stream|import  seed the cache through the status stream (default) or scangate import (--spawn only)
  --lag-ticks N           workflow ticks between two steps of a product (default 2)
  --controller-session persistent|clean   the line controllers' MQTT sessions (default persistent)
  --tick-ms N             due reads go out every N ms, one write per station (default 1; 2 above 15,000 reads/s)
Load
  --ramp                  find the highest rate with p99 <= --p99-budget and no error of any kind
  --ramp-start N --ramp-factor F --ramp-max N --ramp-step S --p99-budget MS
  --baseline              measure the bare aedes QoS 1 ceiling first; the report gives the ratio
Faults (with --spawn)
  --kill-gateway-every T[:DOWN]   SIGKILL the gateway every T (e.g. 20s), back after DOWN (default at once)
  --uplink-outage D@T[,...]       no uplink for D from T into the run (e.g. 10s@30s), through a loopback proxy
  --outage-mode cut|blackhole     connections reset (default) or silently dead
  --plc-restart D@T[,...]         the virtual PLC's OPC UA server down for D from T
  --plc-readers N --plc-rate N    a virtual PLC with N readers at N reads/s each (default with --plc-restart: 2 x 20)
Output
  --report FILE           the report JSON (also printed on stdout)
  --html FILE             a self-contained HTML report with charts
  --quiet                 no progress on stderr
  --drain-timeout S       wait this long after the last read for verdicts and events (default 60)
  --seed-timeout S        wait this long for the gateway to apply the seeded cache before the run (default 300)
  --max-lag S             give up when a read waits longer than this for its acknowledgement (default 30)
  --keep                  keep the spawned gateway's directory (config, data, log)
  --username U --password P   MQTT credentials
`;

function num(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new GatewayError('SG_ERR_USAGE', `--${name} must be a number from ${min} to ${max}, got "${String(v)}"`);
  return n;
}

function share(v: string | undefined): number {
  if (v === undefined) return 0.02;
  const n = v.endsWith('%') ? Number(v.slice(0, -1)) / 100 : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 0.5) throw new GatewayError('SG_ERR_USAGE', `--errors must be a share from 0 to 50% (e.g. 2% or 0.02), got "${v}"`);
  return n;
}

function mix(v: string | undefined): Partial<Record<ErrorKindName, number>> {
  const all = Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])) as Record<ErrorKindName, number>;
  if (v === undefined) return all;
  const out: Partial<Record<ErrorKindName, number>> = {};
  for (const part of v.split(',')) {
    const [k, w] = part.split('=');
    if (k === undefined || !(k in ERROR_KINDS)) throw new GatewayError('SG_ERR_USAGE', `--error-mix: unknown error kind "${k}"; known: ${Object.keys(ERROR_KINDS).join(', ')}`);
    const n = w === undefined ? 1 : Number(w);
    if (!Number.isFinite(n) || n < 0) throw new GatewayError('SG_ERR_USAGE', `--error-mix: weight of ${k} must be a number >= 0`);
    out[k as ErrorKindName] = n;
  }
  return out;
}

export default async function simulateCmd(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const b = { type: 'boolean' } as const;
  const { values: v } = parse(
    argv,
    {
      mqtt: s, http: s, 'gateway-id': s, spawn: b, nats: s, 'print-config': b,
      rate: s, duration: s, warmup: s, lines: s, stations: s, site: s, 'case-size': s, 'cases-per-pallet': s, products: s, seed: s, 'run-id': s,
      errors: s, 'error-mix': s, 'seed-via': s, 'lag-ticks': s,
      ramp: b, 'ramp-start': s, 'ramp-factor': s, 'ramp-max': s, 'ramp-step': s, 'p99-budget': s, baseline: b,
      'kill-gateway-every': s, 'uplink-outage': s, 'outage-mode': s, 'plc-restart': s, 'plc-readers': s, 'plc-rate': s,
      'controller-session': s, 'max-lag': s, 'tick-ms': s, report: s, html: s, quiet: b, 'drain-timeout': s, 'seed-timeout': s, keep: b, username: s, password: s,
    },
    USAGE,
  );
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const str = (k: string) => v[k as keyof typeof v] as string | undefined;
  const layout = {
    ...DEFAULT_LAYOUT,
    site: str('site') ?? DEFAULT_LAYOUT.site,
    lines: num(str('lines'), 'lines', 1, 200) ?? DEFAULT_LAYOUT.lines,
    stations: num(str('stations'), 'stations', 5, 40) ?? DEFAULT_LAYOUT.stations,
    caseSize: num(str('case-size'), 'case-size', 1, 1000) ?? DEFAULT_LAYOUT.caseSize,
    casesPerPallet: num(str('cases-per-pallet'), 'cases-per-pallet', 1, 200) ?? DEFAULT_LAYOUT.casesPerPallet,
  };
  if (v['print-config']) {
    const cfg = gatewayConfig(layout, { gatewayId: str('gateway-id') ?? 'sim-gw', dataDir: './data', mqttPort: 1883, httpPort: 8080, nats: (str('nats') ?? 'nats://127.0.0.1:4222').split(','), logLevel: 'info' });
    process.stdout.write(`# scangate configuration for \`scangate simulate --lines ${layout.lines} --stations ${layout.stations}\`\n${JSON.stringify(cfg, null, 2)}\n`);
    return 0;
  }
  const seedVia = str('seed-via') ?? 'stream';
  if (seedVia !== 'stream' && seedVia !== 'import') throw new GatewayError('SG_ERR_USAGE', '--seed-via is stream or import');
  if (seedVia === 'import' && !v.spawn) throw new GatewayError('SG_ERR_USAGE', '--seed-via import needs --spawn (the import goes into the data directory before the gateway starts)');
  const cs = str('controller-session');
  if (cs !== undefined && cs !== 'persistent' && cs !== 'clean') throw new GatewayError('SG_ERR_USAGE', '--controller-session is persistent or clean');
  const outageMode = str('outage-mode') ?? 'cut';
  if (outageMode !== 'cut' && outageMode !== 'blackhole') throw new GatewayError('SG_ERR_USAGE', '--outage-mode is cut or blackhole');
  const kill = str('kill-gateway-every');
  const faults: SimulateOptions['faults'] = {
    outages: str('uplink-outage') !== undefined ? parseWindows(str('uplink-outage')!, '--uplink-outage') : [],
    outageMode,
    plcRestarts: str('plc-restart') !== undefined ? parseWindows(str('plc-restart')!, '--plc-restart') : [],
  };
  if (kill !== undefined) faults.kill = parseKill(kill);
  const errorMix = mix(str('error-mix'));
  if (kill !== undefined) {
    // A duplicate read is recognised within the gateway's in-memory window, which a kill empties: the injected
    // ones would be decided again after a restart. Redeliveries after a kill happen anyway (the sessions resend).
    delete errorMix['duplicate-read'];
    delete errorMix.redelivery;
  }
  const plcReaders = num(str('plc-readers'), 'plc-readers', 1, 64);
  const quiet = v.quiet === true;
  const o: SimulateOptions = {
    nats: str('nats') ?? 'nats://127.0.0.1:4222',
    spawn: v.spawn === true,
    layout,
    rate: num(str('rate'), 'rate', 1, 10_000_000) ?? 1000,
    durationS: num(str('duration'), 'duration', 1, 86_400) ?? 10,
    warmupS: num(str('warmup'), 'warmup', 0, 3600) ?? 0,
    seed: num(str('seed'), 'seed', 0, 2 ** 31) ?? 1,
    errorRate: share(str('errors')),
    errorMix,
    lagTicks: num(str('lag-ticks'), 'lag-ticks', 1, 100) ?? 2,
    products: num(str('products'), 'products', 1, 500) ?? 4,
    seedVia,
    faults,
    plc: plcReaders !== undefined ? { readers: plcReaders, ratePerReader: num(str('plc-rate'), 'plc-rate', 1, 10_000) ?? 20 } : null,
    ramp: v.ramp
      ? {
          startRate: num(str('ramp-start'), 'ramp-start', 1) ?? 5000,
          factor: num(str('ramp-factor'), 'ramp-factor', 1.01, 10) ?? 1.25,
          maxRate: num(str('ramp-max'), 'ramp-max', 1) ?? 200_000,
          stepS: num(str('ramp-step'), 'ramp-step', 1) ?? 15,
          p99BudgetMs: num(str('p99-budget'), 'p99-budget', 0.1) ?? 10,
          refine: 3,
        }
      : null,
    baseline: v.baseline === true,
    drainTimeoutMs: (num(str('drain-timeout'), 'drain-timeout', 1) ?? 60) * 1000,
    seedTimeoutMs: (num(str('seed-timeout'), 'seed-timeout', 1) ?? 300) * 1000,
    maxLagMs: (num(str('max-lag'), 'max-lag', 1) ?? 30) * 1000,
    persistentControllers: (str('controller-session') ?? 'persistent') === 'persistent',
    keepDir: v.keep === true,
    progress: quiet ? null : (line) => process.stderr.write(`${line}\n`),
  };
  if (!o.spawn) {
    o.mqtt = str('mqtt') ?? 'mqtt://127.0.0.1:1883';
    o.http = str('http') ?? 'http://127.0.0.1:8080';
  }
  const tick = num(str('tick-ms'), 'tick-ms', 1, 50);
  if (tick !== undefined) o.tickMs = tick;
  const runId = num(str('run-id'), 'run-id', 0, 2 ** 31);
  if (runId !== undefined) o.runId = runId;
  if (str('gateway-id') !== undefined) o.gatewayId = str('gateway-id')!;
  if (str('username') !== undefined) o.username = str('username')!;
  if (str('password') !== undefined) o.password = str('password')!;

  if (o.ramp !== null && o.ramp.startRate > o.ramp.maxRate) {
    throw new GatewayError('SG_ERR_USAGE', `--ramp-start ${o.ramp.startRate} is above --ramp-max ${o.ramp.maxRate}`, { hint: 'give a --ramp-start of at most --ramp-max' });
  }
  // Ctrl-C: stop offering, drain, report what happened.
  const ac = new AbortController();
  o.signal = ac.signal;
  const onSig = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write('stopping: no more reads; draining and reporting (Ctrl-C again to quit now)\n');
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const res = await simulate(o);
    const r = res.report;
    const json = JSON.stringify(r, null, 2);
    if (str('report') !== undefined) writeFileSync(str('report')!, `${json}\n`);
    if (str('html') !== undefined) writeFileSync(str('html')!, renderHtml(r));
    const { timeline: _t, ...short } = r;
    process.stdout.write(`${JSON.stringify(short)}\n`);
    if (!quiet) {
      process.stderr.write(`${summary(r)}\n`);
      if (res.ramp !== undefined) process.stderr.write(`ramp: sustained ${res.ramp.sustainedRate} reads/s with p99 <= ${res.ramp.p99BudgetMs} ms and no error\n`);
      if (res.dir !== null && o.keepDir) process.stderr.write(`gateway files kept in ${res.dir}\n`);
    }
    return r.passed ? 0 : 1;
  } catch (err) {
    // Stopped by the user before any figure existed: say so, with the exit code of an interrupted command.
    if (err instanceof GatewayError && err.code === 'SG_ERR_SIM_STOPPED') {
      process.stderr.write(`${describeError(err)}\n`);
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
