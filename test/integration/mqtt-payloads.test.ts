/**
 * Every payload form on the embedded broker gets a verdict (never a crash, never silence): raw, JSON `code`,
 * JSON `codes` + `parent`, protobuf on `read/pb`, the no-read token, and payloads that are not valid
 * (MALFORMED with a message). Undeclared stations get UNAUTHORIZED_STATION. The reject topic carries rejects
 * only; the verdict QoS is configurable. The control topic answers on control/reply.
 */
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { encodeScanRead } from '../../protocol/index.js';
import { Store } from '../../gateway/store.js';
import { importFile } from '../../gateway/import/index.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { connectClient, subscribeGranted, type TestClient } from '../helpers/mqtt-client.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-payloads');
const T = 'scangate/v1/demo/L1';
const G = demoGtin(51);
let gw: Gateway;
let tmp: ReturnType<typeof tempDir>;
let line: TestClient;

interface V {
  verdict: string;
  reason: string;
  reasonCode: number;
  message?: string;
  seq?: number;
  device?: string;
  serial?: string;
  duplicateRead?: boolean;
  children?: unknown[];
}

test.before(async () => {
  tmp = tempDir('sg-mqpl-');
  const rows: string[][] = [];
  for (let i = 0; i < 20; i++) rows.push([G, `P${i}`, 'LOT1', '2030-12-31', 'RECEIVED']);
  const store = Store.open(tmp.dir);
  await importFile(store, writeCsv(tmp.dir, rows));
  await store.close();
  gw = await startGateway(
    testConfig(tmp.dir, 'nats://127.0.0.1:1', {
      site: {
        id: 'demo',
        lines: [{ id: 'L1', stations: [{ id: 'pack', operation: 'pack', duplicateReadWindowMs: 0 }, { id: 'verify', operation: 'verify' }, { id: 'aggregate', operation: 'aggregate' }] }],
      },
      mqtt: { limits: { maxConnectsPerAddressPerS: 10_000 } } as never, // one connection per read below
    }),
    silentLog,
  );
  line = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'line-hmi' });
  await subscribeGranted(line, [`${T}/+/verdict`, `${T}/+/reject`, `${T}/+/control/reply`]);
});

test.after(async () => {
  await line?.end();
  await gw?.close();
  tmp?.dispose();
});

/** Publish one read and return the verdict and whether it was also on the reject topic. */
async function decide(station: string, payload: string | Buffer, sub = 'read'): Promise<{ v: V; onReject: boolean }> {
  const before = line.messages.length;
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  await c.client.publishAsync(`${T}/${station}/${sub}`, payload, { qos: 1 });
  await c.end();
  await line.waitFor(before + 1, 3000);
  await new Promise((r) => setTimeout(r, 30)); // the reject copy, if any
  const mine = line.messages.slice(before);
  const v = mine.find((m) => m.topic.endsWith('/verdict'));
  assert.ok(v !== undefined, `a verdict for ${String(payload).slice(0, 40)}`);
  return { v: v!.json<V>(), onReject: mine.some((m) => m.topic.endsWith('/reject')) };
}

test('mqtt-payloads - raw, JSON code, protobuf: decided the same way; accepts never on the reject topic', async () => {
  const raw = await decide('pack', dm(G, 'P1'));
  assert.is(raw.v.verdict, 'accept');
  assert.is(raw.onReject, false, 'an accept is not a reject');
  const json = await decide('pack', JSON.stringify({ code: dm(G, 'P2'), seq: 9, device: 'h1', ts: '2026-01-02T03:04:05Z' }));
  assert.is(json.v.verdict, 'accept');
  assert.is(json.v.seq, 9);
  assert.is(json.v.device, 'h1');
  const pb = await decide('pack', Buffer.from(encodeScanRead({ code: dm(G, 'P3'), seq: 10, device: 'cam' })), 'read/pb');
  assert.is(pb.v.verdict, 'accept');
  assert.is(pb.v.seq, 10);
  assert.is(pb.v.serial, 'P3');
  const again = await decide('pack', dm(G, 'P1'));
  assert.is(again.v.verdict, 'reject');
  assert.ok(['WRONG_STATUS', 'DUPLICATE_SERIAL'].includes(again.v.reason), again.v.reason);
  assert.is(again.onReject, true, 'a reject is on both topics');
});

test('mqtt-payloads - no read: empty payload, the NOREAD token, an empty ScanRead', async () => {
  for (const [p, sub] of [['', 'read'], ['NOREAD', 'read'], [Buffer.alloc(0), 'read/pb'], [JSON.stringify({ code: '', seq: 1 }), 'read']] as const) {
    const { v, onReject } = await decide('verify', p, sub);
    assert.is(v.reason, 'NO_READ', String(p));
    assert.is(onReject, true);
  }
});

test('mqtt-payloads - invalid payloads get MALFORMED with a message (never silence, never a crash)', async () => {
  const cases: [string | Buffer, string][] = [
    ['{not json', 'read'],
    ['{"seq":1}', 'read'],
    ['{"code":5}', 'read'],
    ['{"code":"x","seq":-1}', 'read'],
    ['{"code":"x","ts":"yesterday"}', 'read'],
    ['[1,2]', 'read'],
    ['{"codes":[]}', 'read'],
    [JSON.stringify({ codes: new Array(1001).fill('x') }), 'read'],
    [Buffer.from([0xff, 0xff, 0xff, 0xff]), 'read/pb'],
    [Buffer.from(encodeScanRead({ code: 'A', codes: ['B', 'C'] })), 'read/pb'],
    [Buffer.from('{"code":"x"}'), 'read/pb'],
  ];
  for (const [p, sub] of cases) {
    const { v, onReject } = await decide('verify', p, sub);
    assert.is(v.reason, 'MALFORMED', `${sub}: ${String(p).slice(0, 30)}`);
    assert.is(v.reasonCode, 2);
    assert.ok((v.message ?? '').length > 5, `a message for ${String(p).slice(0, 30)}`);
    assert.ok(onReject);
  }
});

test('mqtt-payloads - garbage of every kind: one verdict per read, the gateway keeps running', async () => {
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  const before = line.messages.filter((m) => m.topic === `${T}/verify/verdict`).length;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const N = 200;
  for (let i = 0; i < N; i++) {
    const len = Math.floor(rnd() * 300);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
    if (i % 3 === 0) b[0] = 0x7b; // looks like JSON
    await c.client.publishAsync(`${T}/verify/${i % 2 === 0 ? 'read' : 'read/pb'}`, b, { qos: 1 });
  }
  const got = await line.waitFor(before + N, 5000, (m) => m.topic === `${T}/verify/verdict`);
  assert.is(got.length - before, N, 'one verdict per read');
  await c.end();
});

test('mqtt-payloads - camera reads (codes + parent) get one verdict, with a result per code', async () => {
  const { v } = await decide('aggregate', JSON.stringify({ codes: [dm(G, 'P10'), dm(G, 'P11')], parent: ']C100095201234567890129', seq: 3, device: 'cam' }));
  assert.ok(v.verdict === 'accept' || v.verdict === 'reject');
  assert.is(v.seq, 3);
});

test('mqtt-payloads - an undeclared station is refused with UNAUTHORIZED_STATION, on its own topics', async () => {
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  await subscribeGranted(c, ['scangate/v1/demo/L1/ghost/+', 'scangate/v1/demo/L9/+/reject']);
  await c.client.publishAsync('scangate/v1/demo/L1/ghost/read', dm(G, 'P5'), { qos: 1 });
  await c.client.publishAsync('scangate/v1/demo/L9/pack/read/pb', Buffer.from(encodeScanRead({ code: dm(G, 'P5') })), { qos: 1 });
  const got = await c.waitFor(4, 3000); // L1/ghost/+ also sees the read itself
  const seen = got.map((m) => `${m.topic} ${m.payload.toString().slice(0, 60)}`).join('\n');
  assert.ok(got.some((m) => m.topic === 'scangate/v1/demo/L1/ghost/reject' && m.json<V>().reason === 'UNAUTHORIZED_STATION'), seen);
  assert.ok(got.some((m) => m.topic === 'scangate/v1/demo/L9/pack/reject' && m.json<V>().reasonCode === 23), seen);
  await c.end();
});

test('mqtt-payloads - control: setOrder, openContainer, closeContainer answered on control/reply with the id echoed', async () => {
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  await subscribeGranted(c, [`${T}/aggregate/control/reply`, `${T}/ghost/control/reply`]);
  const send = async (station: string, cmd: unknown) => {
    const n = c.messages.length;
    await c.client.publishAsync(`${T}/${station}/control`, typeof cmd === 'string' ? cmd : JSON.stringify(cmd), { qos: 1 });
    return (await c.waitFor(n + 1, 3000))[n]?.json<Record<string, unknown>>();
  };
  const order = await send('aggregate', { cmd: 'setOrder', gtins: [G], id: 'o-1' });
  assert.is(order?.cmd, 'setOrder');
  assert.is(order?.id, 'o-1');
  assert.is(order?.ok, true, JSON.stringify(order));
  const open = await send('aggregate', { cmd: 'openContainer', sscc: '095201234567890122', capacity: 2, id: 7 });
  assert.is(open?.ok, true, JSON.stringify(open));
  assert.is(open?.id, 7);
  const close = await send('aggregate', { cmd: 'closeContainer' });
  assert.is(close?.cmd, 'closeContainer');
  assert.type(close?.ok, 'boolean');
  const bad = await send('aggregate', '{oops');
  assert.is(bad?.ok, false);
  assert.is(bad?.error, 'MALFORMED');
  const notObject = await send('aggregate', '[1]');
  assert.is(notObject?.error, 'MALFORMED');
  const ghost = await send('ghost', { cmd: 'closeContainer' });
  assert.is(ghost?.error, 'UNAUTHORIZED_STATION');
  const numeric = await send('aggregate', { cmd: 5 });
  assert.match(String(numeric?.error), /^"cmd" must be a string, one of setOrder, openContainer/);
  const dups = await send('aggregate', { cmd: 'setOrder', gtins: Array.from({ length: 5000 }, () => G) });
  assert.equal([dups?.ok, dups?.gtins], [true, [G]], 'the same GTIN named many times is one');
  const huge = await send('aggregate', { cmd: 'setOrder', gtins: Array.from({ length: 1001 }, (_, i) => demoGtin(1000 + i)) });
  assert.equal([huge?.ok, huge?.error], [false, 'an order names at most 1000 GTINs (got 1001 different ones)']);
  await send('aggregate', { cmd: 'setOrder', gtins: [] });
  await c.end();
});

test('mqtt-payloads - a JSON read after a UTF-8 byte order mark is JSON; a retained read is never kept by the broker', async () => {
  const bom = await decide('pack', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ code: dm(G, 'P7'), seq: 77 }))]));
  assert.equal([bom.v.verdict, bom.v.seq, bom.v.serial], ['accept', 77, 'P7']);
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  const n = line.messages.length;
  await c.client.publishAsync(`${T}/verify/read`, dm(G, 'P8'), { qos: 1, retain: true });
  await line.waitFor(n + 1, 3000); // decided as any read
  await c.end();
  const late = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  await subscribeGranted(late, [`${T}/verify/read`]);
  await new Promise((r) => setTimeout(r, 300));
  assert.is(late.messages.length, 0, 'no retained read replayed to a later subscriber');
  await late.end();
});

test('mqtt-payloads - PUBACKs come in PUBLISH order even when a later read needs no disk write', async () => {
  const c = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`);
  const order: string[] = [];
  const done: Promise<void>[] = [];
  const pub = (name: string, topic: string, payload: string) =>
    done.push(new Promise((resolve) => c.client.publish(topic, payload, { qos: 1 }, () => (order.push(name), resolve()))));
  for (let i = 0; i < 20; i++) {
    pub(`new${i}`, `${T}/verify/read`, dm(G, `ORD${i}`)); // an event to store: acknowledged when durable
    pub(`ghost${i}`, 'scangate/v1/demo/L1/ghost/read', 'x'); // nothing to store: could be acknowledged at once
  }
  await Promise.all(done);
  const expected = Array.from({ length: 20 }, (_, i) => [`new${i}`, `ghost${i}`]).flat();
  assert.equal(order, expected, '[MQTT-4.6.0-2]');
  await c.end();
});

test('mqtt-payloads - subscribing, unsubscribing and persistent sessions take effect at once on topics already published to', async () => {
  // Who subscribes to a topic is remembered per topic after its first message: every change must show.
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  await decide('verify', 'NOREAD'); // the verdict and reject topics of verify have been published to
  const late = await connectClient(url, { clientId: 'late-hmi' });
  await subscribeGranted(late, [`${T}/verify/verdict`], 0);
  await decide('verify', 'NOREAD');
  assert.is((await late.waitFor(1, 2000)).length, 1, 'a subscriber that came later gets the next verdict');
  await late.client.unsubscribeAsync(`${T}/verify/verdict`);
  await decide('verify', 'NOREAD');
  await new Promise((r) => setTimeout(r, 100));
  assert.is(late.messages.length, 1, 'nothing after unsubscribing');
  await subscribeGranted(late, [`${T}/+/reject`], 0);
  await decide('verify', 'NOREAD');
  assert.equal((await late.waitFor(2, 2000)).map((m) => m.topic), [`${T}/verify/verdict`, `${T}/verify/reject`], 'another filter matching the same topic');
  await late.end();

  // A persistent session away: its QoS 1 messages are queued while it is subscribed, not after it unsubscribes.
  const opts = { clientId: 'away-hmi', clean: false } as const;
  let away = await connectClient(url, opts);
  await subscribeGranted(away, [`${T}/verify/reject`], 1);
  await away.end();
  await decide('verify', 'NOREAD');
  away = await connectClient(url, opts);
  const queued = await away.waitFor(1, 3000);
  assert.equal(queued.map((m) => m.json<V>().reason), ['NO_READ'], 'the reject sent while away is delivered on return');
  await away.client.unsubscribeAsync(`${T}/verify/reject`);
  await away.end();
  await decide('verify', 'NOREAD');
  away = await connectClient(url, opts);
  await new Promise((r) => setTimeout(r, 200));
  assert.is(away.messages.length, 0, 'nothing queued after unsubscribing');
  await away.end();
});

test('mqtt-payloads - verdict QoS is configurable', async () => {
  const t2 = tempDir('sg-mqqos-');
  const g0 = await startGateway(testConfig(t2.dir, 'nats://127.0.0.1:1', { mqtt: { verdictQos: 0 } as never }), silentLog);
  try {
    const c = await connectClient(`mqtt://127.0.0.1:${g0.mqttPort}`);
    await subscribeGranted(c, ['scangate/v1/demo/L1/verify/verdict'], 1);
    await c.client.publishAsync('scangate/v1/demo/L1/verify/read', dm(G, 'Q0'), { qos: 1 });
    const m = (await c.waitFor(1))[0];
    assert.is(m?.qos, 0, 'published at QoS 0 (a QoS 1 subscription receives it at 0)');
    await c.end();
  } finally {
    await g0.close();
    t2.dispose();
  }
  const m1 = line.messages.find((m) => m.topic.endsWith('/verdict'));
  assert.is(m1?.qos, 1, 'the default is QoS 1');
});

test.run();
