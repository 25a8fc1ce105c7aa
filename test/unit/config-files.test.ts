/**
 * `scangate config check` reads the files `scangate start` reads before it is up (NATS credentials and TLS, MQTT
 * TLS) with the same functions: every problem start would stop at, with start's own code, message and hint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileProblems } from '../../cli/commands/config.js';
import { loadConfig } from '../../gateway/config/index.js';
import { connectionOptions } from '../../adapters/nats/auth.js';
import { loadTls } from '../../adapters/mqtt/tls.js';
import { GatewayError } from '../../gateway/errors.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('config-files');

let pki: TestPki;
let tmp: { dir: string; dispose: () => void };

test.before(() => {
  pki = makePki();
  tmp = tempDir('sg-config-files-');
});
test.after(() => {
  pki.dispose();
  tmp.dispose();
});

const configOf = (env: Record<string, string>) => loadConfig({ env, cwd: '/nonexistent' }).config;
const lines = (ps: GatewayError[]) => ps.map((p) => `${p.code} ${p.message.split(':')[0]}`);

/** What a function throws, as start would get it. */
function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('nothing thrown');
}

test('config-files - defaults name no file: nothing to refuse', () => {
  assert.equal(fileProblems(configOf({})), []);
});

test('config-files - every missing NATS and MQTT file is listed with its key, not only the first', () => {
  const c = configOf({
    SCANGATE_NATS_CREDS_FILE: '/nope/x.creds',
    SCANGATE_NATS_TLS_CA_FILE: '/nope/ca.pem',
    SCANGATE_MQTT_TLS_ENABLED: 'true',
    SCANGATE_MQTT_TLS_CERT_FILE: '/nope/c.pem',
    SCANGATE_MQTT_TLS_KEY_FILE: '/nope/k.pem',
  });
  const ps = fileProblems(c);
  assert.equal(lines(ps), [
    'SG_ERR_NATS_AUTH cannot read nats.credsFile /nope/x.creds',
    'SG_ERR_NATS_AUTH cannot read nats.tls.caFile /nope/ca.pem',
    'SG_ERR_TLS cannot read mqtt.tls.certFile /nope/c.pem',
    'SG_ERR_TLS cannot read mqtt.tls.keyFile /nope/k.pem',
  ]);
  // The first of each is exactly what start stops with (same code, message and hint).
  const nats = thrown(() => connectionOptions(c.nats, 'scangate-test'));
  assert.equal([ps[0]!.code, ps[0]!.message, ps[0]!.hint], [nats.code, nats.message, nats.hint]);
  assert.match(ps[0]!.hint ?? '', /SCANGATE_NATS_CREDS_FILE/);
  const mqtt = thrown(() => loadTls(c.mqtt.tls, 'mqtt.tls'));
  assert.equal([ps[2]!.code, ps[2]!.message, ps[2]!.hint], [mqtt.code, mqtt.message, mqtt.hint]);
});

test('config-files - files that exist but hold the wrong thing: nkey seed, creds, a key of another certificate', () => {
  const seed = join(tmp.dir, 'user.nk');
  writeFileSync(seed, 'not a seed\n');
  const creds = join(tmp.dir, 'user.creds');
  writeFileSync(creds, 'hello\n');
  const other = pki.client('someone');
  const nk = fileProblems(configOf({ SCANGATE_NATS_NKEY_SEED_FILE: seed }));
  assert.equal(lines(nk), [`SG_ERR_NATS_AUTH nats.nkeySeedFile ${seed} does not hold a user nkey seed (SU...)`]);
  const cr = fileProblems(configOf({ SCANGATE_NATS_CREDS_FILE: creds }));
  assert.equal(lines(cr), [`SG_ERR_NATS_AUTH nats.credsFile ${creds} is not a NATS credentials file (user JWT and seed)`]);
  const mismatched = fileProblems(
    configOf({ SCANGATE_MQTT_WEBSOCKET_ENABLED: 'true', SCANGATE_MQTT_WEBSOCKET_TLS: 'true', SCANGATE_MQTT_TLS_CERT_FILE: pki.server.certFile, SCANGATE_MQTT_TLS_KEY_FILE: other.keyFile }),
  );
  assert.equal(lines(mismatched), ['SG_ERR_TLS the TLS files of mqtt.tls are not usable']);
  assert.match(mismatched[0]!.hint ?? '', /belong together/);
});

test('config-files - usable files pass; only the files of the configured mode are read, as start reads them', () => {
  const good = configOf({
    SCANGATE_NATS_TLS_CA_FILE: pki.caFile,
    SCANGATE_MQTT_TLS_ENABLED: 'true',
    SCANGATE_MQTT_TLS_CERT_FILE: pki.server.certFile,
    SCANGATE_MQTT_TLS_KEY_FILE: pki.server.keyFile,
    SCANGATE_MQTT_TLS_CA_FILE: pki.caFile,
  });
  assert.equal(fileProblems(good), []);
  // External mode: the embedded broker's listener files are never read; the client's are.
  const external = configOf({
    SCANGATE_MQTT_MODE: 'external',
    SCANGATE_MQTT_TLS_ENABLED: 'true',
    SCANGATE_MQTT_TLS_CERT_FILE: '/nope/c.pem',
    SCANGATE_MQTT_TLS_KEY_FILE: '/nope/k.pem',
    SCANGATE_MQTT_EXTERNAL_CA_FILE: '/nope/broker-ca.pem',
  });
  assert.equal(lines(fileProblems(external)), ['SG_ERR_TLS cannot read mqtt.external.caFile /nope/broker-ca.pem']);
  // TLS not enabled: its files are not read at start, so they are not a problem here either.
  assert.equal(fileProblems(configOf({ SCANGATE_MQTT_TLS_CA_FILE: '/nope/ca.pem' })), []);
});

test.run();
