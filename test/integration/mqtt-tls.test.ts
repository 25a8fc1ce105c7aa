/**
 * TLS, mutual TLS and WebSocket listeners of the embedded broker, with certificates made here (openssl):
 * a trusted client certificate names its user; no certificate, or one from another CA, is refused.
 */
import { connect as tlsConnect } from 'node:tls';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { hashPassword } from '../../adapters/mqtt/auth.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { demoGtin, dm, silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { connectClient, refusal, subscribeGranted } from '../helpers/mqtt-client.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-tls');
const T = 'scangate/v1/demo';
const G = demoGtin(41);
let pki: TestPki;
const opened: { gw: Gateway; dispose: () => void }[] = [];

async function gateway(mqtt: Record<string, unknown>): Promise<Gateway> {
  const tmp = tempDir('sg-mqtls-');
  const cfg = testConfig(tmp.dir, 'nats://127.0.0.1:1', {
    site: { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'pack', operation: 'pack' }, { id: 'aggregate', operation: 'aggregate' }] }] },
    mqtt: mqtt as never,
  });
  const gw = await startGateway(cfg, silentLog);
  opened.push({ gw, dispose: tmp.dispose });
  return gw;
}

test.before(() => {
  pki = makePki();
});

test.after(async () => {
  for (const o of opened) {
    await o.gw.close();
    o.dispose();
  }
  pki?.dispose();
});

test('mqtt-tls - TLS listener: mqtts with the CA works end to end; plain MQTT on the TLS port does not', async () => {
  const gw = await gateway({ tls: { enabled: true, host: '127.0.0.1', port: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile } });
  assert.ok(gw.mqtt.tlsPort > 0);
  const c = await connectClient(`mqtts://127.0.0.1:${gw.mqtt.tlsPort}`, { ca: pki.ca, clientId: 'tls-anon' });
  await subscribeGranted(c, [`${T}/L1/pack/verdict`]);
  await c.client.publishAsync(`${T}/L1/pack/read`, dm(G, 'T1'), { qos: 1 });
  assert.is((await c.waitFor(1))[0]?.json<{ reason: string }>().reason, 'UNKNOWN_SERIAL');
  await c.end();
  assert.type(await refusal(`mqtt://127.0.0.1:${gw.mqtt.tlsPort}`, { connectTimeout: 1500 }), 'string', 'plain MQTT is not spoken there');
  assert.type(await refusal(`mqtts://127.0.0.1:${gw.mqtt.tlsPort}`, { connectTimeout: 1500 }), 'string', 'an untrusted server certificate is refused by the client');
});

test('mqtt-tls - mutual TLS: a trusted certificate is the identity; none, or another CA\'s, is refused and counted', async () => {
  const gw = await gateway({
    tcpEnabled: false,
    users: [
      { username: 'cam1', role: 'scanner', stations: ['L1/aggregate'] }, // certificate only
      { username: 'scan1', role: 'scanner', stations: ['L1/pack'], passwordHash: await hashPassword('scan1-secret', 10) },
    ],
    tls: { enabled: true, host: '127.0.0.1', port: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, clientCertRequired: true },
  });
  const url = `mqtts://127.0.0.1:${gw.mqtt.tlsPort}`;
  assert.is(gw.mqtt.port, 0, 'no plain listener');
  const cam = pki.client('cam1');
  const c = await connectClient(url, { ca: pki.ca, cert: cam.cert, key: cam.key, clientId: 'cam1' });
  assert.equal(await subscribeGranted(c, [`${T}/L1/aggregate/verdict`, `${T}/L1/pack/verdict`]), [1, 128], 'the scanner role of cam1');
  await c.client.publishAsync(`${T}/L1/aggregate/read`, dm(G, 'T2'), { qos: 1 });
  assert.is((await c.waitFor(1))[0]?.topic, `${T}/L1/aggregate/verdict`);
  c.client.publish(`${T}/L1/pack/read`, dm(G, 'T3'), { qos: 1 });
  await c.closed(3000);

  // No certificate at all: the TLS handshake fails.
  assert.type(await refusal(url, { ca: pki.ca, clientId: 'nocert', connectTimeout: 2000 }), 'string');
  // A certificate from a CA the gateway does not trust.
  const rogue = pki.rogueClient('cam1');
  assert.type(await refusal(url, { ca: pki.ca, cert: rogue.cert, key: rogue.key, clientId: 'cam1', connectTimeout: 2000 }), 'string');
  // A trusted certificate whose CN is no configured user.
  const stranger = pki.client('stranger');
  assert.is(await refusal(url, { ca: pki.ca, cert: stranger.cert, key: stranger.key, clientId: 'stranger' }), 5);
  // A trusted certificate with another user's name in CONNECT.
  assert.is(await refusal(url, { ca: pki.ca, cert: cam.cert, key: cam.key, clientId: 'scan1', username: 'scan1', password: 'scan1-secret' }), 5);
  const end = Date.now() + 2000;
  while (gw.mqtt.stats.refusalCount('certificate') + gw.mqtt.stats.refusalCount('tls_handshake') < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gw.mqtt.stats.refusalCount('certificate') + gw.mqtt.stats.refusalCount('tls_handshake') >= 4, JSON.stringify(gw.mqtt.stats.refusalsByReason()));
  assert.is(gw.mqtt.stats.refusalCount('publish_denied'), 1);
});

test('mqtt-tls - a raw TLS client that never completes the handshake is cut off (connect timeout)', async () => {
  const gw = await gateway({ limits: { connectTimeoutMs: 300 }, tls: { enabled: true, host: '127.0.0.1', port: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile } });
  const s = tlsConnect({ host: '127.0.0.1', port: gw.mqtt.tlsPort, ca: pki.ca, servername: 'localhost' });
  s.on('error', () => undefined);
  const t0 = Date.now();
  await new Promise<void>((r) => s.once('close', () => r()));
  assert.ok(Date.now() - t0 < 3000);
  assert.ok(gw.mqtt.stats.refusalCount('connect_timeout') >= 1);
});

test('mqtt-tls - WebSocket listener: ws:// and wss:// carry MQTT end to end', async () => {
  const gw = await gateway({
    websocket: { enabled: true, host: '127.0.0.1', port: 0, path: '/mqtt' },
  });
  assert.ok(gw.mqtt.wsPort > 0);
  const c = await connectClient(`ws://127.0.0.1:${gw.mqtt.wsPort}/mqtt`, { clientId: 'ws-hmi' });
  await subscribeGranted(c, [`${T}/L1/+/verdict`]);
  await c.client.publishAsync(`${T}/L1/pack/read`, JSON.stringify({ code: dm(G, 'W1'), seq: 1, device: 'hmi' }), { qos: 1 });
  const v = (await c.waitFor(1))[0]?.json<{ reason: string; seq: number }>();
  assert.is(v?.reason, 'UNKNOWN_SERIAL');
  assert.is(v?.seq, 1);
  await c.end();
  const res = await fetch(`http://127.0.0.1:${gw.mqtt.wsPort}/mqtt`);
  assert.is(res.status, 426, 'plain HTTP is told to upgrade');

  const secure = await gateway({
    tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile },
    websocket: { enabled: true, host: '127.0.0.1', port: 0, path: '/mqtt', tls: true },
  });
  const w = await connectClient(`wss://127.0.0.1:${secure.mqtt.wsPort}/mqtt`, { ca: pki.ca, clientId: 'wss-hmi' });
  await subscribeGranted(w, [`${T}/L1/pack/verdict`]);
  await w.client.publishAsync(`${T}/L1/pack/read`, dm(G, 'W2'), { qos: 1 });
  assert.is((await w.waitFor(1)).length, 1);
  await w.end();
});

test.run();
