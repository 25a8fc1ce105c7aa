/**
 * MQTT ingest: the ceiling of raw aedes at QoS 1 in this process (no gateway work) against the full gateway
 * (parse, decide, verdict, durable outbox) in the same run with the same publisher, alternating, median of
 * RUNS; then with one subscriber (raw: the reads fanned out; gateway: the verdicts); then the latency from
 * broker receipt to verdict published at 10,000 reads/s; then the same ratio in external mode against
 * Mosquitto (raw: a bare mqtt.js subscriber that acknowledges at once).
 *
 * The publisher is bench/mqtt-load.ts in its own process (raw TCP, packets built in place), so that it never
 * takes the broker's thread. Every measured case (a raw broker, a gateway) runs in a fresh child process of its
 * own, so none inherits another's heap or compiled code: measured in one process, whichever ran second was up to
 * a third slower. Run: `npm run bench -- mqtt` (MQTT_BENCH_RUNS, MQTT_BENCH_MEASURE_MS to change).
 */
import '../adapters/mqtt/quiet-debug.js'; // first: the raw broker runs with the gateway's debug loggers
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { startGateway, type Gateway } from '../cli/daemon.js';
import { configSchema, type ConfigInput } from '../gateway/config/index.js';
import { importFile } from '../gateway/import/index.js';
import { gs1CheckDigit } from '../gateway/parse/index.js';
import { Store } from '../gateway/store.js';
import type { LoadPlan, LoadResult } from './mqtt-load.js';

const RUNS = Number(process.env.MQTT_BENCH_RUNS ?? 3);
const MEASURE_MS = Number(process.env.MQTT_BENCH_MEASURE_MS ?? 4000);
const WARMUP_MS = 1500;
const CLIENTS = 4;
const WINDOW = 500;
const KNOWN = 400_000; // serials in the cache: the reads of a run are mostly accepts (a cache write each)
const LATENCY_RATE = 10_000;
const silent = pino({ level: 'silent' });
const GTIN = (() => {
  const body = '0952012345678';
  return body + gs1CheckDigit(body);
})();
const PREFIX = 'scangate/v1/demo/L1';
const TOPICS = ['pack', 'pack2', 'pack3', 'pack4'].map((s) => `${PREFIX}/${s}/read`);
const PAYLOAD = `]d201${GTIN}17301231` + '10LOT1\u001d21X{n}';

function load(plan: Omit<LoadPlan, 'host' | 'clients' | 'window' | 'warmupMs' | 'measureMs' | 'topics' | 'payload'> & Partial<LoadPlan>): Promise<LoadResult> {
  const full: LoadPlan = { host: '127.0.0.1', clients: CLIENTS, window: WINDOW, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, topics: TOPICS, payload: PAYLOAD, ...plan } as LoadPlan;
  return new Promise((resolve, reject) => {
    // Compiled (npm run bench) or from source (node --import tsx bench/mqtt.ts): fork the publisher the same way.
    const compiled = import.meta.url.endsWith('.js');
    const child = fork(fileURLToPath(new URL(compiled ? './mqtt-load.js' : './mqtt-load.ts', import.meta.url)), [JSON.stringify(full)], {
      execArgv: compiled ? [] : ['--import', 'tsx'],
    });
    child.once('message', (m) => {
      const r = m as LoadResult & { error?: string };
      if (r.error !== undefined) reject(new Error(r.error));
      else resolve(r);
    });
    child.once('error', reject);
  });
}

const perS = (n: number, ms: number) => Math.round((n * 1000) / ms);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toLocaleString('en-US').padStart(9);

/** A data directory with KNOWN serials RECEIVED, copied for each run. */
async function templateDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-mqtt-'));
  const rows = ['gtin,serial,lot,expiry,status'];
  for (let i = 0; i < KNOWN; i++) rows.push(`${GTIN},X${String(i).padStart(10, '0')},LOT1,2030-12-31,RECEIVED`);
  writeFileSync(join(dir, 'serials.csv'), rows.join('\n') + '\n');
  const store = Store.open(dir);
  try {
    await importFile(store, join(dir, 'serials.csv'));
  } finally {
    await store.close();
  }
  return dir;
}

function config(dataDir: string, mqttIn: ConfigInput['mqtt'] = {}) {
  return configSchema.parse({
    gatewayId: 'bench',
    dataDir,
    log: { level: 'silent' },
    site: { id: 'demo', lines: [{ id: 'L1', stations: ['pack', 'pack2', 'pack3', 'pack4'].map((id) => ({ id, operation: 'pack' })) }] },
    mqtt: { host: '127.0.0.1', port: 0, ...mqttIn },
    http: { enabled: false },
    nats: { servers: ['nats://127.0.0.1:1'] }, // no uplink: events stay in the outbox (durable, flushed)
  });
}

async function withGateway<T>(template: string, mqttIn: ConfigInput['mqtt'], fn: (gw: Gateway) => Promise<T>, probe?: (t0: number) => void): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-run-'));
  cpSync(template, dir, { recursive: true });
  const gw = await startGateway(config(dir, mqttIn), silent);
  if (probe !== undefined) (gw.mqtt.ingress as unknown as { opts: { latencyProbe?: (t: number) => void } }).opts.latencyProbe = probe;
  try {
    return await fn(gw);
  } finally {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawAedes<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    await new Promise<void>((r) => broker.close(() => r()));
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? NaN, n: s.length };
}

/** One measured case, run in the child process that isolated() starts. */
type Case =
  | { kind: 'raw'; sub: boolean }
  | { kind: 'gw'; sub: boolean; template: string }
  | { kind: 'latency'; template: string }
  | { kind: 'ext-raw'; port: number }
  | { kind: 'ext-gw'; port: number; template: string };

interface LatencyResult {
  acked: number;
  q: ReturnType<typeof quantiles>;
  e2e: LoadResult['latencyMs'];
}

async function runCase(c: Case): Promise<number | LatencyResult> {
  switch (c.kind) {
    case 'raw': {
      const res = await rawAedes((port) => load({ port, ...(c.sub ? { subscribe: `${PREFIX}/+/read` } : {}) }));
      return perS(res.measuredAcks, res.measuredMs);
    }
    case 'gw': {
      const res = await withGateway(c.template, {}, (gw) => load({ port: gw.mqttPort, ...(c.sub ? { subscribe: `${PREFIX}/+/verdict` } : {}) }));
      return perS(res.measuredAcks, res.measuredMs);
    }
    case 'latency': {
      const inProcess: number[] = [];
      const res = await withGateway(
        c.template,
        {},
        (gw) => load({ port: gw.mqttPort, clients: 2, window: 200, ratePerS: LATENCY_RATE, subscribe: `${PREFIX}/+/verdict`, measureLatency: true, warmupMs: 1000, measureMs: 5000 }),
        (t0) => inProcess.push(performance.now() - t0),
      );
      return { acked: perS(res.measuredAcks, res.measuredMs), q: quantiles(inProcess.slice(Math.floor(inProcess.length / 6))), e2e: res.latencyMs };
    }
    case 'ext-raw': {
      const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${c.port}`, { clientId: 'bench-raw-sub', clean: true });
      let n = 0;
      sub.on('message', () => n++);
      await sub.subscribeAsync(`${PREFIX}/+/read`, { qos: 1 });
      const rate = await consumerRate(() => n, () => load({ port: c.port }));
      await sub.endAsync(true);
      return rate;
    }
    case 'ext-gw':
      return withGateway(c.template, { mode: 'external', external: { url: `mqtt://127.0.0.1:${c.port}` } }, async (gw) => {
        await gw.mqtt.ready;
        return consumerRate(() => gw.pipeline.counters.reads, () => load({ port: c.port }));
      });
  }
}

/** Run a case in a fresh process (same node flags) and return what it measured. */
function isolated<T extends number | LatencyResult>(c: Case): Promise<T> {
  return new Promise((resolve, reject) => {
    const compiled = import.meta.url.endsWith('.js');
    const child = fork(fileURLToPath(import.meta.url), ['--case', JSON.stringify(c)], {
      execArgv: compiled ? process.execArgv : [...process.execArgv, '--import', 'tsx'],
    });
    child.once('message', (m) => {
      const r = m as { result?: T; error?: string };
      if (r.error !== undefined) reject(new Error(r.error));
      else resolve(r.result as T);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench case ${c.kind} exited with ${code} before reporting`)));
  });
}

async function embedded(template: string): Promise<void> {
  const rows: [string, number[], number[]][] = [
    ['no subscriber', [], []],
    ['one subscriber', [], []],
  ];
  for (let r = 0; r < RUNS; r++) {
    // Alternate which goes first so that drift on a shared machine falls on both.
    const order = r % 2 === 0 ? ['raw', 'gw'] : ['gw', 'raw'];
    for (const what of order) {
      for (const [i, sub] of [[0, false], [1, true]] as const) {
        if (what === 'raw') rows[i]![1].push(await isolated<number>({ kind: 'raw', sub }));
        else rows[i]![2].push(await isolated<number>({ kind: 'gw', sub, template }));
      }
    }
  }
  console.log(`embedded broker, QoS 1 reads, ${CLIENTS} publishers x ${WINDOW} in flight, median of ${RUNS} alternating runs, ${MEASURE_MS} ms each:`);
  for (const [name, raw, gw] of rows) {
    const ratio = median(gw) / median(raw);
    console.log(`  ${name.padEnd(15)} raw aedes ${fmt(median(raw))} reads/s   full gateway ${fmt(median(gw))} reads/s   ratio ${ratio.toFixed(2)}   (runs raw ${raw.join('/')}, gateway ${gw.join('/')})`);
  }
  const ratio0 = median(rows[0]![2]) / median(rows[0]![1]);
  console.log(`  target full >= 50% of raw: ${ratio0 >= 0.5 ? 'PASS' : 'FAIL'} (${(ratio0 * 100).toFixed(0)}%)`);
}

async function latency(template: string): Promise<void> {
  const { acked, q, e2e: e } = await isolated<LatencyResult>({ kind: 'latency', template });
  console.log(`latency at ${LATENCY_RATE.toLocaleString('en-US')} reads/s offered (${acked.toLocaleString('en-US')} acknowledged/s), one verdict subscriber:`);
  console.log(`  broker receipt -> verdict published (in process): p50 ${q.p50.toFixed(3)} ms, p99 ${q.p99.toFixed(3)} ms, max ${q.max.toFixed(2)} ms over ${q.n} reads; target p99 <= 2 ms: ${q.p99 <= 2 ? 'PASS' : 'FAIL'}`);
  if (e !== undefined) console.log(`  publisher -> verdict received (end to end, two processes, loopback): p50 ${e.p50} ms, p99 ${e.p99} ms, max ${e.max} ms over ${e.count}`);
}

/** Mosquitto on a free port, configured as the README asks for external mode. */
async function mosquitto(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-mosq-'));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 1000\nlog_type error\n`);
  const child: ChildProcess = spawn('mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) {
        await new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads per second a consumer takes off the broker while the publisher saturates it. */
async function consumerRate(count: () => number, run: () => Promise<LoadResult>): Promise<number> {
  let c0 = 0;
  let t0 = 0;
  const measure = setTimeout(() => {
    c0 = count();
    t0 = performance.now();
  }, WARMUP_MS);
  let rate = 0;
  const end = setTimeout(() => (rate = perS(count() - c0, performance.now() - t0)), WARMUP_MS + MEASURE_MS);
  await run();
  clearTimeout(measure);
  clearTimeout(end);
  return rate;
}

async function external(template: string): Promise<void> {
  const raw: number[] = [];
  const gwRates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const what of r % 2 === 0 ? ['raw', 'gw'] : ['gw', 'raw']) {
      const m = await mosquitto();
      try {
        if (what === 'raw') raw.push(await isolated<number>({ kind: 'ext-raw', port: m.port }));
        else gwRates.push(await isolated<number>({ kind: 'ext-gw', port: m.port, template }));
      } finally {
        await m.stop();
      }
    }
  }
  const ratio = median(gwRates) / median(raw);
  console.log(`external mode (Mosquitto, max_inflight_messages 1000), QoS 1, same publisher, median of ${RUNS}:`);
  console.log(`  raw: Mosquitto -> bare mqtt.js subscriber ${fmt(median(raw))} reads/s   full gateway (external) ${fmt(median(gwRates))} reads/s   ratio ${ratio.toFixed(2)}   (runs raw ${raw.join('/')}, gateway ${gwRates.join('/')})`);
}

export async function run(): Promise<void> {
  const template = await templateDir();
  try {
    await embedded(template);
    await latency(template);
    await external(template);
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--case');
  if (at < 0) await run();
  else {
    // A child of isolated(): measure one case, report it, leave.
    try {
      const result = await runCase(JSON.parse(process.argv[at + 1]!) as Case);
      process.send!({ result }, () => process.exit(0));
    } catch (err) {
      process.send!({ error: (err as Error).stack ?? String(err) }, () => process.exit(1));
    }
  }
}
