/** The import's index of records already named: agrees with a Set over many rows, through growth and clashes. */
import { SeenRecords } from '../../gateway/import/seen.js';
import type { ImportRow, SerialRow } from '../../gateway/import/rows.js';
import { demoGtin } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('import-seen');

function serialRow(gtin: string, serial: string): SerialRow {
  return { kind: 'serial', line: 0, gtin, serial, lot: '', expiry: '', status: 3, parent: '', flags: 0 };
}

test('import-seen - a serial named twice is refused; the same serial under another GTIN is not', () => {
  const rows: SerialRow[] = [];
  const seen = new SeenRecords(rows);
  const keep = (r: SerialRow) => {
    const ok = seen.add(r);
    if (ok) rows.push(r);
    return ok;
  };
  assert.ok(keep(serialRow(demoGtin(1), 'A1')));
  assert.ok(keep(serialRow(demoGtin(2), 'A1')));
  assert.not.ok(keep(serialRow(demoGtin(1), 'A1')));
  assert.ok(keep(serialRow(demoGtin(1), 'A10')));
  assert.is(rows.length, 3);
});

test('import-seen - agrees with a Set over 300,000 rows with repeats (several growths of the table)', () => {
  const rows: SerialRow[] = [];
  const seen = new SeenRecords(rows);
  const reference = new Set<string>();
  const gtins = [demoGtin(1), demoGtin(2), demoGtin(3)];
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  let refused = 0;
  for (let i = 0; i < 300_000; i++) {
    // Serials drawn from a space smaller than the row count, so that many repeat.
    const gtin = gtins[next() % 3]!;
    const serial = `S${next() % 150_000}`;
    const expected = !reference.has(gtin + '|' + serial);
    reference.add(gtin + '|' + serial);
    const r = serialRow(gtin, serial);
    const got = seen.add(r);
    if (got !== expected) assert.unreachable(`row ${i} (${gtin} ${serial}): index said ${got}, a Set says ${expected}`);
    if (got) rows.push(r);
    else refused++;
  }
  assert.is(rows.length, reference.size);
  assert.ok(refused > 50_000, `only ${refused} repeats were drawn`);
});

test('import-seen - containers, lots and products are told apart by kind', () => {
  const seen = new SeenRecords([]);
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
