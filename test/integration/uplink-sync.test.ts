/**
 * Status sync and queries against a real nats-server: central publishes StatusUpdateBatch messages on
 * scangate.v1.status.{site}; the gateway's durable consumer applies each once (acks dropped by the proxy force
 * redeliveries), a new gateway and a gateway whose data directory was replaced bootstrap by replaying the
 * stream, lag is reported while catching up, and lookups answer on scangate.v1.query.{site}.{gatewayId}.
 */
import { rmSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Uplink } from '../../adapters/nats/uplink.js';
import { Cache } from '../../gateway/cache/cache.js';
import { FLAG_ON_HOLD, FLAG_RECALLED, newRecord } from '../../gateway/cache/record.js';
import { lookupSerial } from '../../gateway/lookup.js';
import { Outbox } from '../../gateway/outbox/outbox.js';
import { STATUSES } from '../../gateway/reasons.js';
import { Store } from '../../gateway/store.js';
import { META_STATUS_SEQ, appliedSeq } from '../../gateway/sync/index.js';
import { encodeStatusUpdateBatch, type IStatusUpdate } from '../../protocol/index.js';
import { demoGtin, silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { NatsProxy } from '../helpers/proxy.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-sync');
const SITE = 'plant-a';
const G = demoGtin(42);

/** A gateway's store, cache and uplink (status sync and queries on), optionally on a given data dir. */
class Gw {
  readonly store: Store;
  readonly cache: Cache;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  constructor(
    url: string,
    readonly dir: string,
    readonly gatewayId: string,
  ) {
    const cfg = testConfig(dir, url, {
      gatewayId,
      site: { id: SITE },
      nats: { servers: [url], syncAckWaitMs: 1000, retryDelayMs: 100, pingIntervalMs: 500, maxPingOut: 2 },
    });
    this.store = Store.open(dir);
    this.cache = new Cache(this.store);
    this.outbox = new Outbox(this.store, { gatewayId, site: SITE, maxEvents: 50, maxBytes: 512_000, maxDelayMs: 20, outboxMaxBytes: 1e9, durability: 'sync' }, silentLog);
    this.uplink = new Uplink(cfg, {
      outbox: this.outbox,
      cache: this.cache,
      store: this.store,
      log: silentLog,
      lookups: { serial: (g, s) => lookupSerial(this.store, g, s), container: (sscc) => this.cache.getContainer(sscc) },
    });
    this.uplink.start();
  }

  get status() {
    return this.uplink.status!.stats();
  }

  async close(): Promise<void> {
    await this.uplink.close();
    this.outbox.close();
    await this.store.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Central: publishes status batches into SCANGATE_STATUS (created here, as central would). */
async function central(nats: NatsServer): Promise<{ nc: NatsConnection; publish: (updates: IStatusUpdate[], lots?: { gtin: string; lot: string; onHold?: boolean; recalled?: boolean }[]) => Promise<number> }> {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'SCANGATE_STATUS', subjects: ['scangate.v1.status.>'] });
  const js = jetstream(nc);
  return {
    nc,
    publish: async (updates, lots = []) => (await js.publish(`scangate.v1.status.${SITE}`, encodeStatusUpdateBatch({ site: SITE, createdMs: Date.now(), updates, lots }))).seq,
  };
}

const upd = (serial: string, status: number, extra: Partial<IStatusUpdate> = {}): IStatusUpdate => ({ gtin: G, serial, status, lot: 'L1', expiry: '2030-12-31', updatedMs: Date.now(), ...extra });

test('uplink-sync - updates applied in order, exactly once, though their acks are lost and they are redelivered', async () => {
  const nats = await startNats();
  const proxy = await NatsProxy.start(nats.port);
  const c = await central(nats);
  const tmp = tempDir();
  const gw = new Gw(proxy.url, tmp.dir, 'gw-sync');
  try {
    await c.publish([upd('A', STATUSES.RECEIVED), upd('B', STATUSES.RECEIVED)]);
    await until('first batch applied', () => gw.status.applied === 1);
    assert.is(gw.cache.getSerial(G, 'A')!.status, STATUSES.RECEIVED);
    // Lose every ack for a while: the server redelivers after ack_wait (1 s).
    const drops = proxy.drop('up', (f) => f.subject.startsWith('$JS.ACK.SCANGATE_STATUS.'), 1_000_000);
    await c.publish([upd('A', STATUSES.PACKED)], [{ gtin: G, lot: 'L1', onHold: true }]);
    const last = await c.publish([upd('B', STATUSES.SHIPPED, { recalled: true })]);
    await until('redeliveries', () => gw.status.redelivered >= 2, 10_000);
    drops.cancel();
    await until('acks go through', () => gw.status.pending === 0, 10_000);
    const st = gw.status;
    assert.is(st.applied, 3, 'three messages, each applied once');
    assert.ok(st.redelivered >= 2, `redelivered ${st.redelivered} times, skipped each time`);
    assert.is(appliedSeq(gw.store, META_STATUS_SEQ), last, 'the applied sequence is recorded with the updates');
    assert.is(gw.cache.getSerial(G, 'A')!.status, STATUSES.PACKED);
    assert.is(gw.cache.getSerial(G, 'B')!.status, STATUSES.SHIPPED);
    assert.is(gw.cache.getSerial(G, 'B')!.flags & FLAG_RECALLED, FLAG_RECALLED);
    assert.is(gw.cache.getLot(G, 'L1')!.flags, FLAG_ON_HOLD, 'lot update applied');
    assert.is(st.effects.applied + st.effects.created, 4);
  } finally {
    await gw.close();
    await c.nc.close();
    await proxy.close();
    await nats.dispose();
    tmp.dispose();
  }
});

test('uplink-sync - a new gateway, and one whose data directory was replaced, bootstrap by replaying the stream; lag is reported', async () => {
  const nats = await startNats();
  const proxy = await NatsProxy.start(nats.port);
  const c = await central(nats);
  const tmp = tempDir();
  const tmp2 = tempDir();
  let gw = new Gw(proxy.url, tmp.dir, 'gw-boot');
  try {
    await until('connected', () => gw.uplink.link.stats.connected);
    await c.publish([upd('X0', STATUSES.RECEIVED)]);
    await until('applied', () => gw.status.applied === 1);
    // While this gateway is cut off, central publishes 300 batches of 200 updates.
    proxy.cut();
    await until('down', () => !gw.uplink.link.stats.connected);
    let last = 0;
    for (let m = 0; m < 300; m++) last = await c.publish(Array.from({ length: 200 }, (_, i) => upd(`S${m}-${i}`, m % 2 ? STATUSES.PACKED : STATUSES.RECEIVED)));
    await sleep(1200);
    proxy.heal();
    let maxLag = 0;
    let maxLagS = 0;
    await until('caught up', () => {
      const s = gw.status;
      maxLag = Math.max(maxLag, s.lagMessages);
      maxLagS = Math.max(maxLagS, s.lagSeconds);
      return s.lastSeq === last;
    }, 60_000);
    assert.ok(maxLag > 0, `lag in messages reported while catching up (max ${maxLag})`);
    assert.ok(maxLagS >= 1, `lag in seconds reported (max ${maxLagS.toFixed(1)} s)`);
    assert.is(gw.cache.getSerial(G, 'S299-199')!.status, STATUSES.PACKED);

    // A second, new gateway: replays the whole stream into its empty cache.
    const fresh = new Gw(nats.url, tmp2.dir, 'gw-new');
    await until('bootstrap of a new gateway', () => fresh.status.lastSeq === last, 60_000);
    assert.is(fresh.status.applied, 301);
    assert.is(fresh.cache.getSerial(G, 'S150-7')!.status, STATUSES.RECEIVED);
    await fresh.close();

    // The first gateway's data directory is replaced (new box, same gatewayId): its consumer is ahead of the
    // empty cache, so it is recreated from the cache's position and the stream is replayed.
    await gw.close();
    rmSync(tmp.dir, { recursive: true, force: true });
    gw = new Gw(nats.url, tmp.dir, 'gw-boot');
    await until('bootstrap of a replaced data directory', () => gw.status.lastSeq === last, 60_000);
    assert.ok(gw.status.recreated >= 1, 'consumer recreated');
    assert.is(gw.cache.getSerial(G, 'X0')!.status, STATUSES.RECEIVED, 'the first message too');
    assert.is(gw.cache.getSerial(G, 'S299-199')!.status, STATUSES.PACKED);
  } finally {
    await gw.close();
    await c.nc.close();
    await proxy.close();
    await nats.dispose();
    tmp.dispose();
    tmp2.dispose();
  }
}, 120_000);

test('uplink-sync - queries: serial, code, container, status, and invalid requests', async () => {
  const nats = await startNats();
  const tmp = tempDir();
  const gw = new Gw(nats.url, tmp.dir, 'gw-q');
  const nc = await connect({ servers: nats.url });
  try {
    await gw.cache.putSerial(G, 'Q1', { ...newRecord(STATUSES.PACKED, 'L1', '2030-12-31'), parent: '095201234567890122' });
    await until('connected', () => gw.uplink.link.stats.connected);
    await sleep(100);
    const ask = async (req: unknown) => (await nc.request(`scangate.v1.query.${SITE}.gw-q`, typeof req === 'string' ? req : JSON.stringify(req), { timeout: 2000 })).json<Record<string, unknown>>();
    const s = await ask({ type: 'serial', gtin: G, serial: 'Q1' });
    assert.is(s.ok, true);
    assert.is(s.found, true);
    assert.is(s.status, 'PACKED');
    assert.is(s.parent, '095201234567890122');
    const byCode = await ask({ type: 'code', code: `]d201${G}1730123110L1<GS>21Q1` });
    assert.is(byCode.status, 'PACKED', 'a read as the scanner sends it');
    assert.equal(await ask({ type: 'serial', gtin: G, serial: 'nope' }), { ok: true, found: false, gtin: G, serial: 'nope' });
    const st = await ask({ type: 'status' });
    assert.is(st.gatewayId, 'gw-q');
    assert.ok(st.outbox !== undefined && st.uplink !== undefined);
    const bad = await ask('not json');
    assert.is(bad.error, 'SG_ERR_QUERY_INVALID');
    assert.is((await ask({ type: 'serial', gtin: '123' })).ok, false);
    assert.is(gw.uplink.query!.stats.requests, 6);
  } finally {
    await nc.close();
    await gw.close();
    await nats.dispose();
    tmp.dispose();
  }
});

test.run();
