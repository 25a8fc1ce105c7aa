/**
 * `scangate passwd` as an operator uses it: the hash it prints goes into scangate.yaml, `config check` accepts
 * it, the daemon lets that user in with that password only, and the password never comes from argv.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/gateway.js';
import { refusal } from '../helpers/mqtt-client.js';
import { freePort, runPasswd, runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-passwd');

const passwd = runPasswd;

test('mqtt-passwd - a hash from `scangate passwd` logs its user in; a wrong password does not', async () => {
  const tmp = tempDir('sg-passwd-');
  try {
    const made = await passwd(['--username', 'scan1', '--role', 'scanner', '--stations', 'L1/pack', '--cost', '12'], 'a long secret\n');
    assert.is(made.code, 0, made.err);
    assert.match(made.out, /- username: scan1\n  passwordHash: "\$scrypt\$ln=12,r=8,p=1\$[^"]+"\n  role: scanner\n  stations: \[L1\/pack\]/);
    const entry = made.out.split('\n').filter((l) => !l.startsWith('#')).map((l) => `    ${l}`).join('\n');
    const cfg = join(tmp.dir, 'scangate.yaml');
    writeFileSync(cfg, `site:\n  id: demo\n  lines:\n    - id: L1\n      stations: [{ id: pack, operation: pack }]\nmqtt:\n  allowAnonymousLoopback: false\n  users:\n${entry}\n`);
    const check = runScangate(['config', 'check', '--config', cfg]);
    assert.is((await check.exited()).code, 0, check.output());

    const verify = await passwd(['--verify', /passwordHash: "([^"]+)"/.exec(made.out)![1]!], 'a long secret\n');
    assert.is(verify.code, 0);
    assert.is((await passwd(['--verify', /passwordHash: "([^"]+)"/.exec(made.out)![1]!], 'another\n')).code, 1);

    const port = await freePort();
    const p = runScangate(['start', '--config', cfg], {
      SCANGATE_DATA_DIR: tmp.dir,
      SCANGATE_MQTT_HOST: '127.0.0.1',
      SCANGATE_MQTT_PORT: String(port),
      SCANGATE_HTTP_ENABLED: 'false',
      SCANGATE_NATS_SERVERS: 'nats://127.0.0.1:1',
    });
    try {
      await p.waitFor(/scangate started/);
      const url = `mqtt://127.0.0.1:${port}`;
      assert.is(await refusal(url, { username: 'scan1', password: 'a long secret', clientId: 'scan1' }), null);
      assert.is(await refusal(url, { username: 'scan1', password: 'a long secreT', clientId: 'scan1' }), 4);
      assert.is(await refusal(url, { clientId: 'anon' }), 5, 'anonymous disabled in this config');
      await p.waitFor(/connection refused: bad user name or password/);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited();
    }
  } finally {
    tmp.dispose();
  }
}, 40_000);

test('mqtt-passwd - refuses a password on the command line, a short one, and a bad role', async () => {
  const argv = await passwd(['hunter2hunter2'], '');
  assert.ok(argv.code !== 0);
  assert.match(argv.err, /never taken from the command line/);
  const short = await passwd([], 'short\n');
  assert.ok(short.code !== 0);
  assert.match(short.err, /at least 8 characters/);
  const role = await passwd(['--username', 'x', '--role', 'root'], 'long enough pw\n');
  assert.ok(role.code !== 0);
  assert.match(role.err, /--role must be one of/);
});

test.run();
