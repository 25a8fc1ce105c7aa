/**
 * gateway/store-file.ts: a damaged LMDB file is refused with SG_ERR_STORE before LMDB maps it (LMDB would kill
 * the process with a segmentation fault); a sound one, however written, opens. And Store.openExisting never
 * makes a store where there was none.
 */
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GatewayError } from '../../gateway/errors.js';
import { Store } from '../../gateway/store.js';
import { storeFileProblem } from '../../gateway/store-file.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('store-file');

/** A store with some data in it, closed; its file path. */
async function soundStore(dir: string): Promise<string> {
  const store = Store.open(dir);
  for (let i = 0; i < 2000; i++) void store.writes.put(store.journal, i, Buffer.alloc(200, i & 0xff));
  await store.writes.flush();
  await store.close();
  return join(dir, 'scangate.mdb');
}

function refused(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, GatewayError);
    assert.is((err as GatewayError).code, 'SG_ERR_STORE');
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('not refused');
}

test('store file - a sound store opens, again and again', async () => {
  const tmp = tempDir();
  try {
    const file = await soundStore(tmp.dir);
    assert.is(storeFileProblem(file), null);
    const again = Store.open(tmp.dir);
    assert.is(again.journal.getKeysCount(), 2000);
    await again.close();
  } finally {
    tmp.dispose();
  }
});

test('store file - sound files whose end LMDB never wrote, and a file another writer commits to, are not refused', async () => {
  const tmp = tempDir();
  try {
    // Pages a transaction takes and frees again are never written: the file ends before the meta's last page.
    const store = Store.open(tmp.dir);
    await store.root.transaction(() => {
      for (let i = 0; i < 20_000; i++) store.journal.putSync(i, Buffer.alloc(i % 7 === 0 ? 5000 : 300, i & 0xff));
      for (let i = 0; i < 20_000; i++) if (i % 10 !== 0) store.journal.removeSync(i);
    });
    const file = join(tmp.dir, 'scangate.mdb');
    // Meanwhile commits go on: the check reads the meta pages, then the size (a file only grows).
    let refused = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 50; i++) void store.writes.put(store.journal, 100_000 + round * 50 + i, Buffer.alloc(2000, 1));
      const flushed = store.writes.flush();
      if (storeFileProblem(file) !== null) refused++;
      await flushed;
    }
    await store.close();
    assert.is(refused, 0, 'never refused while another writer commits');
    assert.is(storeFileProblem(file), null);
    const again = Store.open(tmp.dir);
    assert.is(again.journal.getKeysCount(), 2000 + 200 * 50);
    await again.close();
  } finally {
    tmp.dispose();
  }
});

test('store file - cut short, overwritten with noise, or another format: SG_ERR_STORE naming the file, not a crash', async () => {
  const tmp = tempDir();
  try {
    const file = await soundStore(tmp.dir);
    const whole = readFileSync(file);
    const cases: [string, () => void, RegExp][] = [
      ['first page only', () => writeFileSync(file, whole.subarray(0, 4096)), /cut short/],
      ['cut after its meta pages', () => writeFileSync(file, whole.subarray(0, 3 * 4096)), /cut short: 12288 bytes, but a root page of its tables is page \d+/],
      ['random bytes', () => writeFileSync(file, randomBytes(whole.length)), /not an LMDB file|page size/],
      ['another format version', () => {
        const b = Buffer.from(whole);
        b.writeUInt32LE(999, 28);
        b.writeUInt32LE(999, 4096 + 28);
        writeFileSync(file, b);
      }, /format version is 999/],
    ];
    for (const [what, damage, re] of cases) {
      damage();
      refused(() => Store.open(tmp.dir), new RegExp(`the store file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged: .*${re.source}`));
      assert.ok(storeFileProblem(file) !== null, what);
    }
    // One torn meta page (a crash while LMDB wrote it): the other one still says what the file holds.
    const torn = Buffer.from(whole);
    torn.writeUInt32LE(0, 24);
    writeFileSync(file, torn);
    assert.is(storeFileProblem(file), null);
    truncateSync(file, 0);
    assert.is(storeFileProblem(file), null, 'an empty file is one LMDB never wrote: it writes it at open');
  } finally {
    tmp.dispose();
  }
});

test('store file - openExisting refuses a data directory without a store, and makes nothing there', () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, 'wrong');
    try {
      Store.openExisting(dir);
      assert.unreachable('opened');
    } catch (err) {
      assert.is((err as GatewayError).code, 'SG_ERR_DATA_DIR');
      assert.match((err as Error).message, /there is no gateway store in .*wrong \(no scangate\.mdb\)/);
    }
    assert.not.ok(existsSync(dir), 'nothing created');
  } finally {
    tmp.dispose();
  }
});

test.run();
