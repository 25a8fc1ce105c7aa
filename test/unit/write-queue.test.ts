/** Group commit (gateway/write-queue.ts) on a real LMDB: order, one transaction per group, when a group closes. */
import { Store } from '../../gateway/store.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('write-queue');

async function withStore(groupCommitMs: number, fn: (s: Store) => Promise<void>): Promise<void> {
  const tmp = tempDir('sg-wq-');
  const store = Store.open(tmp.dir, { groupCommitMs });
  try {
    await fn(store);
  } finally {
    await store.close();
    tmp.dispose();
  }
}

test('write-queue - writes wait for the group delay, then land together in the order they were queued', async () => {
  await withStore(30, async (store) => {
    const q = store.writes;
    const p1 = q.put(store.meta, 'a', 1);
    const p2 = q.put(store.meta, 'b', 2);
    q.remove(store.meta, 'a');
    assert.is(p1, p2, 'one promise for the group');
    await new Promise((r) => setTimeout(r, 10));
    assert.is(q.pending, 3, 'not issued before the delay');
    assert.is(store.meta.get('b'), undefined);
    await p2;
    assert.is(q.pending, 0);
    assert.is(store.meta.get('a'), undefined, 'the delete came after the put');
    assert.is(store.meta.get('b'), 2);
    assert.is(q.groups, 1);
  });
});

test('write-queue - writes of separate turns within the delay share one transaction', async () => {
  await withStore(20, async (store) => {
    const q = store.writes;
    const ps: Promise<boolean>[] = [];
    for (let i = 0; i < 5; i++) {
      ps.push(q.put(store.meta, `k${i}`, i));
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(ps.every((p) => p === ps[0]), 'five turns, one group');
    const txn0 = (store.root.getStats() as { lastTxnId: number }).lastTxnId;
    await ps[0];
    assert.is(q.groups, 1);
    assert.is((store.root.getStats() as { lastTxnId: number }).lastTxnId, txn0 + 1, 'one LMDB transaction');
    for (let i = 0; i < 5; i++) assert.is(store.meta.get(`k${i}`), i);
  });
});

test('write-queue - a full group closes after the current synchronous work, never between two writes of it', async () => {
  await withStore(10_000, async (store) => {
    const q = store.writes;
    const max = 20_000;
    let p: Promise<boolean> | null = null;
    for (let i = 0; i < max + 5; i++) p = q.put(store.meta, `x${i}`, i);
    assert.is(q.pending, max + 5, 'nothing issued in the middle of the synchronous writes');
    await Promise.resolve();
    assert.is(q.pending, 0, 'issued right after them');
    await p;
    assert.is(store.meta.get(`x${max + 4}`), max + 4);
  });
});

test('write-queue - delay 0 closes the group at the end of the event turn', async () => {
  await withStore(0, async (store) => {
    const q = store.writes;
    const p = q.put(store.meta, 'now', true);
    await new Promise((r) => setImmediate(r));
    assert.is(q.pending, 0);
    await p;
    assert.is(store.meta.get('now'), true);
  });
});

test('write-queue - a write lmdb-js refuses fails its whole group, and nobody is left with an unhandled rejection', async () => {
  await withStore(5, async (store) => {
    const q = store.writes;
    const bad = q.put(store.serials, Buffer.alloc(0), Buffer.from('x')); // a zero-length key is refused
    const same = q.put(store.meta, 'ok', 1);
    assert.is(bad, same);
    let failed = false;
    await bad.catch(() => (failed = true));
    assert.ok(failed, 'the group failed');
    const next = q.put(store.meta, 'after', 2);
    await next;
    assert.is(store.meta.get('after'), 2, 'the next group is unaffected');
  });
});

test('write-queue - after the store closed, a write is refused and never reaches LMDB', async () => {
  const tmp = tempDir('sg-wq-');
  const store = Store.open(tmp.dir, { groupCommitMs: 1 });
  await store.close();
  let err: unknown = null;
  await store.writes.put(store.meta, 'late', 1).catch((e: unknown) => (err = e));
  assert.is((err as { code?: string }).code, 'SG_ERR_CLOSED');
  assert.is(store.writes.pending, 0);
  await new Promise((r) => setTimeout(r, 10)); // no timer left to issue anything
  tmp.dispose();
});

test('write-queue - putLast: puts of one key in one group land once, with the last value, in one transaction', async () => {
  await withStore(30, async (store) => {
    const q = store.writes;
    const seen: unknown[] = [];
    const db = store.meta;
    // Count what reaches lmdb-js: the coalesced puts must not be issued at all.
    const put = db.put.bind(db);
    (db as unknown as { put: typeof put }).put = ((k: string, v: unknown) => {
      seen.push([k, v]);
      return put(k, v);
    }) as typeof put;
    const p = q.putLast(db, 'case', { children: ['a'] });
    q.putLast(db, 'pallet', { children: ['case'] });
    q.putLast(db, 'case', { children: ['a', 'b'] });
    const p2 = q.putLast(db, 'case', { children: ['a', 'b', 'c'] });
    q.putLast(db, 'pallet', { children: ['case', 'case2'] });
    assert.is(p, p2, 'one group');
    assert.is(q.pending, 2, 'two keys, two writes queued');
    assert.is(q.coalesced, 3);
    await p2;
    assert.equal(seen, [
      ['case', { children: ['a', 'b', 'c'] }],
      ['pallet', { children: ['case', 'case2'] }],
    ]);
    assert.equal(db.get('case'), { children: ['a', 'b', 'c'] });
    // The next group writes again.
    seen.length = 0;
    await q.putLast(db, 'case', { children: [] });
    assert.equal(seen, [['case', { children: [] }]]);
    assert.equal(db.get('case'), { children: [] });
  });
});

test('write-queue - putLast never moves a value before another write of the same database', async () => {
  await withStore(30, async (store) => {
    const q = store.writes;
    const db = store.meta;
    q.putLast(db, 'k', 1);
    q.remove(db, 'k'); // not a putLast: the next putLast of k must come after it, not replace the first put
    const p = q.putLast(db, 'k', 3);
    q.putLast(db, 'j', 1);
    q.put(db, 'j', 2);
    q.putLast(db, 'j', 3);
    assert.is(q.pending, 6, 'nothing replaced across another write');
    assert.is(q.coalesced, 0);
    await p;
    assert.is(db.get('k'), 3, 'put, delete, put: the last put stands');
    assert.is(db.get('j'), 3);
    // A write to another database does not stop the coalescing in this one.
    q.putLast(db, 'k', 4);
    q.put(store.serials, Buffer.from('x'), Buffer.from('y'));
    await q.putLast(db, 'k', 5);
    assert.is(q.coalesced, 1);
    assert.is(db.get('k'), 5);
  });
});

test('write-queue - putLast compares Buffer keys by their bytes and never replaces across a flush or a full group', async () => {
  await withStore(30, async (store) => {
    const q = store.writes;
    const db = store.serials; // binary keys and values
    const key = () => Buffer.from([1, 2, 3]); // a new Buffer each time, the same bytes
    q.putLast(db, key(), Buffer.from('a'));
    q.putLast(db, key(), Buffer.from('b'));
    assert.is(q.pending, 1);
    assert.is(q.coalesced, 1);
    const first = q.flush();
    const second = q.putLast(db, key(), Buffer.from('c'));
    assert.is.not(second, first, 'a new group after the flush');
    assert.is(q.pending, 1, 'queued, not put into the flushed group');
    await second;
    assert.is(db.getBinary(key())!.toString(), 'c');
    assert.is(q.coalesced, 1);
  });
  await withStore(10_000, async (store) => {
    // A full group closes in a microtask: a putLast after it goes into the next group, as a write of its own.
    const q = store.writes;
    const max = 20_000;
    for (let i = 0; i < max; i++) q.put(store.meta, `x${i}`, i);
    const a = q.putLast(store.meta, 'k', 1);
    await Promise.resolve();
    const b = q.putLast(store.meta, 'k', 2);
    assert.is.not(a, b);
    q.flush(); // (the group delay is long)
    await b;
    assert.is(store.meta.get('k'), 2);
    assert.is(q.coalesced, 0);
  });
});

test.run();
