/**
 * A container's record is rewritten whole at every child; the puts of one container within one write group land
 * as one write of the last record (WriteQueue.putLast), while every decision in between sees the latest one.
 */
import { Cache } from '../../gateway/cache/cache.js';
import { decodeContainer } from '../../gateway/cache/container-codec.js';
import { itemChildId, newContainer, ssccKey, type ContainerRecord } from '../../gateway/cache/container.js';
import { STATUSES } from '../../gateway/reasons.js';
import { Store } from '../../gateway/store.js';
import { demoGtin, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('cache-containers');
const G = demoGtin(4);
const CASE = '095201234000000017';
const PALLET = '095201234000000024';

test('cache-containers - children added in one group: one write per container, the last list on disk, the latest seen at once', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir, { groupCommitMs: 60_000 }); // the group closes when the test says so
  try {
    const cache = new Cache(store);
    const writes: string[] = [];
    const db = store.containers;
    const put = db.put.bind(db);
    (db as unknown as { put: typeof put }).put = ((k: Buffer, v: unknown) => {
      writes.push(k.toString('hex'));
      return put(k, v as ContainerRecord);
    }) as typeof put;

    let rec = newContainer('L1/agg', 0, STATUSES.PACKED);
    let pallet = newContainer('L1/pal', 0, STATUSES.PACKED);
    let last: Promise<boolean> | null = null;
    for (let i = 0; i < 50; i++) {
      rec = { ...rec, children: [...rec.children, itemChildId(G, `S${i}`)] };
      last = cache.putContainer(CASE, rec);
      if (i % 10 === 0) {
        pallet = { ...pallet, children: [...pallet.children, `#${CASE}${i}`] };
        cache.putContainer(PALLET, pallet);
      }
      assert.is(cache.getContainer(CASE)!.children.length, i + 1, 'each decision sees the one before it');
    }
    assert.is(store.writes.pending, 2, 'two containers, two writes queued');
    assert.is(store.writes.coalesced, 49 + 4);
    const flushed = store.writes.flush();
    assert.is(flushed, last);
    assert.ok(await flushed);
    assert.equal(writes.sort(), [ssccKey(CASE).toString('hex'), ssccKey(PALLET).toString('hex')].sort());
    const onDisk = decodeContainer(store.containers.getBinary(ssccKey(CASE))!);
    assert.is(onDisk.children.length, 50);
    assert.is(onDisk.children[49], itemChildId(G, 'S49'));
    assert.is(decodeContainer(store.containers.getBinary(ssccKey(PALLET))!).children.length, 5);
    // Committed: what the cache gives now comes from disk, and equals what it gave before the commit.
    assert.equal(cache.getContainer(CASE), onDisk);

    // The next group writes again (nothing is replaced across a commit).
    writes.length = 0;
    rec = { ...rec, children: rec.children.slice(1) };
    const p = cache.putContainer(CASE, rec);
    assert.is.not(p, flushed);
    await store.writes.flush();
    assert.equal(writes, [ssccKey(CASE).toString('hex')]);
    assert.is(decodeContainer(store.containers.getBinary(ssccKey(CASE))!).children.length, 49);
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test.run();
