/** The outbox on a real LMDB in a temp dir: append, seal by count and age, rebuild bytes, ack, recover. */
import { Outbox, recentEvent, type OutboxOptions } from '../../gateway/outbox/outbox.js';
import { eventCount } from '../../gateway/outbox/block.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { Store } from '../../gateway/store.js';
import { ScanEvent, decodeEventBatch } from '../../protocol/index.js';
import { silentLog, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('outbox');
const OPTS: OutboxOptions = { gatewayId: 'gw', site: 's1', maxEvents: 3, maxBytes: 1_000_000, maxDelayMs: 30, outboxMaxBytes: 10_000_000, durability: 'sync' };

function ev(ob: Outbox, serial: string) {
  const seq = ob.reserveSeq();
  return ob.append(seq, KIND_SCAN, ScanEvent.encode({ eventId: ob.eventId(seq), serial }).finish());
}

test('outbox - seals by count and by age; batch bytes decode to the events in order', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const ob = new Outbox(store, OPTS, silentLog);
    await Promise.all(['a', 'b', 'c', 'd'].map((s) => ev(ob, s)));
    assert.is(ob.stats().sealedBatches, 1, 'three events sealed a batch');
    assert.is(ob.stats().openEvents, 1);
    await new Promise((r) => setTimeout(r, 60));
    assert.is(ob.stats().sealedBatches, 2, 'the fourth was sealed by age');
    await ob.committed();
    const batches = [...ob.sealedBatches()];
    assert.equal(batches.map((b) => b.seq), [1, 2]);
    const decoded = decodeEventBatch(ob.batchBytes(batches[0]!));
    assert.equal(decoded.events.map((e) => e.serial), ['a', 'b', 'c']);
    assert.is(decoded.gatewayId, 'gw');
    assert.is(decoded.batchSeq, 1);
    assert.is(decoded.site, 's1');
    assert.equal(ob.batchBytes(batches[0]!), ob.batchBytes(batches[0]!), 'identical bytes on every rebuild');
    await ob.ack(batches[0]!);
    assert.is(ob.stats().events, 1);
    assert.is(ob.stats().sealedBatches, 1);
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('outbox - recovery: unsealed events are sealed at start, sequences never go back', async () => {
  const tmp = tempDir();
  try {
    let store = Store.open(tmp.dir);
    let ob = new Outbox(store, { ...OPTS, maxDelayMs: 60_000 }, silentLog);
    const epoch = ob.epoch;
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => ev(ob, s)));
    const firstBatch = [...ob.sealedBatches()][0]!;
    const firstBytes = ob.batchBytes(firstBatch);
    await ob.ack(firstBatch);
    ob.close(); // without flush: d, e are in the journal but in no batch (as after a crash)
    await store.close();

    store = Store.open(tmp.dir);
    ob = new Outbox(store, OPTS, silentLog);
    assert.is(ob.epoch, epoch, 'event ids keep their epoch');
    assert.is(ob.stats().events, 2);
    await ob.committed();
    const batches = [...ob.sealedBatches()];
    assert.is(batches.length, 1);
    assert.is(batches[0]!.seq, 2, 'batch seq continues');
    assert.equal(decodeEventBatch(ob.batchBytes(batches[0]!)).events.map((e) => e.serial), ['d', 'e']);
    assert.ok(ob.reserveSeq() > 5, 'event seq continues');
    assert.not.equal(ob.batchBytes(batches[0]!), firstBytes);
    await store.close();
  } finally {
    tmp.dispose();
  }
});

test('outbox - full at outbox.maxBytes, and room again after an ack', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const ob = new Outbox(store, { ...OPTS, outboxMaxBytes: 200 }, silentLog);
    let i = 0;
    while (!ob.full) await ev(ob, `serial-${i++}`);
    assert.ok(i > 1);
    let released = false;
    const wait = ob.whenNotFull().then(() => (released = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.is(released, false, 'held while full');
    ob.seal();
    await ob.committed();
    for (const b of [...ob.sealedBatches()]) await ob.ack(b);
    await wait;
    assert.is(released, true);
    assert.is(ob.full, false);
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('outbox - events of one write group are one journal block; a journal of single events (before blocks) reads the same', async () => {
  const tmp = tempDir();
  try {
    let store = Store.open(tmp.dir);
    // As a gateway before blocks left it: one value per event, a sealed batch of two and one unsealed event.
    const single = (seq: number, serial: string) => {
      const v = ScanEvent.encode({ eventId: `gw:old:${seq}`, serial }).finish();
      return Buffer.concat([Buffer.from([KIND_SCAN]), v]);
    };
    await store.journal.put(1, single(1, 'o1'));
    await store.journal.put(2, single(2, 'o2'));
    await store.journal.put(3, single(3, 'o3'));
    await store.batches.put(1, { first: 1, last: 2, createdMs: 1, count: 2, bytes: single(1, 'o1').length + single(2, 'o2').length });
    await store.meta.put('eventSeq', 3);
    await store.close();

    store = Store.open(tmp.dir);
    const ob = new Outbox(store, { ...OPTS, maxEvents: 100, maxDelayMs: 60_000 }, silentLog);
    assert.is(ob.stats().events, 3, 'old events counted');
    await Promise.all(['n1', 'n2', 'n3'].map((s) => ev(ob, s)));
    const keys = [...store.journal.getKeys()];
    assert.equal(keys, [1, 2, 3, 4], 'the three new events are one value, keyed by the first');
    assert.is(eventCount(store.journal.get(4)!), 3);
    ob.seal();
    await ob.committed();
    const batches = [...ob.sealedBatches()];
    assert.equal(batches.map((b) => decodeEventBatch(ob.batchBytes(b)).events.map((e) => e.serial)), [['o1', 'o2'], ['o3'], ['n1', 'n2', 'n3']], 'the unsealed old event was sealed at start');
    for (const b of batches) await ob.ack(b);
    await ob.committed();
    assert.is(ob.stats().events, 0);
    assert.equal([...store.journal.getKeys()], [], 'journal empty after the acks');
    const recent = [...store.recent.getRange()].map(({ key, value }) => ({ key, n: eventCount(recentEvent(value)!.value) }));
    assert.equal(recent, [{ key: 1, n: 1 }, { key: 2, n: 1 }, { key: 3, n: 1 }, { key: 4, n: 3 }], 'acknowledged scan events kept in recent, as stored');
    await store.close();
  } finally {
    tmp.dispose();
  }
});

test('outbox - an event alone in its write group is on disk when its promise resolves', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir, { groupCommitMs: 2 });
  try {
    const ob = new Outbox(store, { ...OPTS, maxEvents: 100, maxDelayMs: 60_000 }, silentLog);
    await ev(ob, 'lonely');
    assert.is(eventCount(store.journal.get(1) ?? Buffer.alloc(0)), 1, 'stored before the promise resolved');
    ob.close();
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test.run();
