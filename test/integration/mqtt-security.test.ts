/**
 * Security of the embedded broker, each rule attacked by a real mqtt.js client (or a raw socket): passwords,
 * client ids bound to users, anonymous access, publish and subscribe ACLs per role (wildcards included),
 * gateway-only topics, and every limit. Every refusal must be counted under its reason.
 */
import { connect as tcpConnect } from 'node:net';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { hashPassword } from '../../adapters/mqtt/auth.js';
import type { ConfigInput } from '../../gateway/config/index.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, waitUntil } from '../helpers/gateway.js';
import { connectClient, refusal, subscribeGranted, type TestClient } from '../helpers/mqtt-client.js';
import { connectPacket, publishPacket, subscribePacket } from '../../simulator/wire.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-security');
const PW: Record<string, string> = { scan1: 'scan1-secret', plc1: 'plc1-secret', mon: 'mon-secret', root: 'root-secret' };
const T = 'scangate/v1/demo';
const G = demoGtin(31);
const lines: ConfigInput['site'] = {
  id: 'demo',
  lines: [
    { id: 'L1', stations: [{ id: 'pack', operation: 'pack' }, { id: 'ship', operation: 'ship' }] },
    { id: 'L2', stations: [{ id: 'pack', operation: 'pack' }] },
  ],
};
const opened: { gw: Gateway; dispose: () => void }[] = [];
const clients: TestClient[] = [];
let users: NonNullable<NonNullable<ConfigInput['mqtt']>['users']> = [];
let main: Gateway;
let url = '';

async function gateway(mqtt: ConfigInput['mqtt']): Promise<Gateway> {
  const tmp = tempDir('sg-mqsec-');
  const gw = await startGateway(testConfig(tmp.dir, 'nats://127.0.0.1:1', { site: lines, mqtt: { users, ...mqtt } }), silentLog);
  opened.push({ gw, dispose: tmp.dispose });
  return gw;
}

async function as(user: string | null, extra: Parameters<typeof connectClient>[1] = {}, at = url): Promise<TestClient> {
  const c = await connectClient(at, user === null ? extra : { username: user, password: PW[user], clientId: `${user}-${clients.length}`, ...extra });
  clients.push(c);
  return c;
}

const refused = (gw: Gateway, reason: string) => gw.mqtt.stats.refusalCount(reason as never);

test.before(async () => {
  users = [
    { username: 'scan1', passwordHash: await hashPassword(PW.scan1!, 10), role: 'scanner', stations: ['L1/pack'] },
    { username: 'plc1', passwordHash: await hashPassword(PW.plc1!, 10), role: 'lineController', lines: ['L1'] },
    { username: 'mon', passwordHash: await hashPassword(PW.mon!, 10), role: 'monitor' },
    { username: 'root', passwordHash: await hashPassword(PW.root!, 10), role: 'admin' },
  ];
  main = await gateway({
    limits: { maxPacketBytes: 8192, maxTopicLevels: 12, connectTimeoutMs: 400, drainTimeoutMs: 1000, subscriberQueueMaxBytes: 16_384, maxConnectsPerAddressPerS: 10_000 },
  });
  url = `mqtt://127.0.0.1:${main.mqttPort}`;
});

test.after(async () => {
  for (const c of clients) await c.end();
  for (const o of opened) {
    await o.gw.close();
    o.dispose();
  }
});

test('mqtt-security - a user with its password connects; a wrong password or an unknown user is refused (4) and counted', async () => {
  const ok = await as('scan1');
  assert.ok(ok.client.connected);
  const before = refused(main, 'bad_credentials');
  assert.is(await refusal(url, { username: 'scan1', password: 'guess', clientId: 'scan1' }), 4);
  assert.is(await refusal(url, { username: 'nobody', password: 'x', clientId: 'nobody' }), 4);
  assert.is(await refusal(url, { username: 'scan1', clientId: 'scan1-np' }), 4, 'no password');
  assert.is(refused(main, 'bad_credentials'), before + 3);
});

test('mqtt-security - a client id belongs to its user: another user\'s id, or an anonymous client with it, is refused', async () => {
  const before = refused(main, 'client_id');
  assert.is(await refusal(url, { username: 'scan1', password: PW.scan1, clientId: 'plc1' }), 2);
  assert.is(await refusal(url, { username: 'scan1', password: PW.scan1, clientId: 'intruder' }), 2);
  assert.is(await refusal(url, { clientId: 'plc1-takeover' }), 2, 'anonymous from loopback may not take a user\'s session');
  assert.is(refused(main, 'client_id'), before + 3);
  assert.is(await refusal(url, { username: 'scan1', password: PW.scan1, clientId: 'scan1-handheld' }), null);
});

test('mqtt-security - anonymous clients: accepted from loopback by default, refused when disabled', async () => {
  assert.is(await refusal(url, { clientId: 'anon-tool' }), null);
  const strict = await gateway({ allowAnonymousLoopback: false });
  const u = `mqtt://127.0.0.1:${strict.mqttPort}`;
  assert.is(await refusal(u, { clientId: 'anon-tool' }), 5);
  assert.is(refused(strict, 'anonymous'), 1);
  assert.is(await refusal(u, { username: 'root', password: PW.root, clientId: 'root' }), null, 'users still connect');
});

test('mqtt-security - scanner: a read for its station is decided; for another station it is refused and the client disconnected', async () => {
  const s = await as('scan1');
  assert.equal(await subscribeGranted(s, [`${T}/L1/pack/verdict`]), [1]);
  await s.client.publishAsync(`${T}/L1/pack/read`, dm(G, 'A1'), { qos: 1 });
  assert.is((await s.waitFor(1))[0]?.json<{ reason: string }>().reason, 'UNKNOWN_SERIAL');
  const reads = main.pipeline.counters.reads;
  const before = refused(main, 'publish_denied');
  for (const topic of [`${T}/L1/ship/read`, `${T}/L2/pack/read`, `${T}/L1/pack/control`, 'elsewhere/topic']) {
    const c = await as('scan1');
    c.client.publish(topic, dm(G, 'A2'), { qos: 1 });
    await c.closed(3000);
  }
  assert.is(refused(main, 'publish_denied'), before + 4);
  assert.is(main.pipeline.counters.reads, reads, 'nothing refused was decided');
});

test('mqtt-security - no client publishes on verdict, reject, reply or state topics, not even an admin', async () => {
  const watcher = await as('mon');
  await subscribeGranted(watcher, [`${T}/#`]);
  const before = refused(main, 'gateway_topic');
  for (const [user, topic] of [
    ['root', `${T}/L1/pack/verdict`],
    ['root', `${T}/L1/pack/reject`],
    ['plc1', `${T}/L1/pack/control/reply`],
    ['root', `${T}/gateway/gw-test/state`],
    [null, `${T}/L1/pack/verdict`],
  ] as const) {
    const c = await as(user, user === null ? { clientId: `anon-${Math.random()}` } : {});
    c.client.publish(topic, '{"verdict":"accept","reason":"OK"}', { qos: 1 });
    await c.closed(3000);
  }
  assert.is(refused(main, 'gateway_topic'), before + 5);
  await new Promise((r) => setTimeout(r, 200));
  assert.not.ok(watcher.messages.some((m) => m.payload.toString().includes('"verdict":"accept","reason":"OK"}')), 'no forged verdict was delivered');
});

test('mqtt-security - line controller: only control of its lines; a read is refused', async () => {
  const p = await as('plc1');
  const granted = await subscribeGranted(p, [`${T}/L1/+/control/reply`]);
  assert.equal(granted, [1]);
  await p.client.publishAsync(`${T}/L1/pack/control`, '{"cmd":"closeContainer","id":"c1"}', { qos: 1 });
  const reply = (await p.waitFor(1))[0];
  assert.is(reply?.topic, `${T}/L1/pack/control/reply`);
  for (const topic of [`${T}/L2/pack/control`, `${T}/L1/pack/read`]) {
    const c = await as('plc1');
    c.client.publish(topic, '{"cmd":"closeContainer"}', { qos: 1 });
    await c.closed(3000);
  }
});

test('mqtt-security - monitor publishes nothing', async () => {
  const before = refused(main, 'publish_denied');
  for (const topic of [`${T}/L1/pack/read`, `${T}/L1/pack/control`, 'any/topic']) {
    const c = await as('mon');
    c.client.publish(topic, 'x', { qos: 0 });
    await c.closed(3000);
  }
  assert.is(refused(main, 'publish_denied'), before + 3);
});

test('mqtt-security - subscriptions: wildcards never widen a role (SUBACK 0x80, connection kept, counted)', async () => {
  const before = refused(main, 'subscribe_denied');
  const s = await as('scan1');
  assert.equal(await subscribeGranted(s, ['#', `${T}/#`, `${T}/L1/+/verdict`, `${T}/L1/pack/+`, `${T}/L1/pack/#`, `${T}/L1/ship/verdict`, `${T}/L1/pack/read`, '$SYS/#']), [128, 128, 128, 128, 128, 128, 128, 128]);
  assert.equal(await subscribeGranted(s, [`${T}/L1/pack/verdict`, `${T}/L1/pack/reject`, `${T}/gateway/+/state`]), [1, 1, 1]);
  const p = await as('plc1');
  assert.equal(await subscribeGranted(p, [`${T}/+/+/verdict`, `${T}/L2/+/verdict`, `${T}/L1/#`, `${T}/L1/+/read`, '#']), [128, 128, 128, 128, 128]);
  assert.equal(await subscribeGranted(p, [`${T}/L1/+/verdict`, `${T}/L1/+/reject`, `${T}/L1/pack/control/reply`]), [1, 1, 1]);
  const m = await as('mon');
  assert.equal(await subscribeGranted(m, ['#', '$SYS/#', 'scangate/v1/other/#']), [128, 128, 128]);
  assert.equal(await subscribeGranted(m, [`${T}/#`, `${T}/+/+/read`]), [1, 1]);
  const r = await as('root');
  assert.equal(await subscribeGranted(r, ['#', '$SYS/#']), [1, 1]);
  assert.is(refused(main, 'subscribe_denied'), before + 16);
  assert.ok(s.client.connected && p.client.connected && m.client.connected, 'a refused subscription does not disconnect');
});

test('mqtt-security - a subscriber receives only what its filter was granted for', async () => {
  const p = await as('plc1');
  await subscribeGranted(p, [`${T}/L1/+/verdict`, `${T}/L2/+/verdict`]);
  const root = await as('root');
  await root.client.publishAsync(`${T}/L2/pack/read`, dm(G, 'B1'), { qos: 1 });
  await root.client.publishAsync(`${T}/L1/pack/read`, dm(G, 'B2'), { qos: 1 });
  const got = await p.waitFor(1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got.map((m) => m.topic), [`${T}/L1/pack/verdict`], 'L2 verdicts never reach the L1 controller');
});

test('mqtt-security - limits: a packet over maxPacketBytes closes the connection before it is buffered', async () => {
  const before = refused(main, 'packet_too_large');
  const c = await as('scan1');
  c.client.publish(`${T}/L1/pack/read`, Buffer.alloc(10_000, 0x41), { qos: 1 });
  await c.closed(3000);
  assert.is(refused(main, 'packet_too_large'), before + 1);
  // A raw client announcing a 100 MB packet is cut off at the length, without sending the body.
  const raw = tcpConnect(main.mqttPort, '127.0.0.1');
  await new Promise<void>((r) => raw.once('connect', () => r()));
  raw.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x30])); // CONNECT, remaining length 100 663 296
  await new Promise<void>((r) => raw.once('close', () => r()));
  assert.is(refused(main, 'packet_too_large'), before + 2);
});

test('mqtt-security - limits: too many topic levels, on publish and on subscribe', async () => {
  const before = refused(main, 'topic_levels');
  const deep = `${T}/${'x/'.repeat(15)}read`;
  const a = await as('root');
  a.client.publish(deep, 'x', { qos: 1 });
  await a.closed(3000);
  const b = await as('root');
  b.client.subscribe(`${T}/${'+/'.repeat(15)}#`, { qos: 1 });
  await b.closed(3000);
  assert.is(refused(main, 'topic_levels'), before + 2);
});

test('mqtt-security - protocol errors (wildcards in a PUBLISH topic, # inside a filter) disconnect the client, logged and counted', async () => {
  const before = refused(main, 'protocol');
  const send = async (packets: Buffer[]) => {
    const raw = tcpConnect(main.mqttPort, '127.0.0.1');
    await new Promise<void>((r) => raw.once('connect', () => r()));
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.on('error', () => undefined);
    const connack = new Promise<void>((r) => raw.once('data', () => r()));
    raw.write(connectPacket(`root-raw-${packets.length}-${Date.now()}`, true, 30, 'root', PW.root));
    await connack; // (the password is checked asynchronously: a packet before the CONNACK is not yet taken)
    for (const p of packets) raw.write(p);
    await closed;
  };
  await send([publishPacket(`${T}/L1/+/read`, 'x', 0)]);
  await send([publishPacket(`${T}/#`, 'x', 0)]);
  await send([subscribePacket(1, ['a/#/b'], 0)]);
  await waitUntil(() => refused(main, 'protocol') === before + 3, 3000, 'three protocol refusals counted');
});

test('mqtt-security - limits: a connection that never sends CONNECT is closed after connectTimeoutMs', async () => {
  const before = refused(main, 'connect_timeout');
  const raw = tcpConnect(main.mqttPort, '127.0.0.1');
  const t0 = Date.now();
  await new Promise<void>((r) => raw.once('close', () => r()));
  const ms = Date.now() - t0;
  assert.ok(ms >= 350 && ms < 3000, `closed after ${ms} ms`);
  assert.is(refused(main, 'connect_timeout'), before + 1);
});

test('mqtt-security - limits: maxConnections and maxConnectsPerAddressPerS', async () => {
  const small = await gateway({ limits: { maxConnections: 3, maxConnectsPerAddressPerS: 1000 } });
  const u = `mqtt://127.0.0.1:${small.mqttPort}`;
  const held = [await as(null, { clientId: 'h1' }, u), await as(null, { clientId: 'h2' }, u), await as(null, { clientId: 'h3' }, u)];
  assert.type(await refusal(u, { clientId: 'h4', connectTimeout: 1000 }), 'string', 'the 4th is closed at once');
  assert.is(refused(small, 'max_connections'), 1);
  await held[0]!.end();
  await new Promise((r) => setTimeout(r, 100));
  assert.is(await refusal(u, { clientId: 'h5' }), null, 'room again once one left');

  const rate = await gateway({ limits: { maxConnectsPerAddressPerS: 3 } });
  const ru = `mqtt://127.0.0.1:${rate.mqttPort}`;
  // Align with the start of a one-second window so the burst falls in one window.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
  const outcomes: (string | number | null)[] = [];
  for (let i = 0; i < 6; i++) outcomes.push(await refusal(ru, { clientId: `r${i}`, connectTimeout: 1000 }));
  assert.ok(outcomes.filter((o) => o === null).length <= 4, JSON.stringify(outcomes));
  assert.ok(refused(rate, 'connect_rate') >= 2, `connect_rate refusals: ${refused(rate, 'connect_rate')}`);
  await new Promise((r) => setTimeout(r, 1100));
  assert.is(await refusal(ru, { clientId: 'later' }), null, 'accepted again in the next second');
});

test('mqtt-security - a subscriber that stops reading never slows ingest or other subscribers; it is dropped, then disconnected', async () => {
  // Only the clients of this test: the others live in this busy process too and would be slow readers.
  for (const c of clients.splice(0)) await c.end();
  // A raw subscriber that subscribes to every verdict and then never reads its socket again.
  const frozen = tcpConnect(main.mqttPort, '127.0.0.1');
  await new Promise<void>((r) => frozen.once('connect', () => r()));
  const id = Buffer.from('frozen-sub');
  const connectPkt = Buffer.concat([Buffer.from([0x10, 12 + id.length, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, id.length]), id]);
  const filter = Buffer.from(`${T}/+/+/verdict`);
  const sub = Buffer.concat([Buffer.from([0x82, 5 + filter.length, 0, 1, 0, filter.length]), filter, Buffer.from([1])]);
  frozen.write(Buffer.concat([connectPkt, sub]));
  await new Promise((r) => setTimeout(r, 200));
  frozen.pause(); // stop reading: the kernel buffers fill, then the broker's
  frozen.on('error', () => undefined);
  const slowBefore = refused(main, 'slow_subscriber');

  const healthy = await as('plc1');
  await subscribeGranted(healthy, [`${T}/L1/+/verdict`]);
  const scanner = await as('scan1');
  const dropsBefore = main.mqtt.stats.droppedToSlowSubscribers;
  // Large verdicts (the code is echoed) fill the frozen socket's kernel buffers (several MB on loopback) fast.
  const big = 'X'.repeat(4000); // (under the 4,096 characters of a code: a longer one is refused and not echoed)
  const N = 4000;
  const t0 = Date.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) acks.push(scanner.client.publishAsync(`${T}/L1/pack/read`, JSON.stringify({ code: dm(G, `F${i}${big}`), device: 'f', seq: i }), { qos: 1 }));
  await Promise.all(acks);
  const ms = Date.now() - t0;
  const got = await healthy.waitFor(N, 20_000);
  assert.is(got.length, N, 'the healthy subscriber got every verdict');
  assert.ok(ms < 15_000, `ingest of ${N} reads took ${ms} ms`);
  assert.ok(main.mqtt.stats.droppedToSlowSubscribers > dropsBefore, 'messages for the frozen subscriber were dropped (counted)');
  // (A paused socket does not notice the close itself: the broker's side is checked.)
  const end = Date.now() + 5000;
  while (refused(main, 'slow_subscriber') === slowBefore && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.is(refused(main, 'slow_subscriber'), slowBefore + 1, 'the frozen subscriber was disconnected after drainTimeoutMs');
  assert.ok(healthy.client.connected, 'the healthy subscriber is still connected');
  frozen.destroy();
}, 60_000);

test.run();
