/** Config: defaults, environment overrides, and a table of bad configs, each reported with its path. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, envKeys } from '../../gateway/config/index.js';
import { ConfigError } from '../../gateway/errors.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('config');
const tmp = tempDir('sg-config-');
test.after(() => tmp.dispose());

function problems(yaml: string | null, env: Record<string, string> = {}): { path: string; message: string; line?: number }[] {
  let file: string | undefined;
  if (yaml !== null) {
    file = join(tmp.dir, `c${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, yaml);
  }
  try {
    loadConfig({ file, env, cwd: tmp.dir });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
}

test('config - built-in defaults run on a fresh machine (DESIGN.md)', () => {
  const { config, source } = loadConfig({ env: {}, cwd: tmp.dir });
  assert.is(source, 'built-in defaults');
  assert.is(config.mqtt.host, '0.0.0.0');
  assert.is(config.mqtt.port, 1883);
  assert.is(config.http.host, '127.0.0.1');
  assert.is(config.http.port, 8080);
  assert.is(config.dataDir, './data');
  assert.equal(config.nats.servers, ['nats://127.0.0.1:4222']);
  assert.is(config.site.id, 'demo');
  assert.is(config.site.lines.length, 1);
  const line = config.site.lines[0]!;
  assert.is(line.id, 'L1');
  for (const op of ['commission', 'receive', 'pack', 'aggregate', 'ship', 'verify']) {
    assert.ok(line.stations.some((s) => s.id === op && s.operation === op), `station ${op}`);
  }
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.mqtt), 'frozen after validation');
});

test('config - environment overrides every scalar key and the server list', () => {
  const { config, envApplied } = loadConfig({
    env: { SCANGATE_MQTT_PORT: '1884', SCANGATE_NATS_SERVERS: 'nats://a:1, nats://b:2', SCANGATE_HTTP_ENABLED: 'false', SCANGATE_GATEWAY_ID: 'edge-7', SCANGATE_OUTBOX_DURABILITY: 'commit' },
    cwd: tmp.dir,
  });
  assert.is(config.mqtt.port, 1884);
  assert.equal(config.nats.servers, ['nats://a:1', 'nats://b:2']);
  assert.is(config.http.enabled, false);
  assert.is(config.gatewayId, 'edge-7');
  assert.is(config.outbox.durability, 'commit');
  assert.is(envApplied.length, 5);
  const keys = envKeys();
  for (const k of ['SCANGATE_GATEWAY_ID', 'SCANGATE_DATA_DIR', 'SCANGATE_MQTT_HOST', 'SCANGATE_MQTT_PORT', 'SCANGATE_HTTP_HOST', 'SCANGATE_HTTP_PORT', 'SCANGATE_NATS_SERVERS']) {
    assert.ok(keys.has(k), `${k} is a documented override (DESIGN.md)`);
  }
});

test('config - every environment variable and key is documented in the README', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [env, leaf] of envKeys()) {
    assert.ok(readme.includes(`\`${env}\``), `${env} is in the README`);
    assert.ok(readme.includes(`\`${leaf.path.join('.')}\``), `${leaf.path.join('.')} is in the README`);
  }
});

test('config - the file is read from ./scangate.yaml and env wins over it', () => {
  const dir = tempDir('sg-cwd-');
  try {
    writeFileSync(join(dir.dir, 'scangate.yaml'), 'mqtt:\n  port: 2000\nhttp:\n  port: 2001\n');
    const { config, source } = loadConfig({ env: { SCANGATE_HTTP_PORT: '2002' }, cwd: dir.dir });
    assert.match(source, /scangate\.yaml$/);
    assert.is(config.mqtt.port, 2000);
    assert.is(config.http.port, 2002);
  } finally {
    dir.dispose();
  }
});

// A table of bad configs: [name, yaml, env, expected paths (every one must be reported, at once)].
const BAD: [string, string | null, Record<string, string>, string[]][] = [
  ['unknown top-level key', 'mqttt: {}\n', {}, ['mqttt']],
  ['unknown nested key', 'mqtt:\n  prot: 1\n', {}, ['mqtt.prot']],
  ['port out of range', 'mqtt:\n  port: 70000\n', {}, ['mqtt.port']],
  ['port not a number', 'http:\n  port: eighty\n', {}, ['http.port']],
  ['gateway id with a dot', 'gatewayId: a.b\n', {}, ['gatewayId']],
  ['site id with a slash', 'site:\n  id: a/b\n', {}, ['site.id']],
  ['unknown operation', 'site:\n  lines:\n    - id: L1\n      stations:\n        - id: s\n          operation: wrap\n', {}, ['site.lines.0.stations.0.operation']],
  ['empty station list', 'site:\n  lines:\n    - id: L1\n      stations: []\n', {}, ['site.lines.0.stations']],
  ['duplicate station', 'site:\n  lines:\n    - id: L1\n      stations:\n        - {id: s, operation: pack}\n        - {id: s, operation: ship}\n', {}, ['site.lines.0.stations.1.id']],
  ['duplicate line', 'site:\n  lines:\n    - {id: L1, stations: [{id: s, operation: pack}]}\n    - {id: L1, stations: [{id: t, operation: pack}]}\n', {}, ['site.lines.1.id']],
  ['GS substitute that is data', 'site:\n  lines:\n    - {id: L1, stations: [{id: s, operation: pack, gsSubstitute: "A"}]}\n', {}, ['site.lines.0.stations.0.gsSubstitute']],
  ['bad NATS URL', 'nats:\n  servers: ["http://x"]\n', {}, ['nats.servers.0']],
  ['duplicate window below 2 min', 'nats:\n  duplicateWindowMs: 1000\n', {}, ['nats.duplicateWindowMs']],
  ['bad durability', 'outbox:\n  durability: maybe\n', {}, ['outbox.durability']],
  ['outbox smaller than 4 batches', 'outbox:\n  maxBytes: 1048576\nbatch:\n  maxBytes: 512000\n', {}, ['outbox.maxBytes']],
  ['same port for HTTP and MQTT', 'mqtt:\n  port: 9000\nhttp:\n  port: 9000\n', {}, ['http.port']],
  ['negative delay', 'batch:\n  maxDelayMs: -1\n', {}, ['batch.maxDelayMs']],
  ['bad log level', 'log:\n  level: loud\n', {}, ['log.level']],
  ['not a mapping', '- a\n- b\n', {}, ['(root)']],
  ['broken YAML', 'mqtt:\n  port: [1\n', {}, ['(yaml)']],
  ['env: bad number', null, { SCANGATE_MQTT_PORT: 'x' }, ['mqtt.port (from SCANGATE_MQTT_PORT)']],
  ['env: unknown variable', null, { SCANGATE_MQTT_PROT: '1' }, ['SCANGATE_MQTT_PROT']],
  ['env: a bad entry of a list', null, { SCANGATE_NATS_SERVERS: 'nats://127.0.0.1:4222,http://x' }, ['nats.servers.1 (from SCANGATE_NATS_SERVERS)']],
  ['env: a clash the variable made', 'mqtt:\n  port: 9000\nhttp:\n  port: 9100\n', { SCANGATE_HTTP_PORT: '9000' }, ['http.port (from SCANGATE_HTTP_PORT)']],
  ['several problems at once', 'gatewayId: "a b"\nmqtt:\n  port: -1\n  x: 1\nbatch:\n  maxEvents: 0\n', {}, ['gatewayId', 'mqtt.port', 'mqtt.x', 'batch.maxEvents']],
];

for (const [name, yaml, env, paths] of BAD) {
  test(`config - refuses: ${name}`, () => {
    const got = problems(yaml, env);
    assert.equal(got.map((p) => p.path).sort(), [...paths].sort(), JSON.stringify(got));
    for (const p of got) assert.ok(p.message.length > 0);
  });
}

test('config - a problem the environment made names the variable, not a line of the file', () => {
  const got = problems('mqtt:\n  port: 9000\nhttp:\n  port: 9100\n', { SCANGATE_HTTP_PORT: '9000' });
  assert.is(got[0]!.line, undefined);
});

test('config - problems carry the file line and a hint', () => {
  const got = problems('gatewayId: ok\nmqtt:\n  host: 0.0.0.0\n  port: 99999\n');
  assert.is(got.length, 1);
  assert.is(got[0]!.line, 4);
  assert.match((got[0] as { hint?: string }).hint ?? '', /free TCP port/);
});

test.run();
