/**
 * Uplink benchmark: how fast the forwarder moves the outbox to a local JetStream (nats-server started here).
 *  1. forward N events (batches of 500) with the pipelined window, then the same N awaiting each publish
 *     (window 1), in the same run: events/s, MB/s and the ratio;
 *  2. the same comparison over a relay that adds a round trip (UPLINK_BENCH_RTT_MS, default 10 ms), as between an
 *     edge box and a central cluster, where the window earns its keep;
 *  3. drain a backlog of 1,000,000 events built while NATS was unreachable, while new reads keep being
 *     decided by the gateway core at a steady rate: drain time, and the decisions made meanwhile.
 * Events are real ScanEvents of the size the pipeline writes (~210 bytes). Env: UPLINK_BENCH_EVENTS (default
 * 300000), UPLINK_BENCH_BACKLOG (default 1000000), UPLINK_BENCH_READ_RATE (reads/s during the drain, 2000),
 * UPLINK_BENCH_RTT_EVENTS (200000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Uplink } from '../adapters/nats/uplink.js';
import { Cache } from '../gateway/cache/cache.js';
import { newRecord } from '../gateway/cache/record.js';
import { Pipeline } from '../gateway/pipeline.js';
import { STATUSES } from '../gateway/reasons.js';
import { StationRegistry } from '../gateway/stations.js';
import { configSchema, type Config } from '../gateway/config/index.js';
import { KIND_SCAN } from '../gateway/outbox/encode.js';
import { Outbox } from '../gateway/outbox/outbox.js';
import { Store } from '../gateway/store.js';
import { ScanEvent, type IScanEvent } from '../protocol/index.js';

const log = pino({ level: 'silent' });
const BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const N = Number(process.env.UPLINK_BENCH_EVENTS ?? 300_000);
const BACKLOG = Number(process.env.UPLINK_BENCH_BACKLOG ?? 1_000_000);
const READ_RATE = Number(process.env.UPLINK_BENCH_READ_RATE ?? 2_000);
const BATCH = 500;
const RTT_MS = Number(process.env.UPLINK_BENCH_RTT_MS ?? 10);
const N_RTT = Number(process.env.UPLINK_BENCH_RTT_EVENTS ?? 200_000);

/**
 * A TCP relay that delays every chunk by `oneWayMs` in each direction (order kept): a WAN link between the
 * edge and central, where awaiting each publish costs a round trip.
 */
function delayLink(targetPort: number, oneWayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = tcpConnect(targetPort, '127.0.0.1');
    for (const s of [client, up]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    const relay = (from: Socket, to: Socket) => from.on('data', (d: Buffer) => setTimeout(() => to.write(d), oneWayMs));
    relay(client, up);
    relay(up, client);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        url: `nats://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((r) => server.close(() => r()));
        },
      });
    }),
  );
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = mkdtempSync(join(tmpdir(), 'sg-bench-nats-'));
  const child: ChildProcess = spawn(BIN, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', store], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`nats-server did not start:\n${out}`)), 10_000);
    child.once('error', (e) => reject(new Error(`cannot start ${BIN}: ${e.message}`)));
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(out);
      if (m && /Server is ready/.test(out)) {
        clearTimeout(t);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve(`nats://127.0.0.1:${m[1]}`);
      }
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) await new Promise((r) => (child.once('exit', r), child.kill('SIGKILL')));
      rmSync(store, { recursive: true, force: true });
    },
  };
}

function config(dataDir: string, url: string, window: number, gatewayId: string): Config {
  return configSchema.parse({
    gatewayId,
    dataDir,
    site: { id: 'plant-a' },
    log: { level: 'silent' },
    nats: { servers: [url], publishWindow: window, statusSync: false, query: false, retryDelayMs: 100, publishTimeoutMs: 10_000 },
    batch: { maxEvents: BATCH, maxDelayMs: 50 },
    outbox: { maxBytes: 4 * 1024 ** 3, durability: 'sync' },
    cache: { mapSizeBytes: 8 * 1024 ** 3 },
  });
}

/** A ScanEvent as the pipeline writes one for an accepted pack. */
function event(gatewayId: string, epoch: string, seq: number): Uint8Array {
  const serial = `SN${String(seq).padStart(10, '0')}`;
  const ev: IScanEvent = {
    eventId: `${gatewayId}:${epoch}:${seq}`,
    eventTimeMs: 1_760_000_000_000 + seq,
    tzOffsetMin: 60,
    site: 'plant-a',
    line: 'L1',
    station: 'pack',
    gatewayId,
    device: 'scanner-01',
    readSeq: seq,
    operation: 3,
    verdict: 1,
    reason: 0,
    gtin: '09520123456788',
    serial,
    lot: 'LOT-A1',
    expiry: '2030-12-31',
    statusBefore: 4,
    statusAfter: 5,
    bizStep: 'packing',
    disposition: 'in_progress',
    raw: Buffer.from(`]d201095201234567881730123110LOT-A1\u001d21${serial}`),
  };
  return ScanEvent.encode(ev).finish();
}

interface Gw {
  store: Store;
  outbox: Outbox;
  cache: Cache;
  cfg: Config;
  dir: string;
}

function openGw(url: string, window: number, id: string, dir?: string): Gw {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'sg-bench-'));
  const cfg = config(d, url, window, id);
  const store = Store.open(d, { mapSizeBytes: cfg.cache.mapSizeBytes });
  const outbox = new Outbox(
    store,
    { gatewayId: id, site: 'plant-a', maxEvents: BATCH, maxBytes: cfg.batch.maxBytes, maxDelayMs: cfg.batch.maxDelayMs, outboxMaxBytes: cfg.outbox.maxBytes, durability: 'sync' },
    log,
  );
  return { store, outbox, cache: new Cache(store), cfg, dir: d };
}

/** Append n events as fast as LMDB takes them (the backlog an outage leaves behind). */
async function fill(g: Gw, n: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 5_000);
    let last: Promise<void> = Promise.resolve();
    for (; i < end; i++) {
      const seq = g.outbox.reserveSeq();
      const b = event(g.cfg.gatewayId, g.outbox.epoch, seq);
      bytes += b.length;
      last = g.outbox.append(seq, KIND_SCAN, b);
    }
    await last;
  }
  await g.outbox.flush();
  return bytes;
}

async function waitEmpty(g: Gw, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (g.outbox.stats().sealedBatches > 0 || g.outbox.stats().openEvents > 0) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function closeGw(g: Gw, up?: Uplink): Promise<void> {
  await up?.close();
  g.outbox.close();
  await g.store.close();
  rmSync(g.dir, { recursive: true, force: true });
}

async function forward(url: string, window: number, id: string, n = N): Promise<{ events: number; ms: number; bytes: number; batches: number }> {
  const g = openGw(url, window, id);
  await fill(g, n);
  const up = new Uplink(g.cfg, { outbox: g.outbox, cache: g.cache, store: g.store, log, lookups: { serial: () => undefined } });
  const t0 = performance.now();
  up.start();
  const ok = await waitEmpty(g, 300_000);
  const ms = performance.now() - t0;
  const f = up.forwarder.stats;
  const r = { events: f.events, ms, bytes: f.bytes, batches: f.published };
  await closeGw(g, up);
  if (!ok) throw new Error(`window ${window}: outbox not empty after 300 s`);
  return r;
}

export async function run(): Promise<void> {
  const srv = await startServer();
  try {
    console.log(`events of ~${event('gw-bench', 'abcd1234', 1).length} bytes, batches of ${BATCH}, nats-server ${BIN}, loopback`);
    // 1. window vs sequential, same run, same data.
    const win = 32;
    const a = await forward(srv.url, win, 'gw-window');
    const b = await forward(srv.url, 1, 'gw-sequential');
    const line = (name: string, r: typeof a) =>
      `${name.padEnd(34)} ${String(r.events).padStart(8)} events  ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${Math.round(r.events / (r.ms / 1000)).toLocaleString('en').padStart(9)} events/s  ${(r.bytes / 1e6 / (r.ms / 1000)).toFixed(1).padStart(6)} MB/s  ${Math.round(r.batches / (r.ms / 1000))} batches/s`;
    console.log(line(`forward, window ${win}`, a));
    console.log(line('forward, awaiting each publish', b));
    console.log(`ratio window/sequential: ${((a.events / a.ms) / (b.events / b.ms)).toFixed(2)}x (loopback: the round trip is ~0.1 ms, the cost is CPU)`);
    // The same over a link with a round trip of RTT_MS (edge to central across a WAN).
    const port = Number(new URL(srv.url).port);
    const link = await delayLink(port, RTT_MS / 2);
    try {
      const c = await forward(link.url, win, 'gw-rtt-window', N_RTT);
      const d = await forward(link.url, 1, 'gw-rtt-sequential', N_RTT);
      console.log(line(`forward, window ${win}, RTT ${RTT_MS} ms`, c));
      console.log(line(`forward, each awaited, RTT ${RTT_MS} ms`, d));
      console.log(`ratio window/sequential at RTT ${RTT_MS} ms: ${((c.events / c.ms) / (d.events / d.ms)).toFixed(2)}x`);
    } finally {
      await link.close();
    }

    // 2. A 1,000,000-event backlog (built while NATS was away), drained while reads keep being decided.
    const g = openGw(srv.url, win, 'gw-drain');
    const tf = performance.now();
    await fill(g, BACKLOG);
    console.log(`backlog: ${BACKLOG.toLocaleString('en')} events written to the outbox in ${((performance.now() - tf) / 1000).toFixed(1)} s (${(g.outbox.stats().bytes / 1e6).toFixed(0)} MB)`);
    const { decide, stop } = steadyReads(g.cfg, g.cache, g.outbox, READ_RATE, log);
    const up = new Uplink(g.cfg, { outbox: g.outbox, cache: g.cache, store: g.store, log, lookups: { serial: () => undefined } });
    const t0 = performance.now();
    decide();
    up.start();
    const end = Date.now() + 120_000;
    while (g.outbox.stats().ackedEvents < BACKLOG && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const ms = performance.now() - t0;
    const reads = await stop();
    console.log(
      `drain of ${BACKLOG.toLocaleString('en')} events: ${(ms / 1000).toFixed(2)} s (${Math.round(BACKLOG / (ms / 1000)).toLocaleString('en')} events/s), ` +
        `meanwhile ${reads.decided} reads decided at ${Math.round(reads.decided / (ms / 1000))}/s (offered ${READ_RATE}/s), decision p99 ${reads.p99Us} us, max ${reads.maxUs} us`,
    );
    await waitEmpty(g, 30_000);
    await closeGw(g, up);
  } finally {
    await srv.stop();
  }
}

const GTIN = '09520123456788';

/**
 * Reads decided at a steady rate by the gateway core (parse, cache, decide, event into the outbox) while the
 * backlog drains: shows that decisions go on, and how long each takes meanwhile.
 */
function steadyReads(cfg: Config, cache: Cache, outbox: Outbox, ratePerS: number, log: Logger): { decide: () => void; stop: () => Promise<{ decided: number; p99Us: number; maxUs: number }> } {
  const st = new StationRegistry(cfg).get('L1', 'pack');
  if (st === undefined) throw new Error('the bench config needs station L1/pack');
  const pipeline = new Pipeline({ cache, outbox, gatewayId: cfg.gatewayId, log });
  const n = Math.ceil(ratePerS * 130);
  for (let i = 0; i < n; i++) void cache.putSerial(GTIN, `R${i}`, newRecord(STATUSES.RECEIVED, 'LOT-A1', '2030-12-31'));
  const samples: number[] = [];
  let decided = 0;
  let timer: NodeJS.Timeout | null = null;
  let durable: Promise<void> | null = null;
  const tickMs = 5;
  let t0 = 0;
  return {
    decide() {
      t0 = performance.now();
      timer = setInterval(() => {
        // Catch up by elapsed time, so a late tick does not lower the offered rate.
        const due = Math.floor(((performance.now() - t0) * ratePerS) / 1000);
        while (decided < due) {
          const t = process.hrtime.bigint();
          const out = pipeline.handleRead(st, Buffer.from(`]d201${GTIN}1730123110LOT-A1\u001d21R${decided}`));
          samples.push(Number(process.hrtime.bigint() - t) / 1000);
          if (out.durable) durable = out.durable;
          decided++;
        }
      }, tickMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await durable;
      samples.sort((a, b) => a - b);
      return { decided, p99Us: Math.round(samples[Math.floor(samples.length * 0.99)] ?? 0), maxUs: Math.round(samples[samples.length - 1] ?? 0) };
    },
  };
}
