/**
 * The disk guard (gateway/disk-guard.ts) with a probe the test sets, the outbox's disk-low state on a real LMDB
 * (full, its waiters, its stats), and the limit on repeated failure logs.
 */
import { DiskGuard, freeDiskBytes } from '../../gateway/disk-guard.js';
import { LogLimit } from '../../gateway/log-limit.js';
import { Outbox, type OutboxOptions } from '../../gateway/outbox/outbox.js';
import { Store } from '../../gateway/store.js';
import { silentLog, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('disk-guard');
const MB = 1_048_576;

test('disk-guard - flips at the threshold, tells each flip once, keeps its state when it cannot look', () => {
  let free = 500 * MB;
  const flips: [boolean, number][] = [];
  const g = new DiskGuard({ dir: '/nowhere', minFreeBytes: 100 * MB, probe: () => {
    if (free < 0) throw new Error('ENOENT: no such directory');
    return free;
  } }, (low, f) => flips.push([low, f]));
  assert.is(g.check(), false);
  assert.equal(flips, [], 'no flip while above the threshold');
  free = 100 * MB;
  assert.is(g.check(), false, 'exactly the threshold is not low');
  free = 100 * MB - 1;
  assert.is(g.check(), true);
  assert.is(g.check(), true);
  assert.equal(flips, [[true, 100 * MB - 1]], 'one flip for two checks below');
  free = -1;
  assert.is(g.check(), true, 'a failed look keeps the last state');
  assert.match(g.lastError ?? '', /ENOENT/);
  assert.is(g.freeBytes, 100 * MB - 1, 'and the last figure');
  free = 300 * MB;
  assert.is(g.check(), false);
  assert.is(g.lastError, null);
  assert.equal(flips, [[true, 100 * MB - 1], [false, 300 * MB]]);
});

test('disk-guard - 0 turns it off: never low, never looks', () => {
  let looked = 0;
  const g = new DiskGuard({ dir: '/x', minFreeBytes: 0, probe: () => (looked++, 0) }, () => assert.unreachable('no flip'));
  g.start();
  assert.is(g.check(), false);
  g.stop();
  assert.is(looked, 0);
});

test('disk-guard - start() looks at once, then on its interval', async () => {
  let looked = 0;
  const g = new DiskGuard({ dir: '/x', minFreeBytes: 10, intervalMs: 20, probe: () => (looked++, 5) }, () => undefined);
  g.start();
  assert.is(looked, 1, 'first look before start() returns');
  assert.is(g.low, true);
  await new Promise((r) => setTimeout(r, 110));
  g.stop();
  const n = looked;
  assert.ok(n >= 3, `looked again on the interval (${n})`);
  await new Promise((r) => setTimeout(r, 60));
  assert.is(looked, n, 'stop() stops looking');
});

test('disk-guard - the real probe reads this filesystem', () => {
  const tmp = tempDir();
  try {
    const free = freeDiskBytes(tmp.dir);
    assert.ok(Number.isFinite(free) && free > 0, `free bytes ${free}`);
  } finally {
    tmp.dispose();
  }
});

const OPTS: OutboxOptions = { gatewayId: 'gw', site: 's1', maxEvents: 100, maxBytes: 1_000_000, maxDelayMs: 30, outboxMaxBytes: 10_000_000, durability: 'sync' };

test('disk-guard - a low disk makes the outbox full until it clears; waiters run when it does', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const ob = new Outbox(store, OPTS, silentLog);
    assert.is(ob.full, false);
    await ob.whenDiskOk(); // not low: at once
    ob.setDiskLow(true, 5 * MB, 256 * MB);
    assert.is(ob.full, true, 'full while the disk is low');
    assert.is(ob.fullCode, 'SG_ERR_DISK_LOW');
    const st = ob.stats();
    assert.is(st.diskLow, true);
    assert.is(st.diskLowEpisodes, 1);
    assert.ok(st.diskLowSinceMs !== null);
    assert.is(st.fullEpisodes, 0, 'the outbox\'s own bound was not reached');
    const order: string[] = [];
    const room = ob.whenNotFull().then(() => order.push('room'));
    const ok = ob.whenDiskOk().then(() => order.push('disk'));
    ob.setDiskLow(true, 4 * MB, 256 * MB); // the same state again: nothing
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(order, [], 'nobody runs while the disk is low');
    assert.is(ob.stats().diskLowEpisodes, 1, 'one episode');
    ob.setDiskLow(false, 400 * MB, 256 * MB);
    await Promise.all([room, ok]);
    assert.equal(order.sort(), ['disk', 'room']);
    assert.is(ob.full, false);
    assert.is(ob.fullCode, 'SG_ERR_OUTBOX_FULL');
    assert.is(ob.stats().diskLowSinceMs, null);
    ob.close();
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('disk-guard - a repeated failure is logged once per interval with the count held back', () => {
  const lim = new LogLimit(1000);
  assert.equal(lim.take(10_000), {}, 'the first is logged');
  assert.is(lim.take(10_001), null);
  assert.is(lim.take(10_999), null);
  assert.equal(lim.take(11_000), { suppressedSinceLastLog: 2 }, 'the next one says how many were not');
  assert.equal(lim.take(12_500), {}, 'none held back since');
});

test.run();
