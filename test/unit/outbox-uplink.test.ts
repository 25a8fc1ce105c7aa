/**
 * What the outbox offers the uplink, on a real LMDB in a temp dir: batch bytes equal to a full protobuf encode,
 * cumulative acks, the published numbering and its floor, the full alarm, and batch numbers that survive a
 * restart.
 */
import { encodeBatch, KIND_SCAN } from '../../gateway/outbox/encode.js';
import { Outbox, type OutboxOptions } from '../../gateway/outbox/outbox.js';
import { Store } from '../../gateway/store.js';
import { AggregationEvent, EventBatch, ScanEvent, decodeEventBatch, encodeEventBatch } from '../../protocol/index.js';
import { silentLog, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('outbox-uplink');
const OPTS: OutboxOptions = { gatewayId: 'gw-1', site: 'plant-a', maxEvents: 4, maxBytes: 1_000_000, maxDelayMs: 60_000, outboxMaxBytes: 10_000_000, durability: 'sync' };

function ev(ob: Outbox, serial: string): Promise<void> {
  const seq = ob.reserveSeq();
  return ob.append(seq, KIND_SCAN, ScanEvent.encode({ eventId: ob.eventId(seq), serial, raw: Buffer.from(`]d2${serial}`), eventTimeMs: 1_760_000_000_000 + seq }).finish());
}

async function withOutbox(opts: Partial<OutboxOptions>, fn: (ob: Outbox, store: Store, dir: string) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    await fn(new Outbox(store, { ...OPTS, ...opts }, silentLog), store, tmp.dir);
  } finally {
    await store.close().catch(() => undefined);
    tmp.dispose();
  }
}

test('outbox-uplink - batch bytes are exactly a protobuf encode of the EventBatch (identical on every rebuild)', async () => {
  await withOutbox({}, async (ob) => {
    await Promise.all(['a', 'b', 'c', 'd', 'é-ü'].map((s) => ev(ob, s)));
    ob.seal();
    await ob.committed();
    for (const b of ob.sealedBatches()) {
      const bytes = Buffer.from(ob.batchBytes(b));
      const decoded = decodeEventBatch(bytes);
      const full = Buffer.from(encodeEventBatch({ gatewayId: decoded.gatewayId, batchSeq: decoded.batchSeq, createdMs: decoded.createdMs, events: decoded.events, site: decoded.site }));
      assert.ok(bytes.equals(full), `batch ${b.seq}: concatenation equals the protobuf encode`);
      assert.ok(bytes.equals(Buffer.from(ob.batchBytes(b))), 'identical on rebuild');
      assert.is(decoded.site, 'plant-a');
    }
    // Aggregation events (kind 5) and an empty site encode the same way as protobufjs does.
    const agg = AggregationEvent.encode({ eventId: 'x', parentSscc: '095201234567890122', action: 1 }).finish();
    const scan = ScanEvent.encode({ eventId: 'y', serial: 'S' }).finish();
    const mine = Buffer.from(encodeBatch('g', '', 300, 1_760_000_000_001, [Buffer.concat([Buffer.from([4]), scan]), Buffer.concat([Buffer.from([5]), agg])]));
    const full = Buffer.from(EventBatch.encode({ gatewayId: 'g', batchSeq: 300, createdMs: 1_760_000_000_001, events: [ScanEvent.decode(scan)], aggregations: [AggregationEvent.decode(agg)] }).finish());
    assert.ok(mine.equals(full), 'scan + aggregation, no site');
  });
});

test('outbox-uplink - ackThrough deletes every batch up to a number, once, and frees space at once', async () => {
  await withOutbox({}, async (ob) => {
    for (let i = 0; i < 12; i++) await ev(ob, `s${i}`);
    await ob.committed();
    assert.is(ob.stats().sealedBatches, 3);
    const bytes = ob.stats().bytes;
    const r = ob.ackThrough(2);
    assert.is(r.batches, 2);
    assert.is(ob.stats().sealedBatches, 1, 'counted at once');
    assert.is(ob.stats().events, 4);
    assert.ok(ob.stats().bytes < bytes / 2);
    assert.is(ob.ackThrough(2).batches, 0, 'a repeated ack (before the delete is committed) changes nothing');
    assert.is(ob.ackThrough(1).batches, 0);
    await r.done;
    assert.equal([...ob.sealedBatches()].map((b) => b.seq), [3], 'only batch 3 is left');
    assert.is(ob.firstSealed()?.seq, 3);
    assert.is(ob.stats().ackedEvents, 8);
  });
});

test('outbox-uplink - a raised floor moves the published numbers (batch_seq and id) above it, persisted', async () => {
  const tmp = tempDir();
  try {
    let store = Store.open(tmp.dir);
    let ob = new Outbox(store, OPTS, silentLog);
    for (let i = 0; i < 8; i++) await ev(ob, `s${i}`);
    await ob.committed();
    assert.is(ob.publishedSeq(1), 1);
    assert.is(ob.raisePublishedFloor(0), false, 'no change when our numbers are above the floor already');
    assert.is(ob.raisePublishedFloor(41), true);
    assert.is(ob.publishedSeq(1), 42, 'the first unsent batch goes out as 42');
    assert.is(ob.localSeq(43), 2);
    const first = ob.firstSealed()!;
    assert.is(decodeEventBatch(ob.batchBytes(first)).batchSeq, 42);
    ob.close();
    await store.close();
    store = Store.open(tmp.dir);
    ob = new Outbox(store, OPTS, silentLog);
    assert.is(ob.publishedSeq(2), 43, 'the offset survives a restart, so retries carry the same bytes');
    assert.is(ob.stats().batchSeqOffset, 41);
    await store.close();
  } finally {
    tmp.dispose();
  }
});

test('outbox-uplink - full: the alarm is raised once per episode and cleared when acks free space', async () => {
  await withOutbox({ outboxMaxBytes: 300, maxEvents: 2 }, async (ob) => {
    let i = 0;
    while (!ob.full) await ev(ob, `serial-${i++}`);
    await ev(ob, 'one-more'); // the adapters hold reads, but one in flight may still land
    const st = ob.stats();
    assert.is(st.fullEpisodes, 1);
    assert.ok(st.fullSinceMs !== null);
    let released = false;
    const wait = ob.whenNotFull().then(() => (released = true));
    ob.seal();
    await ob.committed();
    const last = [...ob.sealedBatches()].pop()!;
    ob.ackThrough(last.seq);
    await wait;
    assert.ok(released);
    assert.is(ob.stats().fullSinceMs, null, 'alarm cleared');
    while (!ob.full) await ev(ob, `serial-${i++}`);
    assert.is(ob.stats().fullEpisodes, 2, 'a second episode');
  });
});

test('outbox-uplink - onSealed fires once the marker is readable; batch numbers keep rising across restarts', async () => {
  const tmp = tempDir();
  try {
    let store = Store.open(tmp.dir);
    let ob = new Outbox(store, OPTS, silentLog);
    let readable = -1;
    ob.onSealed(() => (readable = [...ob.sealedBatches()].length));
    for (let i = 0; i < 4; i++) void ev(ob, `s${i}`);
    assert.is(readable, -1, 'not told before the commit');
    const end = Date.now() + 2000;
    while (readable < 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.is(readable, 1, 'told when the sealed batch can be read');
    ob.ackThrough(1);
    await ob.flush();
    ob.close();
    await store.close();
    store = Store.open(tmp.dir);
    ob = new Outbox(store, OPTS, silentLog);
    for (let i = 0; i < 4; i++) await ev(ob, `t${i}`);
    await ob.committed();
    assert.equal([...ob.sealedBatches()].map((b) => b.seq), [2], 'batch 1 was sent and deleted; the next is 2, never 1 again');
    await store.close();
  } finally {
    tmp.dispose();
  }
});

test.run();
