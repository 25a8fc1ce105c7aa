/** Compact keys and records of the serial cache. */
import { parseSerialKey, serialKey } from '../../gateway/cache/keys.js';
import { SerialOverlay } from '../../gateway/cache/overlay.js';
import { FLAG_ON_HOLD, NO_HISTORY, newRecord, daysToIso, decodeRecord, encodeRecord, historyBytes, historyEntries, isoToDays, type SerialRecord } from '../../gateway/cache/record.js';
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
    lot: 'LOT-A1', parent: '095201234567890122', history: historyBytes([{ op: 3, statusAfter: STATUSES.PACKED, station: 7, timeS: 1_790_000_000 }, { op: 2, statusAfter: STATUSES.RECEIVED, station: 2, timeS: 1_780_000_000 }]),
  };
  const b = encodeRecord(r);
  assert.equal(decodeRecord(b), r);
  assert.equal(historyEntries(decodeRecord(b)), [{ op: 3, statusAfter: STATUSES.PACKED, station: 7, timeS: 1_790_000_000 }, { op: 2, statusAfter: STATUSES.RECEIVED, station: 2, timeS: 1_780_000_000 }]);
  assert.is(encodeRecord({ ...r, parent: '', history: NO_HISTORY }).length, 21, 'a record with a 6-character lot is 21 bytes');
  assert.is(b.length, 21 + 18 + 16);
  assert.throws(() => decodeRecord(Buffer.from([9, 1, 2])), /unknown serial record format/);
});

test('cache - the overlay tells two GTINs with the same serial apart and keeps a record replaced before its commit', () => {
  const o = new SerialOverlay();
  const r = (lot: string) => newRecord(STATUSES.RECEIVED, lot, '');
  const a1 = r('A1');
  const b1 = r('B1');
  const ea = o.set('09520123456788', 'S1', a1);
  const eb = o.set('09520123456795', 'S1', b1);
  assert.is(o.get('09520123456788', 'S1'), a1);
  assert.is(o.get('09520123456795', 'S1'), b1);
  assert.is(o.get('09520123456788', 'S2'), undefined);
  const a2 = r('A2');
  assert.is(o.set('09520123456788', 'S1', a2), ea, 'same entry, new record');
  o.settle(ea, a1);
  assert.is(o.get('09520123456788', 'S1'), a2, 'a1 committed, a2 not yet: a2 stays');
  o.settle(eb, b1);
  assert.is(o.get('09520123456795', 'S1'), undefined);
  assert.is(o.get('09520123456788', 'S1'), a2, 'the other GTIN is still there');
  o.settle(ea, a2);
  assert.is(o.get('09520123456788', 'S1'), undefined);
  assert.is(o.size, 0);
});

test('cache - dates are days since 2000-01-01', () => {
  assert.is(isoToDays('2000-01-02'), 1);
  assert.is(daysToIso(isoToDays('2028-02-29')), '2028-02-29');
  assert.is(isoToDays(''), 0);
  assert.is(daysToIso(0), '');
});

test('cache - days from the digits equal Date.UTC for every date, also out-of-range days and odd strings', () => {
  const utc = (iso: string) => {
    const days = Math.round((Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) - Date.UTC(2000, 0, 1)) / 86_400_000);
    return days > 0 && days < 65536 ? days : 0;
  };
  let n = 0;
  for (let y = 1995; y <= 2185; y += 1) {
    for (let m = 0; m <= 13; m++) {
      for (let d = 0; d <= 32; d++) {
        const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        assert.is(isoToDays(iso), utc(iso), iso);
        n++;
      }
    }
  }
  for (const odd of ['2030-1-01', 'abcd-ef-gh', '2030/12/31', '2030-12-31T00:00']) assert.is(isoToDays(odd), utc(odd), odd);
  assert.ok(n > 80_000);
});

test.run();
