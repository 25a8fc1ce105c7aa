/** The inspection verbs through the real binary: import (NDJSON, --expect), lookup of a serial and an SSCC, parse. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoGtin, tempDir } from '../helpers/gateway.js';
import { runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('cli');

test('cli - import NDJSON, then lookup a serial and its container', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(11);
    const S = '095201234567890122';
    const file = join(tmp.dir, 'load.ndjson');
    writeFileSync(
      file,
      [
        { type: 'container', sscc: S },
        { gtin: G, serial: 'X1', lot: 'L1', expiry: '2030-06-30', status: 'PACKED', parent: S },
        { type: 'lot', gtin: G, lot: 'L1', hold: true },
      ].map((o) => JSON.stringify(o)).join('\n'),
    );
    const env = { SCANGATE_DATA_DIR: tmp.dir };
    const wrong = runScangate(['import', file, '--expect', '4'], env);
    assert.is((await wrong.exited()).code, 1);
    assert.match(wrong.output(), /holds 3 records, 4 were expected/);
    const imp = runScangate(['import', file, '--expect', '3'], env);
    assert.is((await imp.exited()).code, 0, imp.output());
    assert.match(imp.output(), /"serials":1,"containers":1,"lots":1/);

    const ls = runScangate(['lookup', `(01)${G}(21)X1`], env);
    assert.is((await ls.exited()).code, 0, ls.output());
    const serial = JSON.parse(ls.output()) as Record<string, unknown>;
    assert.equal([serial.found, serial.status, serial.parent, serial.expiry], [true, 'PACKED', S, '2030-06-30']);

    const lc = runScangate(['lookup', `(00)${S}`], env);
    assert.is((await lc.exited()).code, 0, lc.output());
    const box = JSON.parse(lc.output()) as { children: unknown[]; state: string };
    assert.equal(box.children, [{ gtin: G, serial: 'X1' }]);
    assert.is(box.state, 'CLOSED');

    const missing = runScangate(['lookup', `(01)${G}(21)NOPE`], env);
    assert.is((await missing.exited()).code, 1);
    assert.match(missing.output(), /"found":false/);
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('cli - parse prints one JSON line per read and exits 1 when one fails', async () => {
  const p = runScangate(['parse', ']d201095201234567881727033110LOT-A1<GS>21S3R!AL%x7', ']d201095201234567871727033121SN0001']);
  const { code } = await p.exited();
  assert.is(code, 1);
  const lines = p.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal([lines[0]!.ok, lines[0]!.serial, lines[0]!.expiry], [true, 'S3R!AL%x7', '2027-03-31']);
  assert.equal([lines[1]!.ok, lines[1]!.reason], [false, 'BAD_CHECK_DIGIT']);
});

test('cli - an unknown verb and bad options are usage errors with exit 2', async () => {
  const p = runScangate(['frobnicate']);
  assert.is((await p.exited()).code, 2);
  assert.match(p.output(), /SG_ERR_USAGE: unknown verb "frobnicate"/);
  const q = runScangate(['import']);
  assert.is((await q.exited()).code, 2);
  assert.match(q.output(), /SG_ERR_USAGE/);
});

test('cli - a file too large for the heap stops with SG_ERR_IMPORT_READ and a size to split at, not an out-of-memory abort', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(12);
    // Lots are held as objects on the heap until the file is checked whole (serials as bytes outside it).
    const file = join(tmp.dir, 'big.ndjson');
    writeFileSync(file, Array.from({ length: 1_000_000 }, (_, i) => `{"type":"lot","gtin":"${G}","lot":"M${i}","hold":true}\n`).join(''));
    const env = { SCANGATE_DATA_DIR: tmp.dir };
    // A small heap stands in for a file larger than the default one (about 4 GiB) holds.
    const imp = runScangate(['import', file], env, ['--max-semi-space-size=16', '--max-old-space-size=96']);
    const { code } = await imp.exited(60_000);
    const out = imp.output();
    assert.is(code, 1, out);
    assert.match(out, /SG_ERR_IMPORT_READ: .*big\.ndjson is too large to check in one import: at line \d+ .*MiB heap; nothing was imported/);
    assert.match(out, /hint: split it into files of at most about [\d,]+ records/);
    assert.not.match(out, /heap out of memory/);
    const { Store } = await import('../../gateway/store.js');
    const store = Store.open(tmp.dir);
    try {
      assert.is(store.lots.getKeysCount(), 0, 'nothing imported');
    } finally {
      await store.close();
    }
  } finally {
    tmp.dispose();
  }
}, 60_000);

test('cli - lookup and outbox on a data directory without a store: SG_ERR_DATA_DIR, nothing created there', async () => {
  const tmp = tempDir();
  try {
    const env = { SCANGATE_DATA_DIR: join(tmp.dir, 'wrong') };
    for (const args of [['outbox', 'stats'], ['outbox', 'list'], ['outbox', 'replay'], ['lookup', '(01)09520123456788(21)SN1']]) {
      const p = runScangate(args, env);
      assert.is((await p.exited()).code, 1, args.join(' '));
      assert.match(p.output(), /SG_ERR_DATA_DIR: there is no gateway store in .*wrong \(no scangate\.mdb\)/, args.join(' '));
      assert.match(p.output(), /hint: give the daemon's data directory/);
    }
    assert.not.ok(existsSync(join(tmp.dir, 'wrong')), 'no store made on the spot');
  } finally {
    tmp.dispose();
  }
});

test('cli - simulate refuses a ramp that starts above its maximum, before starting anything', async () => {
  const p = runScangate(['simulate', '--ramp', '--ramp-start', '100', '--ramp-max', '50']);
  const { code } = await p.exited();
  assert.is(code, 2, p.output());
  assert.match(p.output(), /SG_ERR_USAGE: --ramp-start 100 is above --ramp-max 50/);
});

test.run();
