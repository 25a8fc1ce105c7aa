/**
 * `scangate passwd --username ...` prints only entries the configuration accepts: a bad one is refused with
 * SG_ERR_USAGE, exit 2, before the password is read; values YAML would misread are quoted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/gateway.js';
import { runPasswd, runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('passwd-entry');

const passwd = runPasswd;

test('passwd-entry - entries the configuration refuses: exit 2 with SG_ERR_USAGE, the option and the rule, before reading the password', async () => {
  const table: [string, string[], RegExp][] = [
    ['a user name with a space', ['--username', 'line 1', '--role', 'admin'], /--username "line 1": user name must be 1-64 characters/],
    ['a scanner without stations', ['--username', 's1', '--role', 'scanner'], /--stations: a scanner needs the stations it reads for/],
    ['a line controller with stations', ['--username', 'plc', '--role', 'lineController', '--lines', 'L1', '--stations', 'L1/pack'], /--stations: only scanners have stations \(role is lineController\)/],
    ['a station that is not line/station', ['--username', 's1', '--role', 'scanner', '--stations', 'L1/pack,L1'], /--stations "L1": a station as line\/station/],
    ['a line controller without lines', ['--username', 'plc', '--role', 'lineController'], /--lines: a line controller needs its lines/],
    ['lines on a monitor', ['--username', 'graf', '--role', 'monitor', '--lines', 'L1'], /--lines: only line controllers have lines/],
    ['an empty station list', ['--username', 's1', '--role', 'scanner', '--stations', ','], /--stations: at least one station/],
    ['entry options without --username', ['--role', 'scanner', '--stations', 'L1/pack'], /--role, --stations: only for a mqtt\.users entry, which needs --username/],
  ];
  for (const [what, args, re] of table) {
    const r = await passwd([...args, '--cost', '10']);
    assert.is(r.code, 2, `${what}: ${r.err}`);
    assert.is(r.out, '', what);
    assert.match(r.err, /^SG_ERR_USAGE: /, what);
    assert.match(r.err, re, `${what}: ${r.err}`);
    assert.match(r.err, /\n {2}hint: /, what);
  }
});

test('passwd-entry - a short password is a usage error (exit 2)', async () => {
  const r = await passwd(['--username', 'ops', '--role', 'admin', '--cost', '10'], 'seven77\n');
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /SG_ERR_USAGE: the password must have at least 8 characters/);
});

test('passwd-entry - names YAML would misread (@ops, true, a line 7) are printed quoted, and config check accepts the entries', async () => {
  const tmp = tempDir('sg-passwd-entry-');
  try {
    const ops = await passwd(['--username', '@ops', '--role', 'admin', '--cost', '10'], 'a long secret\n');
    assert.is(ops.code, 0, ops.err);
    assert.match(ops.out, /^- username: "@ops"$/m);
    const plc = await passwd(['--username', 'true', '--role', 'lineController', '--lines', '7', '--cost', '10'], 'a long secret\n');
    assert.is(plc.code, 0, plc.err);
    assert.match(plc.out, /^- username: "true"$/m);
    assert.match(plc.out, /^ {2}lines: \["7"\]$/m);
    const entries = [ops.out, plc.out]
      .flatMap((o) => o.split('\n'))
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => `    ${l}`)
      .join('\n');
    const cfg = join(tmp.dir, 'scangate.yaml');
    writeFileSync(cfg, `site:\n  id: demo\n  lines:\n    - id: "7"\n      stations: [{ id: pack, operation: pack }]\nmqtt:\n  users:\n${entries}\n`);
    const check = runScangate(['config', 'check', '--config', cfg]);
    assert.is((await check.exited()).code, 0, check.output());
  } finally {
    tmp.dispose();
  }
});

test.run();
