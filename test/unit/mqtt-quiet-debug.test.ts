/**
 * The `debug` loggers of mqtt-packet and mqtt.js: disabled ones are plain no-ops once the gateway's MQTT adapter
 * is loaded, and DEBUG set at start still turns the real ones on (an operator's way to see packets).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import '../../adapters/mqtt/quiet-debug.js';
import { measureAedesCeiling } from '../../simulator/baseline.js';
import { tempDir } from '../helpers/gateway.js';
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
  // The factory is the real one for everything but the call (enable, disable, names): one state for all users.
  const f = factories()[0] as unknown as { enable: (ns: string) => void; disable: () => string; names: unknown[]; default: unknown; debug: unknown };
  assert.is(f.default, f);
  assert.is(f.debug, f);
  f.enable('scangate-test:*');
  try {
    assert.equal(f.names.map(String), ['scangate-test:*']);
    const d = (f as unknown as (ns: string) => Debug)('scangate-test:on');
    assert.is(d.enabled, true);
    assert.is.not(d.name, 'quietDebug');
  } finally {
    f.disable();
  }
});

/** A require hook for a child process: records, for every `debug` that mqtt-packet or mqtt.js loads, whether it was the quiet one. */
function loadHook(dir: string): string {
  const hook = join(dir, 'hook.cjs');
  writeFileSync(
    hook,
    `const Module = require('node:module');
const fs = require('node:fs');
const load = Module._load;
Module._load = function (request, parent) {
  const r = load.apply(this, arguments);
  if (request === 'debug' && parent && /mqtt-packet|[\\/]mqtt[\\/]build/.test(parent.filename)) {
    fs.appendFileSync(process.env.QD_OUT, JSON.stringify({ from: parent.filename, quiet: r[Symbol.for('scangate.quietDebug')] === true }) + '\\n');
  }
  return r;
};
`,
  );
  return hook;
}

const loads = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { from: string; quiet: boolean });

test('the daemon, demo and simulator entry points load mqtt-packet and mqtt.js after the wrapper', () => {
  const tmp = tempDir('sg-qd-');
  try {
    const out = join(tmp.dir, 'loads.ndjson');
    const root = new URL('../../', import.meta.url).pathname;
    const script = ['cli/commands/start.ts', 'cli/commands/demo.ts', 'cli/commands/simulate.ts'].map((m) => `await import(${JSON.stringify(join(root, m))});`).join('\n');
    const r = spawnSync(process.execPath, ['--require', loadHook(tmp.dir), '--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, QD_OUT: out, DEBUG: '' }, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    const seen = loads(out);
    assert.ok(seen.some((x) => x.from.includes('mqtt-packet')), 'mqtt-packet loaded');
    assert.ok(seen.some((x) => /[\\/]mqtt[\\/]build/.test(x.from)), 'mqtt.js loaded');
    assert.equal(seen.filter((x) => !x.quiet), [], 'every debug they loaded was the quiet one');
  } finally {
    tmp.dispose();
  }
});

test("the simulator's bare aedes broker (a process of its own) runs with the wrapper too", async () => {
  const tmp = tempDir('sg-qd-');
  const saved = process.env.NODE_OPTIONS;
  try {
    const out = join(tmp.dir, 'loads.ndjson');
    process.env.NODE_OPTIONS = `${saved ?? ''} --require ${loadHook(tmp.dir)}`;
    process.env.QD_OUT = out;
    const res = await measureAedesCeiling({ connections: 2, window: 8, warmupMs: 100, measureMs: 300 });
    assert.ok(res.qos1PerS > 0);
    const seen = loads(out).filter((x) => x.from.includes('mqtt-packet'));
    assert.ok(seen.length > 0, 'the broker loaded mqtt-packet');
    assert.equal(seen.filter((x) => !x.quiet), []);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
    delete process.env.QD_OUT;
    tmp.dispose();
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
