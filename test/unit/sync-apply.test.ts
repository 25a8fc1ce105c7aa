/**
 * gateway/sync: central's status updates and peers' transitions applied to a real cache (LMDB in a temp dir):
 * the merge rules, exactly-once application by stream sequence, lots and containers, own batches skipped,
 * double decisions detected.
 */
import { Cache } from '../../gateway/cache/cache.js';
import { FLAG_BLOCKED, FLAG_ON_HOLD, FLAG_RECALLED, historyEntries, isoToDays, newRecord, transitioned } from '../../gateway/cache/record.js';
import { STATUSES, OPERATIONS } from '../../gateway/reasons.js';
import { Store } from '../../gateway/store.js';
import { META_PEER_SEQ, META_STATUS_SEQ, appliedSeq, applyPeerBatch, applyStatusBatch, mergeCentral, mergePeer } from '../../gateway/sync/index.js';
import { decodeEventBatch, decodeStatusUpdateBatch, encodeEventBatch, encodeStatusUpdateBatch, type IScanEvent, type IStatusUpdate } from '../../protocol/index.js';
import { demoGtin, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('sync-apply');
const G = demoGtin(5);
const T0 = Date.UTC(2026, 0, 10, 8, 0, 0);

function statusBatch(updates: IStatusUpdate[], lots: { gtin: string; lot: string; onHold?: boolean; recalled?: boolean; expiry?: string }[] = [], site = 'plant-a') {
  return decodeStatusUpdateBatch(encodeStatusUpdateBatch({ site, createdMs: T0, updates, lots }));
}

function peerBatch(gatewayId: string, events: IScanEvent[]) {
  return decodeEventBatch(encodeEventBatch({ gatewayId, batchSeq: 1, createdMs: T0, site: 'plant-a', events }));
}

function packEvent(serial: string, timeMs: number, gatewayId = 'gw-2'): IScanEvent {
  return {
    eventId: `${gatewayId}:e:${serial}`,
    eventTimeMs: timeMs,
    site: 'plant-a',
    line: 'L2',
    station: 'pack',
    gatewayId,
    operation: OPERATIONS.pack,
    verdict: 1,
    reason: 0,
    gtin: G,
    serial,
    lot: 'L1',
    expiry: '2030-12-31',
    statusBefore: STATUSES.RECEIVED,
    statusAfter: STATUSES.PACKED,
  };
}

async function withCache(fn: (cache: Cache, store: Store) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    await fn(new Cache(store), store);
  } finally {
    await store.close();
    tmp.dispose();
  }
}

test('sync-apply - mergeCentral: central wins unless the local change is newer; hold/recall always follow central', () => {
  const cur = { ...newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31'), lastChangeS: T0 / 1000, flags: FLAG_BLOCKED };
  const older = mergeCentral(cur, { status: STATUSES.COMMISSIONED, lot: 'L1', expiry: '', parent: '', onHold: true, recalled: false, updatedMs: T0 - 60_000 });
  assert.is(older.outcome, 'kept-local');
  assert.is(older.next!.status, STATUSES.RECEIVED, 'an older update never rolls a newer local transition back');
  assert.is(older.next!.flags, FLAG_BLOCKED | FLAG_ON_HOLD, 'but its hold flag counts, and local flags stay');
  const newer = mergeCentral(cur, { status: STATUSES.SHIPPED, lot: 'L1', expiry: '', parent: '095201234567890122', onHold: false, recalled: true, updatedMs: T0 + 1000 });
  assert.is(newer.outcome, 'applied');
  assert.is(newer.next!.status, STATUSES.SHIPPED);
  assert.is(newer.next!.prevStatus, STATUSES.RECEIVED);
  assert.is(newer.next!.parent, '095201234567890122');
  assert.is(newer.next!.flags, FLAG_BLOCKED | FLAG_RECALLED);
  assert.is(mergeCentral(newer.next, { status: STATUSES.SHIPPED, lot: 'L1', expiry: '', parent: '095201234567890122', onHold: false, recalled: true, updatedMs: T0 + 1000 }).outcome, 'same');
  const created = mergeCentral(undefined, { status: STATUSES.EXPECTED, lot: 'LX', expiry: '2031-01-31', parent: '', onHold: false, recalled: false, updatedMs: 0 });
  assert.is(created.outcome, 'created');
  assert.is(created.next!.expiryDays, isoToDays('2031-01-31'));
  assert.is(mergeCentral(cur, { status: 0, lot: '', expiry: '', parent: '', onHold: false, recalled: false, updatedMs: 0 }).next?.status ?? cur.status, STATUSES.RECEIVED, 'STATUS_UNKNOWN carries no status');
});

test('sync-apply - mergePeer: applied when newer, kept when the local change is newer, conflict when both accepted it', () => {
  const cur = newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31');
  const t = { operation: OPERATIONS.pack, statusBefore: STATUSES.RECEIVED, statusAfter: STATUSES.PACKED, lot: 'L1', expiry: '2030-12-31', parent: '', eventTimeMs: T0, station: 9 };
  const local = (id: number) => id === 1;
  const applied = mergePeer(cur, t, local);
  assert.is(applied.outcome, 'applied');
  assert.is(applied.next!.status, STATUSES.PACKED);
  assert.is(historyEntries(applied.next!)[0]!.station, 9, 'the history names the peer station');
  assert.is(mergePeer(applied.next, t, local).outcome, 'same', 'already known');
  const shipped = transitioned(applied.next!, STATUSES.SHIPPED, OPERATIONS.ship, 1, T0 / 1000 + 5);
  assert.is(mergePeer(shipped, { ...t, eventTimeMs: T0 - 2000 }, local).outcome, 'kept-local', 'a late peer event does not undo a newer local ship');
  const packedHere = transitioned(cur, STATUSES.PACKED, OPERATIONS.pack, 1, T0 / 1000);
  assert.is(mergePeer(packedHere, t, local).outcome, 'conflict', 'both gateways packed the same serial');
});

test('sync-apply - status batch: serials, lots and containers written with the stream sequence, once', async () => {
  await withCache(async (cache, store) => {
    void cache.putSerial(G, 'A', newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31'));
    const b = statusBatch(
      [
        { gtin: G, serial: 'A', status: STATUSES.PACKED, parent: '095201234567890122', updatedMs: T0 },
        { gtin: G, serial: 'B', status: STATUSES.RECEIVED, lot: 'L9', expiry: '2031-05-31', onHold: true },
        { sscc: '095201234567890122', status: STATUSES.PACKED },
        { status: STATUSES.SHIPPED }, // names nothing
      ],
      [{ gtin: G, lot: 'L9', recalled: true, expiry: '2031-05-31' }],
    );
    const r = applyStatusBatch(cache, store, b, 7, 'plant-a');
    assert.ok(r.fresh);
    assert.equal([r.applied, r.created, r.lots, r.ignored, r.invalid], [1, 1, 1, 0, 1]);
    assert.equal(r.problems, ['update 3: names no serial (gtin + serial) and no container (sscc)']);
    assert.ok(r.containers >= 1);
    assert.is(cache.getSerial(G, 'A')!.status, STATUSES.PACKED, 'visible at once (overlay), before the commit');
    await r.written;
    assert.is(appliedSeq(store, META_STATUS_SEQ), 7, 'sequence recorded with the writes');
    assert.is(cache.getSerial(G, 'B')!.flags & FLAG_ON_HOLD, FLAG_ON_HOLD);
    assert.is(cache.getLot(G, 'L9')!.flags, FLAG_RECALLED);
    const box = cache.getContainer('095201234567890122')!;
    assert.is(box.status, STATUSES.PACKED);
    assert.equal(box.children, [`${G}A`], 'the item joined its container\'s children');
    // Redelivery of message 7 (ack lost): nothing happens, even though the cache moved on meanwhile.
    void cache.putSerial(G, 'A', transitioned(cache.getSerial(G, 'A')!, STATUSES.SHIPPED, OPERATIONS.ship, 1, T0 / 1000 + 60));
    const again = applyStatusBatch(cache, store, statusBatch([{ gtin: G, serial: 'A', status: STATUSES.RECEIVED, updatedMs: T0 + 120_000 }]), 7, 'plant-a');
    assert.is(again.fresh, false);
    await again.written;
    assert.is(cache.getSerial(G, 'A')!.status, STATUSES.SHIPPED, 'a redelivered message is applied once');
    const other = applyStatusBatch(cache, store, statusBatch([{ gtin: G, serial: 'C', status: STATUSES.RECEIVED }], [], 'plant-b'), 8, 'plant-a');
    await other.written;
    assert.is(other.ignored, 1, 'another site\'s batch is not applied');
    assert.is(other.otherSite, 'plant-b');
    assert.is(cache.getSerial(G, 'C'), undefined);
    assert.is(appliedSeq(store, META_STATUS_SEQ), 8);
  });
});

test('sync-apply - status batch: an update that is not valid is refused whole but for its hold/recall flags, named by its index', async () => {
  await withCache(async (cache, store) => {
    const now = Date.now();
    void cache.putSerial(G, 'P', newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31'));
    const C = '095201234567890139';
    void cache.putContainer(C, { state: 'CLOSED', status: STATUSES.PACKED, prevStatus: STATUSES.PACKED, capacity: 0, parent: '', children: [], gtin: '', lot: '', station: '', flags: 0 });
    const bad: [IStatusUpdate, RegExp][] = [
      [{ gtin: G, serial: 'P', status: STATUSES.PACKED, parent: 'ABCDEFGHIJKLMNOPQR', updatedMs: now }, /parent "ABCDEFGHIJKLMNOPQR" must be an SSCC of 18 digits/],
      [{ gtin: G, serial: 'P', status: STATUSES.PACKED, parent: '12345', updatedMs: now }, /parent "12345" must be an SSCC/],
      [{ gtin: G, serial: 'P', status: STATUSES.PACKED, parent: '095201234567890123', updatedMs: now }, /parent 095201234567890123 has check digit 3, expected 2/],
      [{ gtin: G, serial: 'P', expiry: '2030-02-30', updatedMs: now }, /expiry "2030-02-30" must be a date YYYY-MM-DD that exists/],
      [{ gtin: G, serial: 'P', lot: 'L'.repeat(100), recalled: true, updatedMs: now }, /lot "L{40}\.\.\." must be at most 20 characters.*\(its hold\/recall flags applied\)/],
      [{ gtin: '09520123456789', serial: 'P', status: STATUSES.RECEIVED }, /gtin 09520123456789 has check digit 9, expected 8/],
      [{ gtin: G, status: STATUSES.RECEIVED }, /needs both gtin and serial/],
      [{ sscc: '095201234567890122', parent: '095201234567890122' }, /cannot be its own parent/],
      [{ sscc: C, status: STATUSES.SHIPPED, parent: '12345', onHold: true, updatedMs: now }, /parent "12345" must be an SSCC.*\(its hold\/recall flags applied\)/],
    ];
    const good: IStatusUpdate = { gtin: G, serial: 'Q', status: STATUSES.RECEIVED, lot: 'L1', updatedMs: now };
    const b = statusBatch([...bad.map(([u]) => u), good], [{ gtin: G, lot: 'L'.repeat(21), onHold: true }, { gtin: G, lot: 'L1', expiry: '2031-13-01', recalled: true }]);
    const r = applyStatusBatch(cache, store, b, 9, 'plant-a');
    await r.written;
    assert.is(r.invalid, bad.length + 2);
    assert.is(r.created, 1, 'the valid update of the same message is applied');
    assert.is(r.applied, 0, 'a refused update counts as refused only, also when its flags applied');
    bad.forEach(([, re], i) => assert.match(r.problems[i]!, new RegExp(`^update ${i}: .*${re.source}`)));
    assert.match(r.problems[bad.length]!, /^lot 0: lot "L{21}" must be at most 20/, 'then the lots');
    assert.is(r.problems.length, 10, "the first ten problems are kept for the log");
    const p = cache.getSerial(G, 'P')!;
    assert.equal([p.status, p.parent, p.lot, p.expiryDays], [STATUSES.RECEIVED, '', 'L1', isoToDays('2030-12-31')], 'nothing of a refused update written...');
    assert.is(p.flags & FLAG_RECALLED, FLAG_RECALLED, '...but its recall flag');
    assert.is(cache.getSerial('09520123456789', 'P'), undefined);
    assert.is(cache.getContainer('095201234567890122'), undefined);
    const c = cache.getContainer(C)!;
    assert.equal([c.status, c.parent, c.flags & FLAG_ON_HOLD], [STATUSES.PACKED, '', FLAG_ON_HOLD], 'a refused container update: only its hold flag');
    assert.equal(cache.getLot(G, 'L1'), { flags: FLAG_RECALLED, expiryDays: 0 }, 'a lot recall with a bad expiry: the recall applies, the expiry does not');
    assert.ok(cache.getSerial(G, 'Q') !== undefined);
    assert.is(appliedSeq(store, META_STATUS_SEQ), 9, 'the message counts as applied');
  });
});

test("sync-apply - status batch: what a newer or sloppier central sends is taken as an older one would", async () => {
  await withCache(async (cache, store) => {
    const now = Date.now();
    void cache.putSerial(G, 'R', newRecord(STATUSES.RECEIVED, 'L1', ''));
    void cache.putSerial(G, 'S', { ...newRecord(STATUSES.PACKED, 'L1', ''), parent: 'ABCDEFGHIJKLMNOPQR' }); // stored by an older version
    const r = applyStatusBatch(
      cache,
      store,
      statusBatch([
        { gtin: G, serial: 'R', status: 10 as never, onHold: true, expiry: '2030-02-00', updatedMs: now }, // a status this gateway does not know, day 00
        { sscc: '095201234567890122', gtin: G, status: STATUSES.PACKED }, // a container update that names its GTIN
        { gtin: G, serial: 'T', status: STATUSES.SHIPPED, updatedMs: 8.64e15 }, // a clock far ahead
        { gtin: G, serial: 'S', status: STATUSES.RECEIVED, parent: '', updatedMs: 0 }, // out of a container that is no SSCC
      ]),
      11,
      'plant-a',
    );
    await r.written;
    assert.equal([r.invalid, r.problems], [0, []]);
    const rec = cache.getSerial(G, 'R')!;
    assert.equal([rec.status, rec.flags & FLAG_ON_HOLD, rec.expiryDays], [STATUSES.RECEIVED, FLAG_ON_HOLD, isoToDays('2030-02-28')]);
    assert.is(cache.getContainer('095201234567890122')?.status, STATUSES.PACKED);
    assert.ok(r.clockAheadMs > 1e12, 'the far-ahead time is reported');
    assert.ok(cache.getSerial(G, 'T')!.lastChangeS <= Math.ceil(Date.now() / 1000), 'and taken as now');
    assert.equal([cache.getSerial(G, 'S')!.status, cache.getSerial(G, 'S')!.parent], [STATUSES.RECEIVED, '']);
    // A later update from central is not kept out by the far-ahead one.
    const later = applyStatusBatch(cache, store, statusBatch([{ gtin: G, serial: 'T', status: STATUSES.RECEIVED, updatedMs: Date.now() + 1000 }]), 12, 'plant-a');
    await later.written;
    assert.is(cache.getSerial(G, 'T')!.status, STATUSES.RECEIVED);
    // Peers: an event whose parent is no SSCC is refused, not a reason to stop in the middle of the batch.
    const peer = applyPeerBatch(cache, store, peerBatch('gw-2', [{ ...packEvent('U', now), parent: 'NOT-AN-SSCC' }, packEvent('V', now)]), 1, 'plant-a', 'gw-1');
    await peer.written;
    assert.is(peer.invalid, 1);
    assert.match(peer.problems[0]!, /^event 0: parent "NOT-AN-SSCC" must be an SSCC/);
    // A newer peer's status, a GTIN that is not 14 digits (its key would name another GTIN's serial) and a
    // serial out of set 82 are refused; an aggregation child that is no valid serial is left out.
    const G13 = G.slice(1); // G starts with 0: as a number (the key's 6 bytes) the 13 digits name G
    void cache.putSerial(G, 'W', newRecord(STATUSES.RECEIVED, 'L1', ''));
    const peer2 = applyPeerBatch(
      cache,
      store,
      peerBatch('gw-2', [{ ...packEvent('X', now), statusAfter: 10 as never }, { ...packEvent('W', now), gtin: G13 }, { ...packEvent('Y', now), serial: 'A B' }, { ...packEvent('Z', now), expiry: '2030-02-00' }]),
      2,
      'plant-a',
      'gw-1',
    );
    await peer2.written;
    assert.equal([peer2.invalid, peer2.created], [3, 1]);
    assert.match(peer2.problems[0]!, /^event 0: status_after 10 is not a status this gateway knows/);
    assert.match(peer2.problems[1]!, /^event 1: gtin "\d{13}" must be 14 digits/);
    assert.match(peer2.problems[2]!, /^event 2: serial "A B" must be 1-20 characters/);
    assert.equal([cache.getSerial(G, 'X'), cache.getSerial(G, 'Y')], [undefined, undefined]);
    assert.is(cache.getSerial(G, 'W')!.status, STATUSES.RECEIVED, 'the 13-digit GTIN did not reach the serial its key would name');
    assert.is(cache.getSerial(G, 'Z')!.expiryDays, isoToDays('2030-02-28'), 'day 00: the month\'s last day');
  });
});

test('sync-apply - peer batch: accepted transitions applied, rejects and own batches not, double decisions counted', async () => {
  await withCache(async (cache, store) => {
    for (const s of ['P1', 'P2', 'P3']) void cache.putSerial(G, s, newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31'));
    // This gateway packed P3 itself at a station of its own.
    void cache.putSerial(G, 'P3', transitioned(cache.getSerial(G, 'P3')!, STATUSES.PACKED, OPERATIONS.pack, cache.stationId('L1/pack'), T0 / 1000));
    const reject = { ...packEvent('P2', T0), verdict: 2, reason: 9, statusAfter: STATUSES.RECEIVED };
    const r = applyPeerBatch(cache, store, peerBatch('gw-2', [packEvent('P1', T0 + 500), reject, packEvent('P3', T0 + 200), packEvent('NEW', T0)]), 11, 'plant-a', 'gw-1');
    await r.written;
    assert.equal([r.applied, r.created, r.conflicts, r.ignored], [1, 1, 1, 1]);
    assert.equal(r.conflictKeys, [`${G}/P3`]);
    assert.is(cache.getSerial(G, 'P1')!.status, STATUSES.PACKED);
    assert.is(cache.stationKey(historyEntries(cache.getSerial(G, 'P1')!)[0]!.station), 'gw-2:L2/pack', 'history says which gateway and station');
    assert.is(cache.getSerial(G, 'P2')!.status, STATUSES.RECEIVED, 'a reject changes nothing');
    assert.is(cache.getSerial(G, 'NEW')!.status, STATUSES.PACKED, 'a serial the peer knew and this cache did not');
    assert.is(appliedSeq(store, META_PEER_SEQ), 11);
    const own = applyPeerBatch(cache, store, peerBatch('gw-1', [packEvent('P2', T0 + 900, 'gw-1')]), 12, 'plant-a', 'gw-1');
    await own.written;
    assert.is(cache.getSerial(G, 'P2')!.status, STATUSES.RECEIVED, 'never its own batches');
    assert.is(appliedSeq(store, META_PEER_SEQ), 12);
    assert.is(applyPeerBatch(cache, store, peerBatch('gw-2', [packEvent('P2', T0 + 900)]), 12, 'plant-a', 'gw-1').fresh, false, 'redelivery skipped');
  });
});

test.run();
