/** Import: CSV fields, row validation with line numbers, all-or-nothing. */
import { importFile } from '../../gateway/import/index.js';
import { splitCsvLine } from '../../gateway/import/csv.js';
import { lookupSerial } from '../../gateway/lookup.js';
import { Store } from '../../gateway/store.js';
import { GatewayError } from '../../gateway/errors.js';
import { demoGtin, tempDir, writeCsv } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('import');
const G = demoGtin(1);

test('import - CSV fields: quotes protect , and " in serials', () => {
  assert.equal(splitCsvLine('a,b,,d'), ['a', 'b', '', 'd']);
  assert.equal(splitCsvLine('"x,y","say ""hi""",z'), ['x,y', 'say "hi"', 'z']);
  assert.is(splitCsvLine('"open'), 'unterminated quoted field');
  assert.match(String(splitCsvLine('"a"b,c')), /after a quoted field/);
});

test('import - loads rows; lookup shows them', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const res = await importFile(store, writeCsv(tmp.dir, [[G, 'A1', 'L1', '2030-12-31', 'RECEIVED'], [G, '"x,""y"', '', '', 'commissioned']]));
    assert.is(res.imported, 2);
    assert.equal(lookupSerial(store, G, 'A1'), { gtin: G, serial: 'A1', status: 'RECEIVED', lot: 'L1', expiry: '2030-12-31', flags: [] });
    assert.is(lookupSerial(store, G, 'x,"y')?.status, 'COMMISSIONED');
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('import - any bad row: every bad row listed with its line, nothing imported', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const file = writeCsv(tmp.dir, [
      [G, 'OK1', 'L1', '2030-12-31', 'RECEIVED'],
      ['09520123456787', 'S', '', '', 'RECEIVED'],
      [G, 'has space', '', '', 'RECEIVED'],
      [G, 'S2', '', '2030-02-30', 'RECEIVED'],
      [G, 'S3', '', '', 'FLYING'],
      [G, 'OK1', '', '', 'RECEIVED'],
      [G, 'S4', ''],
    ]);
    const err = await importFile(store, file).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof GatewayError);
    assert.is((err as GatewayError).code, 'SG_ERR_IMPORT_INVALID');
    const msg = (err as GatewayError).message;
    assert.match(msg, /6 bad rows, nothing imported/);
    assert.match(msg, /line 3: gtin 09520123456787 has check digit 7, expected 8/);
    assert.match(msg, /line 4: serial "has space" has a character outside GS1 character set 82/);
    assert.match(msg, /line 5: expiry "2030-02-30"/);
    assert.match(msg, /line 6: status "FLYING"/);
    assert.match(msg, /line 7: serial OK1 .* appears twice/);
    assert.match(msg, /line 8: expected 5 fields/);
    assert.is(lookupSerial(store, G, 'OK1'), undefined, 'the good row was not imported either');
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('import - a wrong header is refused', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${tmp.dir}/h.csv`, 'serial,gtin\n');
    const err = await importFile(store, `${tmp.dir}/h.csv`).then(() => null, (e: unknown) => e);
    assert.is((err as GatewayError).code, 'SG_ERR_IMPORT_READ');
    assert.match((err as GatewayError).message, /expected "gtin,serial,lot,expiry,status"/);
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test.run();
