/**
 * The uplink under faults, against a real nats-server with our TCP proxy in front of it: a 10 s outage
 * under load, a PubAck lost after the store, a publish lost in transit, a full stream, the server killed
 * and restarted, a dead link (blackhole). After each: every event at central exactly once (a consumer that
 * dedups by stream sequence counts them), in order. The table of results is printed at the end.
 */
import { connect } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Uplink } from '../../adapters/nats/uplink.js';
import { Cache } from '../../gateway/cache/cache.js';
import type { ConfigInput } from '../../gateway/config/index.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { Outbox } from '../../gateway/outbox/outbox.js';
import { Store } from '../../gateway/store.js';
import { ScanEvent } from '../../protocol/index.js';
import { readEvents } from '../helpers/central.js';
import { silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { NatsProxy, header } from '../helpers/proxy.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-faults');
const STREAM = 'SCANGATE_EVENTS';

interface Row {
  fault: string;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  ordered: boolean;
  note: string;
}
const table: Row[] = [];

/** The gateway's outbox and uplink (no MQTT: the faults are on the uplink), on NATS through the proxy. */
class Edge {
  readonly tmp = tempDir('sg-uplink-');
  readonly store: Store;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  sent = 0;
  private loadTimer: NodeJS.Timeout | null = null;

  constructor(readonly proxy: NatsProxy, extra: Partial<ConfigInput> = {}, readonly gatewayId = 'gw-fault') {
    const cfg = testConfig(this.tmp.dir, proxy.url, {
      gatewayId,
      ...extra,
      nats: { servers: [proxy.url], statusSync: false, query: false, publishTimeoutMs: 1000, pingIntervalMs: 500, maxPingOut: 2, retryDelayMs: 100, ...extra.nats },
      batch: { maxEvents: 50, maxDelayMs: 20, ...extra.batch },
    });
    this.store = Store.open(cfg.dataDir);
    this.outbox = new Outbox(
      this.store,
      { gatewayId, site: cfg.site.id, maxEvents: cfg.batch.maxEvents, maxBytes: cfg.batch.maxBytes, maxDelayMs: cfg.batch.maxDelayMs, outboxMaxBytes: cfg.outbox.maxBytes, durability: 'commit' },
      silentLog,
    );
    this.uplink = new Uplink(cfg, { outbox: this.outbox, cache: new Cache(this.store), store: this.store, log: silentLog, lookups: { serial: () => undefined } });
    this.uplink.start();
  }

  /** One decided read's event (sizes vary, as real reads do). */
  event(rawBytes?: number): Promise<void> {
    const seq = this.outbox.reserveSeq();
    this.sent++;
    const serial = `S${seq}`.padEnd(4 + (seq % 7) * 9, 'x');
    const raw = rawBytes === undefined ? Buffer.from(serial) : Buffer.alloc(rawBytes, 0x41);
    return this.outbox.append(seq, KIND_SCAN, ScanEvent.encode({ eventId: this.outbox.eventId(seq), serial, gtin: '09520123456788', raw }).finish());
  }

  /** Steady load: `perSecond` events, in ticks of 10 ms (a late tick catches up, so the rate holds on a busy machine). */
  load(perSecond: number): void {
    const t0 = performance.now();
    let n = 0;
    this.loadTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * perSecond) / 1000);
      for (; n < due; n++) void this.event();
    }, 10);
  }

  stopLoad(): void {
    if (this.loadTimer) clearInterval(this.loadTimer);
    this.loadTimer = null;
  }

  /** Wait until every event is acknowledged by JetStream (the outbox is empty). */
  async drained(timeoutMs = 30_000): Promise<void> {
    this.outbox.seal();
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const st = this.outbox.stats();
      if (st.ackedEvents === this.sent && st.openEvents === 0) return;
      await sleep(20);
    }
    throw new Error(`outbox not drained: ${JSON.stringify(this.outbox.stats())} ${JSON.stringify(this.uplink.forwarder.stats)}`);
  }

  async close(): Promise<void> {
    this.stopLoad();
    await this.uplink.close();
    this.outbox.close();
    await this.store.close();
    this.tmp.dispose();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

/**
 * Central's view: every message of our subject, deduplicated by stream sequence, then checked: each event
 * once, batch numbers consecutive, event numbers rising in stream order.
 */
async function central(url: string, e: Edge, fault: string, note = ''): Promise<Row> {
  const stored = (await readEvents(url, STREAM, e.sent, 20_000)).filter((b) => b.subject.endsWith(`.${e.gatewayId}`));
  const bySeq = new Map(stored.map((b) => [b.streamSeq, b]));
  const batches = [...bySeq.values()].sort((a, b) => a.streamSeq - b.streamSeq);
  const ids = batches.flatMap((b) => b.batch.events.map((ev) => ev.eventId));
  const unique = new Set(ids);
  const seqs = ids.map((id) => Number(id.split(':')[2]));
  const ordered = seqs.every((s, i) => i === 0 || s > seqs[i - 1]!) && batches.every((b, i) => i === 0 || b.batch.batchSeq === batches[i - 1]!.batch.batchSeq + 1);
  const row: Row = { fault, sent: e.sent, received: unique.size, lost: e.sent - unique.size, duplicates: ids.length - unique.size, ordered, note };
  table.push(row);
  assert.is(row.lost, 0, `${fault}: no event lost`);
  assert.is(row.duplicates, 0, `${fault}: no event twice`);
  assert.ok(ordered, `${fault}: in order`);
  assert.equal(batches.map((b) => b.msgId), batches.map((b) => `${e.gatewayId}.${b.batch.batchSeq}`), 'Nats-Msg-Id is {gatewayId}.{batchSeq}');
  return row;
}

async function rig(): Promise<{ nats: NatsServer; proxy: NatsProxy; done: () => Promise<void> }> {
  const nats = await startNats();
  const proxy = await NatsProxy.start(nats.port);
  return {
    nats,
    proxy,
    done: async () => {
      await proxy.close();
      await nats.dispose();
    },
  };
}

test('uplink-faults - outage of 10 s under load: decisions go on, nothing lost or doubled, order kept', async () => {
  const { nats, proxy, done } = await rig();
  const e = new Edge(proxy);
  try {
    e.load(2000);
    await sleep(2000);
    proxy.cut();
    const cutAt = e.sent;
    await sleep(10_000);
    const during = e.sent - cutAt;
    assert.ok(during > 15_000, `events kept coming during the outage (${during})`);
    assert.ok(e.outbox.stats().events >= during * 0.9, 'and waited in the outbox');
    proxy.heal();
    await sleep(2000);
    e.stopLoad();
    await e.drained();
    const f = e.uplink.forwarder.stats;
    await central(nats.url, e, 'outage 10 s under load (proxy cut)', `${during} events during the outage; ${f.resyncs} resyncs, ${f.duplicates} duplicate PubAcks`);
  } finally {
    await e.close();
    await done();
  }
}, 60_000);

test('uplink-faults - PubAck lost after the store: the retry comes back duplicate and is not stored twice', async () => {
  const { nats, proxy, done } = await rig();
  const e = new Edge(proxy);
  try {
    await e.event();
    await e.drained();
    const drop = proxy.drop('down', (f) => f.op === 'MSG' && f.payload.includes(`"stream":"${STREAM}"`) && !f.payload.includes('duplicate'));
    await e.event(); // a batch of its own: its PubAck is the one dropped
    await drop.dropped;
    await e.drained();
    assert.ok(e.uplink.forwarder.stats.duplicates >= 1, 'the re-sent batch was answered `duplicate`');
    assert.ok(e.uplink.forwarder.stats.failuresByKind.timeout >= 1);
    for (let i = 0; i < 20; i++) await e.event();
    await e.drained();
    await central(nats.url, e, 'PubAck lost after store', `retry answered duplicate (${e.uplink.forwarder.stats.duplicates})`);
  } finally {
    await e.close();
    await done();
  }
});

test('uplink-faults - a publish lost in transit while later ones of its window go through: refused by their fences, re-sent in order', async () => {
  const { nats, proxy, done } = await rig();
  const e = new Edge(proxy, { batch: { maxEvents: 10, maxDelayMs: 5 } });
  try {
    await e.event();
    await e.drained(); // connected, resynced
    const drop = proxy.drop('up', (f) => f.op === 'HPUB' && f.subject.endsWith(`.${e.gatewayId}`) && header(f, 'Nats-Msg-Id') === `${e.gatewayId}.3`);
    // A burst: many batches in flight at once, batch 3 among them.
    await Promise.all(Array.from({ length: 300 }, () => e.event()));
    await drop.dropped;
    await e.drained();
    const f = e.uplink.forwarder.stats;
    assert.ok(f.failuresByKind['fence-msgid'] >= 1, `later batches were refused by their fence (${JSON.stringify(f.failuresByKind)})`);
    await central(nats.url, e, 'publish lost in transit (window of 32)', `${f.failuresByKind['fence-msgid']} later publishes refused by fences, then re-sent`);
  } finally {
    await e.close();
    await done();
  }
});

test('uplink-faults - stream full (discard new, 10077): held with an alarm, retried, drained in order once there is room', async () => {
  const { nats, proxy, done } = await rig();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  // Central's stream, small: it fills after a few batches; large batches are refused while small ones still fit.
  await jsm.streams.add({ name: STREAM, subjects: ['scangate.v1.events.>'], discard: DiscardPolicy.New, max_bytes: 40_000, duplicate_window: 120_000_000_000 });
  const e = new Edge(proxy, { batch: { maxEvents: 40, maxDelayMs: 5 } });
  try {
    // Batches of 40 events; every third batch is large (~18 kB), the others small (~2 kB). Near the limit a
    // large batch is refused while the small one after it would still fit: without fences it would land first.
    for (let i = 0; i < 600; i++) void e.event(Math.floor(i / 40) % 3 === 1 ? 400 : 0);
    await waitFor('the stream-full alarm', () => e.uplink.forwarder.stats.streamFull);
    const held = e.outbox.stats().events;
    assert.ok(held > 0, 'events wait in the outbox');
    await sleep(500);
    assert.ok(e.uplink.forwarder.stats.streamFullRejects >= 1);
    const info = await jsm.streams.info(STREAM);
    await jsm.streams.update(STREAM, { ...info.config, max_bytes: -1 }); // central frees it / raises the limit
    await e.drained();
    assert.is(e.uplink.forwarder.stats.streamFull, false, 'alarm cleared');
    await central(nats.url, e, 'stream full (max_bytes 40 kB, discard new)', `${held} events held; ${e.uplink.forwarder.stats.streamFullRejects} rejects`);
  } finally {
    await nc.close();
    await e.close();
    await done();
  }
});

test('uplink-faults - nats-server killed (SIGKILL) under load and restarted: nothing lost or doubled', async () => {
  const { nats, proxy, done } = await rig();
  const e = new Edge(proxy);
  try {
    e.load(2000);
    await sleep(1500);
    await nats.kill();
    await sleep(2000);
    await nats.restart();
    await sleep(1500);
    e.stopLoad();
    await e.drained();
    await central(nats.url, e, 'nats-server SIGKILL + restart under load', `${e.uplink.link.stats.connects} connections`);
  } finally {
    await e.close();
    await done();
  }
}, 40_000);

test('uplink-faults - dead link (blackhole): seen within seconds by pings, reconnected, drained', async () => {
  const { nats, proxy, done } = await rig();
  const e = new Edge(proxy);
  try {
    e.load(1000);
    await sleep(1000);
    proxy.blackhole();
    const stale0 = e.uplink.link.stats.staleConnections;
    const seenMs = await waitFor('the dead link', () => !e.uplink.link.stats.connected, 10_000);
    // pingIntervalMs 500, maxPingOut 2: declared dead after ~3 intervals.
    assert.ok(seenMs <= 3000, `dead link seen after ${seenMs} ms`);
    assert.ok(e.uplink.link.stats.staleConnections > stale0, 'as a stale connection (unanswered pings)');
    await sleep(500);
    proxy.heal();
    await waitFor('reconnect', () => e.uplink.link.stats.connected, 10_000);
    await sleep(500);
    e.stopLoad();
    await e.drained();
    await central(nats.url, e, 'dead link (blackhole)', `seen dead after ${seenMs} ms (ping 500 ms x 2)`);
  } finally {
    await e.close();
    await done();
  }
});

test('uplink-faults - PubAck lost and the link down past the duplicate window: the resync finds the batch stored, it is not sent twice', async () => {
  const { nats, proxy, done } = await rig();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  // Central's stream forgets message ids after 500 ms (the gateway's own default is 2 min).
  await jsm.streams.add({ name: STREAM, subjects: ['scangate.v1.events.>'], discard: DiscardPolicy.New, duplicate_window: 500_000_000 });
  const e = new Edge(proxy);
  try {
    await e.event();
    await e.drained();
    const drop = proxy.drop('down', (f) => f.op === 'MSG' && f.payload.includes(`"stream":"${STREAM}"`));
    await e.event();
    await drop.dropped; // stored at central, PubAck lost
    proxy.cut();
    await sleep(1500); // past the duplicate window: a plain retry would be stored again
    proxy.heal();
    await e.drained();
    const f = e.uplink.forwarder.stats;
    assert.ok(f.resyncStored >= 1, `found stored by the resync (${f.resyncStored})`);
    for (let i = 0; i < 5; i++) await e.event();
    await e.drained();
    await central(nats.url, e, 'PubAck lost + link down > duplicate window', `resync found ${f.resyncStored} batch stored; not re-sent`);
  } finally {
    await nc.close();
    await e.close();
    await done();
  }
});

test('uplink-faults - data directory replaced under the same gatewayId: new batches numbered after the old ones, none lost as duplicates', async () => {
  const { nats, proxy, done } = await rig();
  const old = new Edge(proxy, {}, 'gw-box');
  let sentBefore = 0;
  try {
    for (let i = 0; i < 120; i++) void old.event();
    await old.drained();
    sentBefore = old.sent;
  } finally {
    await old.close();
  }
  const fresh = new Edge(proxy, {}, 'gw-box'); // a new box: empty outbox, new epoch, batch numbers from 1 again
  try {
    for (let i = 0; i < 80; i++) void fresh.event();
    await fresh.drained();
    assert.is(fresh.uplink.forwarder.stats.subjectConflicts, 1, 'reported once (SG_ERR_NATS_SUBJECT_CONFLICT)');
    assert.ok(fresh.outbox.stats().batchSeqOffset > 0, 'numbering moved after the old box\'s batches');
    const stored = (await readEvents(nats.url, STREAM, sentBefore + fresh.sent, 20_000)).filter((b) => b.subject.endsWith('.gw-box'));
    const ids = stored.flatMap((b) => b.batch.events.map((ev) => ev.eventId));
    const seqs = stored.map((b) => b.batch.batchSeq);
    assert.is(new Set(ids).size, sentBefore + fresh.sent, 'every event of both boxes at central');
    assert.is(ids.length, sentBefore + fresh.sent, 'once');
    assert.ok(seqs.every((x, i) => i === 0 || x === seqs[i - 1]! + 1), 'batch numbers keep rising across the two boxes');
    table.push({ fault: 'data dir replaced, same gatewayId', sent: sentBefore + fresh.sent, received: new Set(ids).size, lost: sentBefore + fresh.sent - new Set(ids).size, duplicates: ids.length - new Set(ids).size, ordered: true, note: `new box numbered from ${fresh.outbox.publishedSeq(1)}` });
  } finally {
    await fresh.close();
    await done();
  }
});

test.after(() => {
  const pad = (s: string | number, n: number) => String(s).padEnd(n);
  console.log(`\n${pad('fault', 44)}${pad('sent', 8)}${pad('received', 10)}${pad('lost', 6)}${pad('dup', 5)}${pad('order', 7)}note`);
  for (const r of table) console.log(`${pad(r.fault, 44)}${pad(r.sent, 8)}${pad(r.received, 10)}${pad(r.lost, 6)}${pad(r.duplicates, 5)}${pad(r.ordered ? 'ok' : 'BROKEN', 7)}${r.note}`);
});

test.run();
