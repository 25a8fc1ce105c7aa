/**
 * The `debug` loggers of mqtt-packet and mqtt.js: disabled ones are plain no-ops once the gateway's MQTT adapter
 * is loaded, and DEBUG set at start still turns the real ones on (an operator's way to see packets).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import '../../adapters/mqtt/quiet-debug.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-quiet-debug');
const req = createRequire(import.meta.url);
type Debug = ((...a: unknown[]) => void) & { enabled: boolean; namespace?: string; extend: (s: string) => Debug };

/** `debug` as mqtt-packet resolves it (under aedes) and as mqtt.js resolves it. */
const factories = () => [
  req(createRequire(createRequire(req.resolve('aedes')).resolve('mqtt-packet')).resolve('debug')) as (ns: string) => Debug,
  req(createRequire(req.resolve('mqtt')).resolve('debug')) as (ns: string) => Debug,
];

test('a disabled namespace gets a no-op logger, extend included; enabled ones stay real', () => {
  for (const f of factories()) {
    const d = f('mqtt-packet:parser');
    assert.is(d.enabled, false);
    assert.is(d.name, 'quietDebug');
    assert.is(d.namespace, 'mqtt-packet:parser');
    assert.is(d('never %s', 'printed'), undefined);
    const sub = d.extend('x');
    assert.is(sub.name, 'quietDebug');
    assert.is(sub.namespace, 'mqtt-packet:parser:x');
  }
  // The factory keeps the real one's API (enable, disable, names): other users of `debug` are unaffected.
  const f = factories()[0] as unknown as { enable: (ns: string) => void; disable: () => string; enabled: (ns: string) => boolean };
  f.enable('scangate-test:*');
  try {
    const d = (f as unknown as (ns: string) => Debug)('scangate-test:on');
    assert.is(d.enabled, true);
    assert.is.not(d.name, 'quietDebug');
  } finally {
    f.disable();
  }
});

test('DEBUG set at start still prints mqtt-packet and mqtt.js output through a real broker and client', () => {
  const script = `
    import '${new URL('../../adapters/mqtt/quiet-debug.ts', import.meta.url).pathname}';
    const { Aedes } = await import('aedes');
    const net = await import('node:net');
    const mqtt = (await import('mqtt')).default;
    const broker = await Aedes.createBroker();
    const server = net.createServer((s) => broker.handle(s));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const c = await mqtt.connectAsync('mqtt://127.0.0.1:' + server.address().port);
    await c.publishAsync('t/x', 'hello', { qos: 1 });
    await c.endAsync();
    await new Promise((r) => broker.close(r));
    server.close();
  `;
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  const on = run({ DEBUG: 'mqtt-packet:parser,mqttjs:client' });
  assert.is(on.status, 0, on.stderr);
  assert.match(on.stderr, /mqtt-packet:parser/);
  assert.match(on.stderr, /mqttjs:client/);
  const off = run({ DEBUG: '' });
  assert.is(off.status, 0, off.stderr);
  assert.not.match(off.stderr, /mqtt-packet:parser|mqttjs:client/);
});

test.run();
