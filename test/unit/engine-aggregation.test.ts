/** Aggregation scenarios through the real pipeline on LMDB: items -> cases -> pallet -> ship, and the repairs. */
import { Cache } from '../../gateway/cache/cache.js';
import { decodeEventBatch } from '../../protocol/index.js';
import { STATUSES } from '../../gateway/reasons.js';
import { engineHarness, type Harness } from '../helpers/engine.js';
import { demoGtin, dm } from '../helpers/gateway.js';
import { gs1CheckDigit } from '../../gateway/parse/index.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('engine-aggregation');
const G = demoGtin(7);
const sscc = (n: number) => {
  const body = `09520000${String(n).padStart(9, '0')}`;
  return body + gs1CheckDigit(body);
};
const ssccRead = (n: number) => `]C100${sscc(n)}`;
const item = (serial: string, lot = 'L1') => dm(G, serial, lot, '311231');

const STATIONS = [
  { id: 'case', operation: 'aggregate' as const, capacity: 3 },
  { id: 'loose', operation: 'aggregate' as const, strictAggregation: false },
  { id: 'pallet', operation: 'aggregate' as const, childType: 'container' as const },
  { id: 'camera', operation: 'aggregate' as const, capacity: 4 },
  { id: 'ship', operation: 'ship' as const },
  { id: 'unpack', operation: 'disaggregate' as const },
  { id: 'decommission', operation: 'decommission' as const },
];

function seedItems(h: Harness, prefix: string, n: number, lot = 'L1') {
  for (let i = 1; i <= n; i++) h.seed(G, `${prefix}${i}`, 'RECEIVED', { lot });
}

/** Every event in the outbox, decoded, in order. */
async function events(h: Harness) {
  await h.settle();
  h.outbox.seal();
  await h.settle();
  const all = [...h.outbox.sealedBatches()].map((b) => decodeEventBatch(h.outbox.batchBytes(b)));
  return { scans: all.flatMap((b) => b.events), aggregations: all.flatMap((b) => b.aggregations) };
}

test('aggregation - items -> cases (close on capacity and on the next SSCC) -> pallet -> ship of the whole pallet', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'A', 3);
    seedItems(h, 'B', 2);
    assert.is(h.read('case', ssccRead(1)).reason, 'OK');
    for (const s of ['A1', 'A2', 'A3']) assert.is(h.read('case', item(s)).reason, 'OK', s);
    assert.is(h.cache.getContainer(sscc(1))?.state, 'CLOSED', 'closed on capacity');
    assert.is(h.read('case', item('B1')).reason, 'PARENT_UNKNOWN', 'nothing open after it closed');
    assert.is(h.read('case', ssccRead(2)).reason, 'OK');
    assert.is(h.read('case', item('B1')).reason, 'OK');
    assert.is(h.read('case', item('B2')).reason, 'OK');
    assert.is(h.read('case', ssccRead(3)).reason, 'OK', 'the next SSCC');
    assert.is(h.cache.getContainer(sscc(2))?.state, 'CLOSED', 'closed by the next SSCC');
    assert.equal(h.cache.getContainer(sscc(2))?.children, [`${G}B1`, `${G}B2`]);
    assert.is(h.cache.getSerial(G, 'B2')?.parent, sscc(2));

    assert.is(h.read('pallet', ssccRead(9)).reason, 'OK', 'opens the pallet');
    assert.is(h.read('pallet', ssccRead(3)).reason, 'WRONG_STATUS', 'an open case cannot go on a pallet');
    assert.is(h.read('pallet', ssccRead(9)).reason, 'INVALID_HIERARCHY', 'a pallet cannot contain itself');
    assert.is(h.read('pallet', ssccRead(1)).reason, 'OK');
    assert.is(h.read('pallet', ssccRead(2)).reason, 'OK');
    assert.is(h.read('pallet', ssccRead(1)).reason, 'DUPLICATE_SERIAL');
    assert.is(h.read('ship', ssccRead(9)).reason, 'WRONG_STATUS', 'the pallet is still open');
    assert.equal(h.control('pallet', { cmd: 'closeContainer' }).ok, true);
    const v = h.read('ship', ssccRead(9));
    assert.is(v.reason, 'OK', v.message);
    for (const s of ['A1', 'A2', 'A3', 'B1', 'B2']) assert.is(h.cache.getSerial(G, s)?.status, STATUSES.SHIPPED, `${s} shipped with the pallet`);
    assert.is(h.cache.getContainer(sscc(1))?.status, STATUSES.SHIPPED);
    assert.is(h.read('ship', ssccRead(9)).reason, 'DUPLICATE_SERIAL');

    const { scans, aggregations } = await events(h);
    const adds = aggregations.filter((a) => a.action === 1);
    assert.is(adds.length, 7, 'one ADD per child placed (5 items, 2 cases)');
    assert.equal(adds.filter((a) => a.parentSscc === sscc(9)).map((a) => a.children[0]!.sscc), [sscc(1), sscc(2)]);
    const cause = scans.find((e) => e.serial === 'A1' && e.reason === 0)!;
    assert.is(adds[0]!.causeEventId, cause.eventId, 'the ADD names the read that caused it');
    assert.is(adds[0]!.bizStep, 'packing');
  } finally {
    await h.close();
  }
});

test('aggregation - ship of a container with a recalled lot inside is refused and changes nothing', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'R', 2, 'GOOD');
    h.seed(G, 'R3', 'RECEIVED', { lot: 'BAD' });
    h.read('case', ssccRead(20));
    for (const s of ['R1', 'R2']) h.read('case', item(s, 'GOOD'));
    assert.is(h.read('case', item('R3', 'BAD')).reason, 'OK');
    await h.cache.putLot(G, 'BAD', { flags: 2, expiryDays: 0 });
    const v = h.read('ship', ssccRead(20));
    assert.is(v.reason, 'LOT_RECALLED');
    assert.match(v.message ?? '', /R3/);
    for (const s of ['R1', 'R2', 'R3']) assert.is(h.cache.getSerial(G, s)?.status, STATUSES.PACKED, `${s} not shipped`);
    assert.is(h.cache.getContainer(sscc(20))?.status, STATUSES.COMMISSIONED);
  } finally {
    await h.close();
  }
});

test('aggregation - strict refuses a child of another container; non-strict moves it with both events', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'M', 1);
    h.read('case', ssccRead(30));
    assert.is(h.read('case', item('M1')).reason, 'OK');
    h.read('case', ssccRead(31));
    assert.is(h.read('case', item('M1')).reason, 'CHILD_AGGREGATED_ELSEWHERE');
    h.read('loose', ssccRead(32));
    const v = h.read('loose', item('M1'));
    assert.is(v.reason, 'OK');
    assert.is(h.cache.getSerial(G, 'M1')?.parent, sscc(32));
    assert.equal(h.cache.getContainer(sscc(30))?.children, [], 'out of the old one');
    assert.equal(h.cache.getContainer(sscc(32))?.children, [`${G}M1`]);
    const { aggregations } = await events(h);
    const last2 = aggregations.slice(-2).map((a) => [a.action, a.parentSscc]);
    assert.equal(last2, [[2, sscc(30)], [1, sscc(32)]], 'DELETE from the old parent, then ADD to the new');
  } finally {
    await h.close();
  }
});

test('aggregation - replace item (same GTIN and lot), reset container, decommission disaggregates', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'P', 3);
    h.seed(G, 'NEW', 'RECEIVED');
    h.seed(G, 'OTHERLOT', 'RECEIVED', { lot: 'L2' });
    h.read('case', ssccRead(40));
    for (const s of ['P1', 'P2', 'P3']) h.read('case', item(s));
    const bad = h.control('case', { cmd: 'replaceItem', old: item('P2'), new: `]d201${G}10L2\u001d21OTHERLOT` });
    assert.is(bad.ok, false);
    assert.is(bad.reason, 'DATA_MISMATCH');
    const ok = h.control('case', { cmd: 'replaceItem', old: item('P2'), new: item('NEW') });
    assert.is(ok.ok, true, JSON.stringify(ok));
    assert.equal(h.cache.getContainer(sscc(40))?.children, [`${G}P1`, `${G}P3`, `${G}NEW`]);
    assert.is(h.cache.getContainer(sscc(40))?.state, 'CLOSED', 'a full case stays closed');
    assert.is(h.cache.getSerial(G, 'P2')?.status, STATUSES.RECEIVED);
    assert.is(h.cache.getSerial(G, 'P2')?.parent, '');
    assert.is(h.cache.getSerial(G, 'NEW')?.parent, sscc(40));

    assert.is(h.read('decommission', item('P1')).reason, 'OK');
    assert.equal(h.cache.getContainer(sscc(40))?.children, [`${G}P3`, `${G}NEW`], 'decommission takes it out');

    const reset = h.control('case', { cmd: 'resetContainer', sscc: sscc(40) });
    assert.is(reset.ok, true, JSON.stringify(reset));
    assert.equal(h.cache.getContainer(sscc(40))?.children, []);
    assert.is(h.cache.getSerial(G, 'P3')?.status, STATUSES.RECEIVED);
    assert.is(h.cache.getSerial(G, 'NEW')?.parent, '');
  } finally {
    await h.close();
  }
});

test('aggregation - camera reads: all or nothing, a reason per code, capacity', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'K', 4);
    const rejected = h.read('camera', { codes: [item('K1'), item('K2'), item('NOPE')], parent: ssccRead(50) });
    assert.is(rejected.reason, 'UNKNOWN_SERIAL');
    assert.equal(rejected.children?.map((c) => c.reason), ['OK', 'OK', 'UNKNOWN_SERIAL']);
    assert.is(h.cache.getSerial(G, 'K1')?.status, STATUSES.RECEIVED, 'nothing aggregated');
    assert.is(h.cache.getContainer(sscc(50)), undefined, 'not even the parent');

    const tooMany = h.read('camera', { codes: ['K1', 'K2', 'K3', 'K4', 'K1'].map((s) => item(s)), parent: ssccRead(51) });
    assert.is(tooMany.reason, 'CAPACITY_EXCEEDED');

    const ok = h.read('camera', { codes: [item('K1'), item('K2'), item('K3')], parent: ssccRead(52) });
    assert.is(ok.reason, 'OK', ok.message);
    assert.equal(ok.children?.map((c) => c.reason), ['OK', 'OK', 'OK']);
    assert.is(h.cache.getContainer(sscc(52))?.state, 'CLOSED', 'a camera read is a whole case');
    assert.is(h.cache.getSerial(G, 'K3')?.parent, sscc(52));
    const { scans, aggregations } = await events(h);
    assert.is(scans.filter((e) => e.parent === sscc(52) && e.reason === 0).length, 3, 'one event per item');
    assert.equal(aggregations.at(-1)?.children.map((c) => c.serial), ['K1', 'K2', 'K3'], 'one ADD with the whole case');
  } finally {
    await h.close();
  }
});

test('aggregation - a camera read of one code keeps its parent; the parent is checked whatever the number of codes', async () => {
  const h = engineHarness([...STATIONS, { id: 'cam2', operation: 'aggregate' as const, duplicateReadWindowMs: 2000 }]);
  try {
    seedItems(h, 'M', 6);
    // A container open at the station: a camera read naming another parent goes into that one, never the open one.
    assert.is(h.read('cam2', ssccRead(60)).reason, 'OK', 'opens 60');
    const one = h.read('cam2', { codes: [item('M1')], parent: ssccRead(61) });
    assert.is(one.reason, 'OK', one.message);
    assert.is(h.cache.getSerial(G, 'M1')?.parent, sscc(61));
    assert.equal(h.cache.getContainer(sscc(60))?.children, [], 'nothing went into the open container');
    // The bare 18 digits name a parent as well as a read of it does.
    const bare = h.read('cam2', { codes: [item('M2'), item('M3')], parent: sscc(62) });
    assert.is(bare.reason, 'OK', bare.message);
    assert.is(h.cache.getSerial(G, 'M3')?.parent, sscc(62));
    // Refused, with the field and the fix, for one code as for several.
    const wrongType = h.read('cam2', { codes: [item('M4')], parent: 12 });
    assert.equal([wrongType.reason, wrongType.message], ['MALFORMED', '"parent" must be a string (an SSCC: 18 digits, or a read of one)']);
    const short = h.read('cam2', { codes: [item('M4')], parent: '12345' });
    assert.equal([short.reason, short.message], ['MALFORMED', 'parent: 12345 is not an SSCC: an SSCC has 18 digits (give its 18 digits or a read of it (AI 00))']);
    const badDigit = h.read('cam2', { codes: [item('M4')], parent: `${sscc(63).slice(0, 17)}${(Number(sscc(63)[17]) + 1) % 10}` });
    assert.is(badDigit.reason, 'BAD_CHECK_DIGIT');
    const codeAndParent = h.read('cam2', { code: item('M4'), parent: ssccRead(64) });
    assert.is(codeAndParent.reason, 'MALFORMED');
    assert.match(codeAndParent.message ?? '', /"parent" goes with "codes"/);
    assert.is(h.cache.getSerial(G, 'M4')?.parent, '', 'none of them aggregated M4');
    // One code naming the station's open container is an item like any other: the container stays open.
    assert.is(h.read('cam2', ssccRead(65)).reason, 'OK', 'opens 65');
    assert.is(h.read('cam2', { codes: [item('M4')], parent: ssccRead(65) }).reason, 'OK');
    assert.is(h.cache.getContainer(sscc(65))?.state, 'OPEN');
    assert.is(h.read('cam2', item('M5')).reason, 'OK', 'the next plain read joins it');
    assert.equal(h.cache.getContainer(sscc(65))?.children, [`${G}M4`, `${G}M5`]);
    // An empty or null parent is no parent: a one-code read is then a plain read.
    assert.is(h.read('cam2', { codes: [item('M6')], parent: '' }).reason, 'OK');
    assert.is(h.cache.getSerial(G, 'M6')?.parent, sscc(65));
    // Not at a station that does not aggregate: refused, nothing moved.
    h.seed(G, 'M7', 'PACKED');
    const atShip = h.read('ship', { codes: [item('M7')], parent: ssccRead(66) });
    assert.is(atShip.reason, 'MALFORMED');
    assert.match(atShip.message ?? '', /send it to an aggregate or pack station; at this ship station send one read per code/);
    assert.equal([h.cache.getSerial(G, 'M7')?.status, h.cache.getContainer(sscc(66))], [STATUSES.PACKED, undefined]);
  } finally {
    await h.close();
  }
});

test('aggregation - duplicate reads of camera reads: the parent is part of the read, a raw read of the same codes is another read', async () => {
  const h = engineHarness([{ id: 'cam', operation: 'aggregate' as const, duplicateReadWindowMs: 60_000 }]);
  try {
    seedItems(h, 'D', 4);
    // A raw read of the codes joined with 0x1E is refused as it is; the JSON camera read of the same codes is decided.
    const raw = h.read('cam', `${item('D1')}\u001e${item('D2')}`);
    assert.is(raw.reason === 'OK', false);
    const cam = h.read('cam', { codes: [item('D1'), item('D2')], parent: ssccRead(70) });
    assert.is(cam.reason, 'OK', cam.message);
    assert.is(cam.duplicateRead, undefined, 'not the raw read\'s verdict again');
    // The same codes and parent again: the duplicate read, the same verdict flagged.
    const again = h.read('cam', { codes: [item('D1'), item('D2')], parent: ssccRead(70) });
    assert.equal([again.reason, again.duplicateRead, again.eventId], ['OK', true, cam.eventId]);
    // The same codes with another (or a broken) parent: decided on their own, not answered with the first verdict.
    const other = h.read('cam', { codes: [item('D1'), item('D2')], parent: ssccRead(71) });
    assert.is(other.duplicateRead, undefined);
    assert.is(other.reason, 'CHILD_AGGREGATED_ELSEWHERE', other.message);
    const broken = h.read('cam', { codes: [item('D1'), item('D2')], parent: 'garbage' });
    assert.is(broken.duplicateRead, undefined);
    assert.is(broken.reason === 'OK', false);
  } finally {
    await h.close();
  }
});

test('aggregation - a cycle in the stored hierarchy is refused (INVALID_HIERARCHY)', async () => {
  const h = engineHarness(STATIONS);
  try {
    h.read('pallet', ssccRead(60));
    // An imported hierarchy where case 61 (closed) holds pallet 60: putting 61 on 60 would close a loop.
    await h.cache.putContainer(sscc(61), { state: 'CLOSED', status: STATUSES.COMMISSIONED, prevStatus: STATUSES.COMMISSIONED, capacity: 0, parent: '', children: [`#${sscc(60)}`], gtin: '', lot: '', station: '', flags: 0 });
    const p = h.cache.getContainer(sscc(60))!;
    await h.cache.putContainer(sscc(60), { ...p, parent: sscc(61) });
    assert.is(h.read('pallet', ssccRead(61)).reason, 'INVALID_HIERARCHY');
  } finally {
    await h.close();
  }
});

test('aggregation - containers and station state survive a reopen of the store', async () => {
  const h = engineHarness(STATIONS);
  try {
    seedItems(h, 'S', 1);
    h.read('case', ssccRead(70));
    h.read('case', item('S1'));
    await h.settle();
    const fresh = new Cache(h.store);
    assert.is(fresh.station('L1/case').open, sscc(70));
    assert.equal(fresh.getContainer(sscc(70))?.children, [`${G}S1`]);
  } finally {
    await h.close();
  }
});

test.run();
