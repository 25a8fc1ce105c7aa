/**
 * PLCs over OPC UA: reads per second through one PLC session (data-item mode and event mode, with no loss),
 * and read-to-write-back latency at 200 reads/s (20 readers at 10 reads/s, a fast line). The virtual PLC runs
 * in a child process (its own core); the gateway runs here, with its LMDB outbox on disk (durability sync) and
 * no NATS (events wait in the outbox). Latency is measured by the PLC: from the read it produced to the
 * decision written back to it, echoing the read's seq.
 * Run: `npm run bench -- opcua`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { startGateway, type Gateway } from '../cli/daemon.js';
import { configSchema } from '../gateway/config/index.js';
import { importFile } from '../gateway/import/index.js';
import { gs1CheckDigit } from '../gateway/parse/index.js';
import { Store } from '../gateway/store.js';
import type { LineStats } from '../simulator/plc/line.js';
import type { PlcCommand, PlcStarted } from '../simulator/plc/process.js';

const TARGET_DATA_PER_S = 2_000;
const TARGET_EVENT_PER_S = 500;
const TARGET_P99_MS = 50;
const SERIALS = 20_000;
const STEP_S = 4;
const LATENCY_S = 10;
const LATENCY_READERS = 20;

interface Plc {
  call<T = unknown>(m: PlcCommand): Promise<T>;
  child: ChildProcess;
}

function startChild(): Plc {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`../simulator/plc/process.${ts ? 'ts' : 'js'}`, import.meta.url);
  const child = fork(entry, [], { execArgv: ts ? ['--import', 'tsx'] : [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve(m.result);
    else w?.reject(new Error(m.error));
  });
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`virtual PLC exited (${code}):\n${err}`));
    waiting.clear();
  });
  return {
    child,
    call: <T>(m: PlcCommand) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, ...m });
      }),
  };
}

function gtin(): string {
  const body = '0952012345099';
  return body + gs1CheckDigit(body);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-opcua-'));
  const plc = startChild();
  let gw: Gateway | null = null;
  try {
    const G = gtin();
    const population = Array.from({ length: SERIALS }, (_, i) => `]d201${G}17301231` + `10LOT1\u001d21B${i + 1}`);
    const csv = join(dir, 'serials.csv');
    writeFileSync(csv, ['gtin,serial,lot,expiry,status', ...population.map((_, i) => `${G},B${i + 1},LOT1,2030-12-31,RECEIVED`)].join('\n') + '\n');
    const dataDir = join(dir, 'data');
    const store = Store.open(dataDir);
    await importFile(store, csv);
    await store.close();

    const latencyReaders = Array.from({ length: LATENCY_READERS }, (_, i) => `L${i + 1}`);
    const started = await plc.call<PlcStarted>({
      cmd: 'start',
      opts: {
        pkiDir: join(dir, 'plc-pki'),
        population,
        readers: [{ id: 'D1', ways: ['data'] }, { id: 'E1', ways: ['event'] }, ...latencyReaders.map((id) => ({ id, ways: ['data' as const] }))],
      },
    });
    const nsu = 'urn:scangate:virtual-plc';
    const reader = (id: string, way: 'data' | 'event') => ({
      id,
      line: 'L1',
      station: 'verify',
      way,
      ...(way === 'data' ? { dataNode: `nsu=${nsu};s=L1.${id}.ScanRead` } : { device: `nsu=${nsu};s=L1.${id}`, seqField: { namespaceUri: 'urn:scangate:line', name: 'Seq' } }),
      decision: { mode: 'structure' as const, node: `nsu=${nsu};s=L1.${id}.Decision` },
    });
    const config = configSchema.parse({
      gatewayId: 'bench-opcua',
      dataDir,
      log: { level: 'silent' },
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { enabled: false },
      nats: { servers: ['nats://127.0.0.1:1'], retryDelayMs: 5_000 },
      site: { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'verify', operation: 'verify', duplicateReadWindowMs: 0 }] }] },
      opcua: {
        enabled: true,
        endpoints: [
          {
            id: 'plc1',
            url: started.endpointUrl,
            securityMode: 'None',
            securityPolicy: 'None',
            publishingIntervalMs: 10,
            queueSize: 10_000,
            readers: [reader('D1', 'data'), reader('E1', 'event'), ...latencyReaders.map((id) => reader(id, 'data'))],
          },
        ],
      },
    });
    gw = await startGateway(config, pino({ level: 'silent' }));
    const g = gw;
    const ep = () => g.opcua!.status().endpoints[0]!;
    for (let i = 0; ep().state !== 'connected'; i++) {
      if (i > 300) throw new Error(`the PLC session did not come up: ${JSON.stringify(ep().lastError)}`);
      await sleep(100);
    }
    const lostOf = (ids: string[]) => ep().readers.filter((r) => ids.includes(r.id)).reduce((n, r) => n + r.lostReads, 0);
    console.log(`opcua: virtual PLC in a child process, security None, publishing interval ${ep().publishingIntervalMs} ms, queue 10000, structure write-back, outbox durability ${config.outbox.durability}`);

    /** Offer `rate` reads/s on the readers for `seconds`, then wait for the decisions; what came back. */
    const step = async (readers: string[], rate: number, seconds: number) => {
      const lost0 = lostOf(readers);
      const t0 = performance.timeOrigin + performance.now();
      await plc.call({ cmd: 'generate', rate: rate / readers.length, readers });
      await sleep(seconds * 1000);
      await plc.call({ cmd: 'stop' });
      const t1 = performance.timeOrigin + performance.now();
      let s: LineStats;
      for (let i = 0; ; i++) {
        s = await plc.call<LineStats>({ cmd: 'stats', readers, sinceMs: t0 });
        if (s.undecided - (lostOf(readers) - lost0) <= 0 || i > 50) break;
        await sleep(100);
      }
      const drainS = (performance.timeOrigin + performance.now() - t1) / 1000;
      return { s, lost: lostOf(readers) - lost0, offered: s.produced / ((t1 - t0) / 1000), decidedPerS: s.decided / ((t1 - t0) / 1000 + Math.max(0, drainS - 0.1)) };
    };

    // Warm-up: types loaded, JIT warm, LMDB pages in.
    await step(['D1'], 500, 1);
    await step(['E1'], 200, 1);

    const ramp = async (label: string, id: string, rates: number[], target: number) => {
      let best = 0;
      for (const rate of rates) {
        const r = await step([id], rate, STEP_S);
        const ok = r.s.undecided === 0 && r.lost === 0 && r.s.latencyMs.p99 < 1_000;
        console.log(
          `opcua ${label}: offered ${Math.round(r.offered)} reads/s for ${STEP_S} s: decided ${r.s.decided}/${r.s.produced} (${Math.round(r.decidedPerS)}/s), ` +
            `lost ${r.lost}, undecided ${r.s.undecided}, duplicate decisions ${r.s.duplicateDecisions}, latency p50 ${r.s.latencyMs.p50} ms p99 ${r.s.latencyMs.p99} ms max ${r.s.latencyMs.max} ms ${ok ? '' : '(falls behind)'}`,
        );
        if (!ok) break;
        best = Math.max(best, Math.round(r.offered));
      }
      console.log(`opcua ${label}: sustained with no loss: ${best} reads/s per PLC session; target >= ${target}/s: ${best >= target ? 'PASS' : 'FAIL'}`);
    };
    // A fast line in steady state first, then the ramps that push the session to its limits.
    const lat = await step(latencyReaders, LATENCY_READERS * 10, LATENCY_S);
    console.log(
      `opcua read-to-write-back at ${Math.round(lat.offered)} reads/s (${LATENCY_READERS} readers x 10/s, data items, ${LATENCY_S} s): ` +
        `p50 ${lat.s.latencyMs.p50} ms, p90 ${lat.s.latencyMs.p90} ms, p99 ${lat.s.latencyMs.p99} ms, max ${lat.s.latencyMs.max} ms (n=${lat.s.latencyMs.n}, lost ${lat.lost})`,
    );
    console.log(`target p99 <= ${TARGET_P99_MS} ms: ${lat.s.latencyMs.p99 <= TARGET_P99_MS && lat.lost === 0 ? 'PASS' : 'FAIL'}`);
    await ramp('data-item mode', 'D1', [1_000, 2_000, 3_000, 4_000, 5_000], TARGET_DATA_PER_S);
    await ramp('event mode', 'E1', [500, 1_000, 1_500, 2_000, 3_000], TARGET_EVENT_PER_S);
  } finally {
    await gw?.close().catch(() => undefined);
    await plc.call({ cmd: 'close' }).catch(() => undefined);
    plc.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
