/**
 * External-broker mode against a real Mosquitto started here: reads and verdicts through the broker, the
 * retained state and the last will, the persistent session (reads published while the gateway is away are
 * decided when it returns), shared subscriptions splitting the reads between two gateways (each read decided
 * once), the control topic, and Debian's mosquitto_pub as the scanner.
 */
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { demoGtin, dm, silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { mosquittoCli, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { connectClient, subscribeGranted, type TestClient } from '../helpers/mqtt-client.js';
import { runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-external');
const T = 'scangate/v1/demo/L1';
const G = demoGtin(71);
let mosq: Mosquitto;
const dirs: ReturnType<typeof tempDir>[] = [];
const gateways: Gateway[] = [];

async function external(gatewayId: string, extra: Record<string, unknown> = {}, dir?: string): Promise<Gateway> {
  let d = dir;
  if (d === undefined) {
    const t = tempDir('sg-mqext-');
    dirs.push(t);
    d = t.dir;
  }
  const gw = await startGateway(
    testConfig(d, 'nats://127.0.0.1:1', { gatewayId, mqtt: { mode: 'external', external: { url: mosq.url, reconnectPeriodMs: 100, ...extra } } as never }),
    silentLog,
  );
  gateways.push(gw);
  await gw.mqtt.ready;
  return gw;
}

async function stop(gw: Gateway): Promise<void> {
  gateways.splice(gateways.indexOf(gw), 1);
  await gw.close();
}

async function watcher(filters: string[]): Promise<TestClient> {
  const c = await connectClient(mosq.url);
  await subscribeGranted(c, filters);
  return c;
}

test.before(async () => {
  mosq = await startMosquitto();
});

test.after(async () => {
  for (const g of gateways.splice(0)) await g.close();
  await mosq?.dispose();
  for (const d of dirs) d.dispose();
});

test('mqtt-external - reads through Mosquitto get verdicts and rejects; the state is retained online, then offline', async () => {
  const gw = await external('gx1');
  assert.is(gw.mqtt.mode, 'external');
  const w = await watcher([`${T}/+/verdict`, `${T}/+/reject`, 'scangate/v1/demo/gateway/+/state']);
  const state = await w.waitFor(1, 3000, (m) => m.topic.endsWith('/state'));
  assert.equal(state.map((m) => [m.payload.toString(), m.retain]), [['online', true]]);
  const s = await connectClient(mosq.url);
  await s.client.publishAsync(`${T}/pack/read`, JSON.stringify({ code: dm(G, 'E1'), seq: 1, device: 's' }), { qos: 1 });
  await s.client.publishAsync(`${T}/ghost/read`, dm(G, 'E2'), { qos: 1 });
  const got = await w.waitFor(5, 5000, (m) => !m.topic.endsWith('/state'));
  assert.ok(got.some((m) => m.topic === `${T}/pack/verdict` && m.json<{ reason: string; seq: number }>().seq === 1));
  assert.ok(got.some((m) => m.topic === `${T}/ghost/reject` && m.json<{ reason: string }>().reason === 'UNAUTHORIZED_STATION'));
  await stop(gw);
  const after = await watcher(['scangate/v1/demo/gateway/gx1/state']);
  assert.is((await after.waitFor(1))[0]?.payload.toString(), 'offline', 'retained offline after a clean stop');
  await Promise.all([w.end(), s.end(), after.end()]);
});

test('mqtt-external - a retained read replayed by the broker at each subscribe is acknowledged, counted and never decided', async () => {
  const s = await connectClient(mosq.url);
  await s.client.publishAsync(`${T}/verify/read`, dm(G, 'R1'), { qos: 1, retain: true });
  await s.end();
  try {
    for (let i = 0; i < 2; i++) {
      // Each start subscribes again, and Mosquitto replays the retained read with RETAIN set.
      const gw = await external(`gret${i}`);
      const t0 = Date.now();
      while (gw.mqtt.stats.retainedIgnored === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
      assert.is(gw.mqtt.stats.retainedIgnored, 1, 'acknowledged and counted');
      assert.is(gw.pipeline.counters.reads, 0, 'not decided');
      await stop(gw);
    }
  } finally {
    // An empty retained publish clears it for the tests after this one.
    const clear = await connectClient(mosq.url);
    await clear.client.publishAsync(`${T}/verify/read`, '', { qos: 1, retain: true });
    await clear.end();
  }
});

test('mqtt-external - persistent session: reads published while the gateway is away are decided when it is back', async () => {
  const t = tempDir('sg-mqext-');
  dirs.push(t);
  const gw = await external('gx2', {}, t.dir);
  await stop(gw);
  const s = await connectClient(mosq.url);
  for (let i = 0; i < 50; i++) await s.client.publishAsync(`${T}/verify/read`, JSON.stringify({ code: dm(G, `Q${i}`), seq: i, device: 'away' }), { qos: 1 });
  const w = await watcher([`${T}/verify/verdict`]);
  const back = await external('gx2', {}, t.dir);
  const got = await w.waitFor(50, 10_000);
  assert.is(new Set(got.map((m) => m.json<{ seq: number }>().seq)).size, 50, 'every read queued in the session was decided');
  assert.is(back.outbox.stats().nextEventSeq - 1, 50, 'once each');
  await stop(back);
  await Promise.all([s.end(), w.end()]);
});

test('mqtt-external - shared subscription: two gateways split the reads and each read is decided once', async () => {
  const a = await external('gxa', { sharedGroup: 'scangate' });
  const b = await external('gxb', { sharedGroup: 'scangate' });
  const w = await watcher([`${T}/verify/verdict`]);
  const s = await connectClient(mosq.url);
  const N = 200;
  for (let i = 0; i < N; i++) await s.client.publishAsync(`${T}/verify/read`, JSON.stringify({ code: dm(G, `S${i}`), seq: i, device: 'shared' }), { qos: 1 });
  const got = await w.waitFor(N, 10_000);
  await new Promise((r) => setTimeout(r, 200));
  const seqs = got.map((m) => m.json<{ seq: number }>().seq);
  assert.is(seqs.length, N, 'one verdict per read, not one per gateway');
  assert.is(new Set(seqs).size, N);
  const ea = a.outbox.stats().nextEventSeq - 1;
  const eb = b.outbox.stats().nextEventSeq - 1;
  assert.is(ea + eb, N, `events ${ea} + ${eb}`);
  assert.ok(ea > 0 && eb > 0, `both gateways took a share (${ea}/${eb})`);
  await stop(a);
  await stop(b);
  await Promise.all([s.end(), w.end()]);
});

test('mqtt-external - control commands through the broker are answered on control/reply', async () => {
  const gw = await external('gxc');
  const w = await watcher([`${T}/+/control/reply`]);
  const s = await connectClient(mosq.url);
  await s.client.publishAsync(`${T}/aggregate/control`, JSON.stringify({ cmd: 'setOrder', gtins: [G], id: 'x1' }), { qos: 1 });
  const r = (await w.waitFor(1, 5000))[0]?.json<{ id: string; ok: boolean }>();
  assert.is(r?.id, 'x1');
  assert.is(r?.ok, true);
  await stop(gw);
  await Promise.all([s.end(), w.end()]);
});

test('mqtt-external - mosquitto_pub as the scanner, through Mosquitto', async () => {
  const gw = await external('gxm');
  const w = await watcher([`${T}/pack/reject`]);
  const pub = await mosquittoCli('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosq.port), '-q', '1', '-t', `${T}/pack/read`, '-m', 'NOREAD']);
  assert.is(pub.code, 0, pub.stderr);
  assert.is((await w.waitFor(1, 5000))[0]?.json<{ reason: string }>().reason, 'NO_READ');
  await stop(gw);
  await w.end();
});

test('mqtt-external - SIGKILL: the broker publishes the last will, state offline (retained)', async () => {
  const t = tempDir('sg-mqext-');
  dirs.push(t);
  const p = runScangate(['start'], {
    SCANGATE_DATA_DIR: t.dir,
    SCANGATE_GATEWAY_ID: 'gxwill',
    SCANGATE_MQTT_MODE: 'external',
    SCANGATE_MQTT_EXTERNAL_URL: mosq.url,
    SCANGATE_HTTP_ENABLED: 'false',
    SCANGATE_NATS_SERVERS: 'nats://127.0.0.1:1',
  });
  try {
    await p.waitFor(/connected to the external MQTT broker/, 15_000);
    const w = await watcher(['scangate/v1/demo/gateway/gxwill/state']);
    assert.is((await w.waitFor(1))[0]?.payload.toString(), 'online');
    p.child.kill('SIGKILL');
    await p.exited();
    const got = await w.waitFor(2, 5000);
    assert.is(got[1]?.payload.toString(), 'offline', 'the will');
    await w.end();
    const late = await watcher(['scangate/v1/demo/gateway/gxwill/state']);
    const retained = (await late.waitFor(1))[0];
    assert.is(retained?.payload.toString(), 'offline');
    assert.is(retained?.retain, true);
    await late.end();
  } finally {
    p.child.kill('SIGKILL');
  }
}, 40_000);

test.run();
