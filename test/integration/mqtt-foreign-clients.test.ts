/**
 * Foreign clients against the embedded broker: the Debian `mosquitto_pub` / `mosquitto_sub` binaries, with
 * and without credentials, reads and verdicts end to end, and refusals they must see.
 */
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { hashPassword } from '../../adapters/mqtt/auth.js';
import { Store } from '../../gateway/store.js';
import { importFile } from '../../gateway/import/index.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { mosquittoCli } from '../helpers/mosquitto.js';
import { assert, suite } from '../helpers/uvu.js';
import { spawn } from 'node:child_process';

const test = suite('mqtt-foreign-clients');
const T = 'scangate/v1/demo/L1';
const G = demoGtin(61);
let gw: Gateway;
let tmp: ReturnType<typeof tempDir>;
let port = '';

test.before(async () => {
  tmp = tempDir('sg-mqfc-');
  const store = Store.open(tmp.dir);
  await importFile(store, writeCsv(tmp.dir, [[G, 'M1', 'LOT1', '2030-12-31', 'RECEIVED'], [G, 'M2', 'LOT1', '2030-12-31', 'RECEIVED']]));
  await store.close();
  gw = await startGateway(
    testConfig(tmp.dir, 'nats://127.0.0.1:1', {
      mqtt: { users: [{ username: 'scan1', passwordHash: await hashPassword('scan1-secret', 10), role: 'scanner', stations: ['L1/pack'] }] } as never,
    }),
    silentLog,
  );
  port = String(gw.mqttPort);
});

test.after(async () => {
  await gw?.close();
  tmp?.dispose();
});

/** Start mosquitto_sub, wait until it is subscribed, and collect `count` messages (-v: "topic payload"). */
function subscriber(args: string[], count: number) {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-v', '-C', String(count), '-W', '10', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return { done, ready: new Promise((r) => setTimeout(r, 300)) };
}

test('mqtt-foreign-clients - mosquitto_pub (QoS 1, anonymous from loopback) → mosquitto_sub gets the verdict', async () => {
  const sub = subscriber(['-t', `${T}/pack/verdict`], 1);
  await sub.ready;
  const pub = await mosquittoCli('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-q', '1', '-t', `${T}/pack/read`, '-m', dm(G, 'M1')]);
  assert.is(pub.code, 0, pub.stderr);
  const r = await sub.done;
  assert.is(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^${T}/pack/verdict \\{`));
  assert.match(r.out, /"verdict":"accept"/);
  assert.match(r.out, /"status":"PACKED"/);
});

test('mqtt-foreign-clients - mosquitto_pub with a user and password; a wrong password fails and is counted', async () => {
  const sub = subscriber(['-t', `${T}/pack/reject`], 1);
  await sub.ready;
  const ok = await mosquittoCli('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-u', 'scan1', '-P', 'scan1-secret', '-i', 'scan1-gun', '-q', '1', '-t', `${T}/pack/read`, '-m', 'NOREAD']);
  assert.is(ok.code, 0, ok.stderr);
  assert.match((await sub.done).out, /"reason":"NO_READ"/);
  const before = gw.mqtt.stats.refusalCount('bad_credentials');
  const bad = await mosquittoCli('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-u', 'scan1', '-P', 'wrong', '-i', 'scan1-gun', '-q', '1', '-t', `${T}/pack/read`, '-m', 'x']);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /not authori[sz]ed|bad user name or password|Connection Refused/i);
  assert.is(gw.mqtt.stats.refusalCount('bad_credentials'), before + 1);
});

test('mqtt-foreign-clients - mosquitto_sub as a scanner cannot read everything (#)', async () => {
  const before = gw.mqtt.stats.refusalCount('subscribe_denied');
  const r = await mosquittoCli('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-u', 'scan1', '-P', 'scan1-secret', '-i', 'scan1-snoop', '-t', '#', '-W', '2'], 5000);
  assert.match(r.stderr + r.stdout, /denied|fail/i, `mosquitto_sub tells: ${r.stderr}`);
  assert.is(gw.mqtt.stats.refusalCount('subscribe_denied'), before + 1);
});

test('mqtt-foreign-clients - mosquitto_pub on a verdict topic is refused (no forged verdicts)', async () => {
  const before = gw.mqtt.stats.refusalCount('gateway_topic');
  await mosquittoCli('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-q', '1', '-t', `${T}/pack/verdict`, '-m', '{"verdict":"accept"}']);
  assert.is(gw.mqtt.stats.refusalCount('gateway_topic'), before + 1);
});

test.run();
