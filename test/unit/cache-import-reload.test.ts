/**
 * Lots and products live in the daemon's memory; an import from another process stamps its transaction, and the
 * cache loads them again when it sees a new stamp, without undoing its own writes still waiting to commit.
 */
import { Cache, IMPORT_STAMP_KEY } from '../../gateway/cache/cache.js';
import { lotKey } from '../../gateway/cache/keys.js';
import { FLAG_ON_HOLD, FLAG_RECALLED } from '../../gateway/cache/record.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { demoGtin, tempDir } from '../helpers/gateway.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('cache-import-reload');
const G = demoGtin(3);

test('cache-import-reload - an import seen by its stamp: new lots and products loaded, nothing when no import came', async () => {
  const tmp = tempDir();
  const daemon = Store.open(tmp.dir);
  const other = Store.open(tmp.dir); // the import's own handle, as another process would have
  try {
    const cache = new Cache(daemon);
    assert.is(cache.reloadAfterImport(), null, 'no import yet');
    const file = join(tmp.dir, 'load.ndjson');
    const rows = [{ type: 'lot', gtin: G, lot: 'L9', recall: true }, { type: 'product', gtin: G, companyPrefixLength: 7, shortDateMarginDays: 30 }];
    writeFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await importFile(other, file);
    assert.is(cache.getLot(G, 'L9'), undefined, 'not seen before the reload');
    daemon.root.resetReadTxn(); // what lmdb-js does on its own shortly after another process commits
    assert.equal(cache.reloadAfterImport(), { lots: 1, products: 1 });
    assert.is(cache.getLot(G, 'L9')?.flags, FLAG_RECALLED);
    assert.is(cache.getProduct(G)?.shortDateMarginDays, 30);
    assert.is(cache.reloadAfterImport(), null, 'the same stamp again: nothing to do');
  } finally {
    await other.close();
    await daemon.close();
    tmp.dispose();
  }
});

test('cache-import-reload - a lot this process wrote and has not committed yet is kept over the older value on disk', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir, { groupCommitMs: 50 });
  try {
    const cache = new Cache(store);
    // On disk: lot L1 without flags, and a new import stamp.
    await store.root.transaction(() => {
      void store.lots.put(lotKey(G, 'L1'), { flags: 0, expiryDays: 0 });
      void store.meta.put(IMPORT_STAMP_KEY, 'stamp-1');
    });
    // The status stream puts L1 on hold; the write waits for its group (50 ms).
    const written = cache.putLot(G, 'L1', { flags: FLAG_ON_HOLD, expiryDays: 0 });
    assert.equal(cache.reloadAfterImport(), { lots: 1, products: 0 });
    assert.is(cache.getLot(G, 'L1')?.flags, FLAG_ON_HOLD, 'the pending hold survives the reload');
    assert.ok(await written);
    assert.is(store.lots.get(lotKey(G, 'L1'))?.flags, FLAG_ON_HOLD);
    // A key was kept over the disk's value, so that stamp was not taken: the next look loads again.
    assert.equal(cache.reloadAfterImport(), { lots: 1, products: 0 });
    assert.is(cache.getLot(G, 'L1')?.flags, FLAG_ON_HOLD);
    assert.is(cache.reloadAfterImport(), null, 'now taken');
    // Once committed it is no longer pending: a later import's value is taken.
    await store.root.transaction(() => {
      void store.lots.put(lotKey(G, 'L1'), { flags: FLAG_RECALLED, expiryDays: 0 });
      void store.meta.put(IMPORT_STAMP_KEY, 'stamp-2');
    });
    assert.equal(cache.reloadAfterImport(), { lots: 1, products: 0 });
    assert.is(cache.getLot(G, 'L1')?.flags, FLAG_RECALLED);
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test.run();
