/** The mqtt section of the configuration: defaults that start on a fresh machine, and a table of bad configs. */
import { configSchema, loadConfig } from '../../gateway/config/index.js';
import { crossCheck } from '../../gateway/config/cross-check.js';
import { ConfigError } from '../../gateway/errors.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-config');
const HASH = '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

/** Every problem (schema and cross-field) as "path: message". */
function problems(input: unknown): string[] {
  const r = configSchema.safeParse(input);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return crossCheck(r.data).map((i) => `${i.path}: ${i.message}`);
}

test('mqtt-config - defaults: embedded broker, anonymous loopback allowed as admin, no users, secure limits', () => {
  const c = configSchema.parse({});
  assert.is(c.mqtt.mode, 'embedded');
  assert.is(c.mqtt.tcpEnabled, true);
  assert.is(c.mqtt.allowAnonymousLoopback, true);
  assert.is(c.mqtt.anonymousRole, 'admin');
  assert.is(c.mqtt.users, undefined);
  assert.is(c.mqtt.tls.enabled, false);
  assert.is(c.mqtt.websocket.enabled, false);
  assert.is(c.mqtt.limits.maxPacketBytes, 262_144);
  assert.is(c.mqtt.limits.drainTimeoutMs, 5_000);
  assert.equal(crossCheck(c), []);
});

test('mqtt-config - environment overrides reach the new keys', () => {
  const { config } = loadConfig({
    env: { SCANGATE_MQTT_MODE: 'external', SCANGATE_MQTT_EXTERNAL_URL: 'mqtts://broker:8883', SCANGATE_MQTT_EXTERNAL_PASSWORD: 's3cret', SCANGATE_MQTT_LIMITS_MAX_CONNECTIONS: '50', SCANGATE_MQTT_TLS_ENABLED: 'false' },
    cwd: '/nonexistent',
  });
  assert.is(config.mqtt.mode, 'external');
  assert.is(config.mqtt.external.url, 'mqtts://broker:8883');
  assert.is(config.mqtt.external.password, 's3cret');
  assert.is(config.mqtt.limits.maxConnections, 50);
});

test('mqtt-config - bad configs are refused with the path of every problem', () => {
  const site = { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'pack', operation: 'pack' }] }] };
  const table: [string, unknown, RegExp][] = [
    ['unknown mode', { mqtt: { mode: 'cluster' } }, /^mqtt\.mode:/],
    ['bad hash', { site, mqtt: { users: [{ username: 'u', passwordHash: 'plain', role: 'admin' }] } }, /^mqtt\.users\.0\.passwordHash:/],
    ['unknown role', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'root' }] } }, /^mqtt\.users\.0\.role:/],
    ['bad user name', { site, mqtt: { users: [{ username: 'a b', passwordHash: HASH, role: 'admin' }] } }, /^mqtt\.users\.0\.username:/],
    ['scanner without stations', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'scanner' }] } }, /^mqtt\.users\.0\.stations: a scanner needs/],
    ['controller without lines', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'lineController' }] } }, /^mqtt\.users\.0\.lines: a line controller needs/],
    ['undeclared station', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'scanner', stations: ['L1/ship'] }] } }, /^mqtt\.users\.0\.stations\.0: station "ship"/],
    ['undeclared line', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'lineController', lines: ['L9'] }] } }, /^mqtt\.users\.0\.lines\.0: line "L9"/],
    ['stations on a monitor', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'monitor', stations: ['L1/pack'] }] } }, /^mqtt\.users\.0\.stations: only scanners/],
    ['a station that is not line/station', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'scanner', stations: ['pack'] }] } }, /^mqtt\.users\.0\.stations\.0:/],
    ['duplicate user', { site, mqtt: { users: [{ username: 'u', passwordHash: HASH, role: 'admin' }, { username: 'u', passwordHash: HASH, role: 'monitor' }] } }, /^mqtt\.users\.1\.username: "u" is declared twice/],
    ['no password without mTLS', { site, mqtt: { users: [{ username: 'u', role: 'admin' }] } }, /^mqtt\.users\.0\.passwordHash: a user without a password/],
    ['TLS without files', { mqtt: { tls: { enabled: true } } }, /^mqtt\.tls\.certFile:/],
    ['mTLS without CA', { mqtt: { tls: { enabled: true, certFile: 'c', keyFile: 'k', clientCertRequired: true } } }, /^mqtt\.tls\.caFile:/],
    ['mTLS without TLS', { mqtt: { tls: { clientCertRequired: true, caFile: 'ca' } } }, /^mqtt\.tls\.clientCertRequired: needs mqtt\.tls\.enabled/],
    ['wss without files', { mqtt: { websocket: { enabled: true, tls: true } } }, /^mqtt\.tls\.certFile:/],
    ['no listener', { mqtt: { tcpEnabled: false } }, /^mqtt\.tcpEnabled: the embedded broker has no listener/],
    ['two listeners on one port', { mqtt: { tls: { enabled: true, port: 1883, certFile: 'c', keyFile: 'k' } } }, /^mqtt\.tls\.port: is the same as mqtt\.port/],
    ['websocket on the HTTP port', { mqtt: { websocket: { enabled: true, port: 8080 } } }, /^http\.port: is the same as mqtt\.websocket\.port/],
    ['bad external URL', { mqtt: { mode: 'external', external: { url: 'http://broker' } } }, /^mqtt\.external\.url:/],
    ['bad shared group', { mqtt: { external: { sharedGroup: 'a/b' } } }, /^mqtt\.external\.sharedGroup:/],
    ['client key without its certificate', { mqtt: { mode: 'external', external: { url: 'mqtts://b:8883', keyFile: 'k.pem' } } }, /^mqtt\.external\.certFile: mqtt\.external\.certFile and keyFile go together/],
    ['packet limit too small', { mqtt: { limits: { maxPacketBytes: 10 } } }, /^mqtt\.limits\.maxPacketBytes:/],
    ['unknown limit', { mqtt: { limits: { maxFoo: 1 } } }, /^mqtt\.limits:|maxFoo/],
  ];
  for (const [name, input, expected] of table) {
    const found = problems(input);
    assert.ok(found.some((p) => expected.test(p)), `${name}: expected ${expected} in ${JSON.stringify(found)}`);
  }
});

test('mqtt-config - a YAML file with users loads and reports problems with file lines', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sg-mqcfg-'));
  try {
    const f = join(dir, 'scangate.yaml');
    writeFileSync(f, `site:\n  id: demo\n  lines:\n    - id: L1\n      stations: [{ id: pack, operation: pack }]\nmqtt:\n  users:\n    - { username: scan1, passwordHash: "${HASH}", role: scanner, stations: [L1/pack] }\n`);
    assert.is(loadConfig({ file: f, env: {} }).config.mqtt.users?.[0]?.username, 'scan1');
    writeFileSync(f, `mqtt:\n  users:\n    - username: scan1\n      passwordHash: nope\n      role: scanner\n`);
    try {
      loadConfig({ file: f, env: {} });
      assert.unreachable('refused');
    } catch (err) {
      assert.instance(err, ConfigError);
      const issue = (err as ConfigError).issues.find((i) => i.path.startsWith('mqtt.users.0.passwordHash'));
      assert.ok(issue !== undefined, JSON.stringify((err as ConfigError).issues));
      assert.is(issue!.line, 4);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
