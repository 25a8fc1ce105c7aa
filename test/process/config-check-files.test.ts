/**
 * `scangate config check` through the real binary refuses what `scangate start` refuses at start: NATS and MQTT
 * files that cannot be read, every one listed with its key, start's code and hint, exit 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/gateway.js';
import { runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('config-check-files');

const MISSING = {
  SCANGATE_NATS_CREDS_FILE: '/nope/x.creds',
  SCANGATE_MQTT_TLS_ENABLED: 'true',
  SCANGATE_MQTT_TLS_CERT_FILE: '/nope/c.pem',
  SCANGATE_MQTT_TLS_KEY_FILE: '/nope/k.pem',
};

test('config-check-files - missing NATS creds and MQTT cert/key: every one listed, exit 1, as start refuses', async () => {
  const tmp = tempDir('sg-check-files-');
  try {
    const cfg = join(tmp.dir, 'some.yaml');
    writeFileSync(cfg, 'site:\n  id: demo\n');
    const check = runScangate(['config', 'check', '-c', cfg], MISSING);
    assert.is((await check.exited()).code, 1, check.output());
    const out = check.output();
    assert.not.match(out, /^ok/m);
    assert.match(out, /3 problems with the files it names/);
    assert.match(out, /^SG_ERR_NATS_AUTH: cannot read nats\.credsFile \/nope\/x\.creds: .*\n {2}hint: set nats\.credsFile \(or SCANGATE_NATS_CREDS_FILE\) to a readable file$/m);
    assert.match(out, /^SG_ERR_TLS: cannot read mqtt\.tls\.certFile \/nope\/c\.pem: .*\n {2}hint: set mqtt\.tls\.certFile to a readable PEM file$/m);
    assert.match(out, /^SG_ERR_TLS: cannot read mqtt\.tls\.keyFile \/nope\/k\.pem: .*\n {2}hint: set mqtt\.tls\.keyFile to a readable PEM file$/m);

    // start stops at the first of them, with the same message.
    const first = /^SG_ERR_NATS_AUTH: (.*)$/m.exec(out)![1]!;
    const start = runScangate(['start', '-c', cfg], { ...MISSING, SCANGATE_DATA_DIR: tmp.dir, SCANGATE_MQTT_PORT: '0', SCANGATE_HTTP_ENABLED: 'false' });
    assert.is((await start.exited(15_000)).code, 1, start.output());
    assert.ok(start.output().includes(first), start.output());

    // The same file without the overrides is fine.
    const ok = runScangate(['config', 'check', '-c', cfg]);
    assert.is((await ok.exited()).code, 0, ok.output());
    assert.match(ok.output(), /^ok: /);
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('config-check-files - a misspelt command and a QoS 2 for verdicts say what is wrong', async () => {
  const typo = runScangate(['config', 'chek']);
  assert.is((await typo.exited()).code, 2);
  assert.match(typo.output(), /SG_ERR_USAGE: unknown config command "chek" \(the only one is "check"\)/);
  const qos = runScangate(['config', 'check'], { SCANGATE_MQTT_VERDICT_QOS: '2' });
  assert.is((await qos.exited()).code, 1);
  assert.match(qos.output(), /mqtt\.verdictQos \(from SCANGATE_MQTT_VERDICT_QOS\): must be 0 or 1/);
});

test.run();
