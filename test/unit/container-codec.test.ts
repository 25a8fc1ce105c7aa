/** Container records on disk: the bulk format round-trips, and records written as msgpack before it still read. */
import { open } from 'lmdb';
import { join } from 'node:path';
import { containerChildId, itemChildId, newContainer, ssccKey, type ContainerRecord } from '../../gateway/cache/container.js';
import { decodeContainer, encodeContainer } from '../../gateway/cache/container-codec.js';
import { Store } from '../../gateway/store.js';
import { STATUSES } from '../../gateway/reasons.js';
import { demoGtin, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('container-codec');
const SSCC = '095201234567890122';

function sample(children: number): ContainerRecord {
  const r = newContainer('L1/agg', 1200, STATUSES.COMMISSIONED);
  for (let i = 0; i < children; i++) r.children.push(i % 7 === 6 ? containerChildId(`0952012345${String(i).padStart(7, '0')}1`) : itemChildId(demoGtin(i % 3), `S-${i}/x`));
  return Object.assign(r, { state: 'CLOSED', status: STATUSES.PACKED, prevStatus: STATUSES.COMMISSIONED, parent: SSCC, gtin: demoGtin(1), lot: 'LOT-7', flags: 6 });
}

test('container-codec - records round-trip: no child, one, 1,000, and text outside ASCII', () => {
  for (const n of [0, 1, 2, 1000]) {
    const r = sample(n);
    const b = encodeContainer(r);
    assert.is(b[0], 0xc1, 'the bulk format');
    assert.equal(decodeContainer(b), r, `${n} children`);
  }
  const odd = { ...sample(3), station: 'Linie-Ä/Prüfstation 1', lot: '' };
  assert.equal(decodeContainer(encodeContainer(odd)), odd);
  // Bytes as lmdb-js hands them over: a view into a larger reused buffer.
  const b = encodeContainer(sample(5));
  const big = new Uint8Array(b.length + 64);
  big.set(b, 32);
  assert.equal(decodeContainer(big.subarray(32, 32 + b.length)), sample(5));
});

test('container-codec - a child id too long for the length table is stored as msgpack and still reads', () => {
  const r = { ...sample(2), children: ['x'.repeat(70_000), 'y'] };
  const b = encodeContainer(r);
  assert.is.not(b[0], 0xc1);
  assert.equal(decodeContainer(b), r);
});

test('container-codec - a store whose containers were written as msgpack reads them, and rewrites them in the bulk format', async () => {
  const tmp = tempDir();
  try {
    // The table as earlier versions opened it.
    const old = open({ path: join(tmp.dir, 'scangate.mdb'), maxDbs: 16 });
    const table = old.openDB<ContainerRecord, Buffer>({ name: 'containers', encoding: 'msgpack', keyEncoding: 'binary' });
    const before = sample(40);
    await table.put(ssccKey(SSCC), before);
    await old.close();

    const store = Store.open(tmp.dir);
    try {
      assert.is.not(store.containers.getBinary(ssccKey(SSCC))![0], 0xc1, 'still the old bytes');
      assert.equal(store.containers.get(ssccKey(SSCC)), before);
      const after = { ...before, children: [...before.children, itemChildId(demoGtin(2), 'NEW')] };
      await store.containers.put(ssccKey(SSCC), after);
      assert.is(store.containers.getBinary(ssccKey(SSCC))![0], 0xc1);
      assert.equal(store.containers.get(ssccKey(SSCC)), after);
    } finally {
      await store.close();
    }
  } finally {
    tmp.dispose();
  }
});

test('container-codec - a record of a later format is refused with its format named, not misread', () => {
  const b = encodeContainer(sample(1));
  b[1] = 9;
  assert.throws(() => decodeContainer(b), (e: unknown) => (e as { code?: string }).code === 'SG_ERR_STORE' && /format 9/.test((e as Error).message));
});

test.run();
