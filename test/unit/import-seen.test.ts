/**
 * The import's tables of records already named: serials (key bytes in a hash index) agree with a Set over many
 * rows, through growth; the rows in key order for writing; containers, lots and products by their ids.
 */
import { SeenRecords } from '../../gateway/import/seen.js';
import { SerialRows } from '../../gateway/import/serial-rows.js';
import type { ImportRow } from '../../gateway/import/rows.js';
import { decodeRecord, newRecord } from '../../gateway/cache/record.js';
import { parseSerialKey, serialKey } from '../../gateway/cache/keys.js';
import { STATUSES } from '../../gateway/reasons.js';
import { demoGtin } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('import-seen');
const rec = (lot = 'L1') => newRecord(STATUSES.RECEIVED, lot, '2030-12-31');

test('import-seen - a serial named twice is refused; the same serial under another GTIN, or a longer one, is not', () => {
  const rows = new SerialRows();
  assert.ok(rows.add(demoGtin(1), 'A1', rec(), 2));
  assert.ok(rows.add(demoGtin(2), 'A1', rec(), 3));
  assert.not.ok(rows.add(demoGtin(1), 'A1', rec(), 4));
  assert.ok(rows.add(demoGtin(1), 'A10', rec(), 5));
  assert.is(rows.count, 3);
});

test('import-seen - agrees with a Set over 300,000 rows with repeats; keys and records come back as added', () => {
  const rows = new SerialRows();
  const reference = new Map<string, string>();
  const gtins = [demoGtin(1), demoGtin(2), demoGtin(3)];
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  let refused = 0;
  for (let i = 0; i < 300_000; i++) {
    // Serials drawn from a space smaller than the row count, so that many repeat.
    const gtin = gtins[next() % 3]!;
    const serial = `S${next() % 150_000}`;
    const id = `${gtin}|${serial}`;
    const expected = !reference.has(id);
    const lot = `L${i % 97}`;
    if (expected) reference.set(id, lot);
    const got = rows.add(gtin, serial, rec(lot), i);
    if (got !== expected) assert.unreachable(`row ${i} (${gtin} ${serial}): the table said ${got}, a Set says ${expected}`);
    if (!got) refused++;
  }
  assert.is(rows.count, reference.size);
  assert.ok(refused > 50_000, `only ${refused} repeats were drawn`);
  let seen = 0;
  rows.forEach(0, rows.count, (key, value) => {
    const { gtin, serial } = parseSerialKey(key);
    assert.is(decodeRecord(value).lot, reference.get(`${gtin}|${serial}`));
    seen++;
  });
  assert.is(seen, reference.size);
});

test('import-seen - keyOrder gives the rows in LMDB key order (bytes, then length), null when already in it', () => {
  const rows = new SerialRows();
  const gtins = [demoGtin(3), demoGtin(1), demoGtin(2)];
  let x = 777;
  // The high bits of the generator: its low bits repeat with a short period.
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
  const alphabet = 'AB09az-_';
  // Serials of 1-20 characters over a small alphabet with long shared prefixes, so that keys tie on their first
  // 18 bytes (the part compared as numbers), one key is a prefix of another, and lengths differ by one.
  const serials = new Set<string>(['A', 'AA', 'AB', 'A0', 'AAAAAAAAAAAA', 'AAAAAAAAAAAAA', 'AAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAA']);
  while (serials.size < 5000) {
    const len = 1 + (next() % 20);
    let s = next() % 2 === 0 ? 'AAAAAAAAAAAA'.slice(0, Math.min(len, 12)) : '';
    while (s.length < len) s += alphabet[next() % alphabet.length];
    serials.add(s);
  }
  const keys: Buffer[] = [];
  for (const s of serials) {
    const g = gtins[next() % 3]!;
    if (rows.add(g, s, rec(), keys.length)) keys.push(serialKey(g, s));
  }
  const order = rows.keyOrder();
  assert.ok(order !== null);
  const expected = keys.map((k, i) => ({ k, i })).sort((a, b) => Buffer.compare(a.k, b.k)).map((e) => e.i);
  assert.equal([...order!], expected);
  const got: Buffer[] = [];
  rows.forEach(0, rows.count, (key) => void got.push(Buffer.from(key)), order);
  for (let i = 1; i < got.length; i++) if (Buffer.compare(got[i - 1]!, got[i]!) >= 0) assert.unreachable(`rows ${i - 1} and ${i} out of order`);

  const sorted = new SerialRows();
  for (const e of keys.map((k) => parseSerialKey(k)).sort((a, b) => Buffer.compare(serialKey(a.gtin, a.serial), serialKey(b.gtin, b.serial)))) sorted.add(e.gtin, e.serial, rec(), 0);
  assert.is(sorted.keyOrder(), null);
});

test('import-seen - keyOrder: products interleaved, each in order; and more GTINs than the counting sort takes', () => {
  const check = (rows: SerialRows, keys: Buffer[]) => {
    const order = rows.keyOrder();
    assert.ok(order !== null);
    const expected = keys.map((k, i) => ({ k, i })).sort((a, b) => Buffer.compare(a.k, b.k)).map((e) => e.i);
    assert.equal([...order!], expected);
  };
  // A file of 5 products interleaved row by row, each product's serials ascending (one GTIN in reverse).
  const interleaved = new SerialRows();
  const keys: Buffer[] = [];
  for (let j = 0; j < 2000; j++) {
    const g = demoGtin(10 + (j % 5));
    const s = j % 5 === 4 ? `Z${String(9999 - j).padStart(5, '0')}` : `S${String(j).padStart(5, '0')}`;
    interleaved.add(g, s, rec(), j);
    keys.push(serialKey(g, s));
  }
  check(interleaved, keys);
  // 5,000 GTINs, one serial each, in reverse order.
  const many = new SerialRows();
  const manyKeys: Buffer[] = [];
  for (let i = 5000; i > 0; i--) {
    many.add(demoGtin(i), 'S1', rec(), i);
    manyKeys.push(serialKey(demoGtin(i), 'S1'));
  }
  check(many, manyKeys);
  // In order but for the last two rows: not taken for sorted.
  const almost = new SerialRows();
  const almostKeys: Buffer[] = [];
  for (const s of ['A1', 'A2', 'A3', 'A5', 'A4']) {
    almost.add(demoGtin(1), s, rec(), 0);
    almostKeys.push(serialKey(demoGtin(1), s));
  }
  check(almost, almostKeys);
  assert.throws(() => almost.add(demoGtin(1), 'A6', rec(), 0), /after keyOrder/, 'the table is closed once ordered');
});

test('import-seen - serials that name a container are listed for the containers', () => {
  const rows = new SerialRows();
  const inBox = rec();
  inBox.parent = '095201234567890122';
  rows.add(demoGtin(1), 'P1', inBox, 7);
  rows.add(demoGtin(1), 'P2', rec(), 8);
  assert.equal(rows.parented, [{ gtin: demoGtin(1), serial: 'P1', parent: '095201234567890122', line: 7 }]);
});

test('import-seen - containers, lots and products are told apart by kind', () => {
  const seen = new SeenRecords();
  const lot: ImportRow = { kind: 'lot', line: 1, gtin: demoGtin(1), lot: 'L1', flags: 0, expiry: '' };
  const product: ImportRow = { kind: 'product', line: 2, gtin: demoGtin(1), companyPrefixLength: 7, shortDateMarginDays: 0 };
  const container: ImportRow = { kind: 'container', line: 3, sscc: '095201234567890122', status: 4, parent: '', state: 'CLOSED', capacity: 0, flags: 0 };
  assert.ok(seen.add(lot));
  assert.ok(seen.add(product));
  assert.ok(seen.add(container));
  assert.not.ok(seen.add({ ...lot, line: 4 }));
  assert.not.ok(seen.add({ ...product, line: 5 }));
  assert.not.ok(seen.add({ ...container, line: 6 }));
  assert.ok(seen.add({ ...lot, lot: 'L2' }));
});

test.run();
