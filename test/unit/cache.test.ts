/** Compact keys and records of the serial cache. */
import { parseSerialKey, serialKey } from '../../gateway/cache/keys.js';
import { FLAG_ON_HOLD, daysToIso, decodeRecord, encodeRecord, isoToDays, type SerialRecord } from '../../gateway/cache/record.js';
import { STATUSES } from '../../gateway/reasons.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('cache');

test('cache - serial keys are 6 bytes of GTIN plus the serial, and round-trip', () => {
  for (const [gtin, serial] of [['09520123456788', 'S3R!AL%x7'], ['99999999999994', '12345678901234567890'], ['00000000000000', 'a']] as const) {
    const k = serialKey(gtin, serial);
    assert.is(k.length, 6 + serial.length);
    assert.equal(parseSerialKey(k), { gtin, serial });
  }
  assert.not.equal(serialKey('09520123456788', 'A'), serialKey('09520123456795', 'A'));
});

test('cache - records round-trip and stay small', () => {
  const r: SerialRecord = {
    status: STATUSES.PACKED, flags: FLAG_ON_HOLD, prevStatus: STATUSES.RECEIVED, lastOp: 3, expiryDays: isoToDays('2028-02-29'), lastChangeS: 1_790_000_000,
    lot: 'LOT-A1', parent: '095201234567890122', history: [{ op: 3, statusAfter: STATUSES.PACKED, station: 7, timeS: 1_790_000_000 }, { op: 2, statusAfter: STATUSES.RECEIVED, station: 2, timeS: 1_780_000_000 }],
  };
  const b = encodeRecord(r);
  assert.equal(decodeRecord(b), r);
  assert.is(encodeRecord({ ...r, parent: '', history: [] }).length, 21, 'a record with a 6-character lot is 21 bytes');
  assert.is(b.length, 21 + 18 + 16);
  assert.throws(() => decodeRecord(Buffer.from([9, 1, 2])), /unknown serial record format/);
});

test('cache - dates are days since 2000-01-01', () => {
  assert.is(isoToDays('2000-01-02'), 1);
  assert.is(daysToIso(isoToDays('2028-02-29')), '2028-02-29');
  assert.is(isoToDays(''), 0);
  assert.is(daysToIso(0), '');
});

test.run();
