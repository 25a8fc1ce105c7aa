/** The decision for one item read, from the cached record alone (foundation rules and the status table). */
import { decideItem } from '../../gateway/engine/decide.js';
import { DEFAULT_RULES } from '../../gateway/engine/rules.js';
import { FLAG_RECALLED, isoToDays, newRecord } from '../../gateway/cache/record.js';
import { STATUSES, statusName, type OperationName, type StatusCode } from '../../gateway/reasons.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('decide');
const TODAY = isoToDays('2026-11-22');
const read = { gtin: '09520123456788', serial: 'SN1', lot: 'L1', expiry: '2030-12-31' };
const rec = (s: StatusCode) => newRecord(s, 'L1', '2030-12-31');

test('decide - pack needs RECEIVED and moves it to PACKED', () => {
  const d = decideItem('pack', rec(STATUSES.RECEIVED), read, TODAY, 1000);
  assert.is(d.reason, 'OK');
  assert.is(d.statusBefore, STATUSES.RECEIVED);
  assert.is(d.statusAfter, STATUSES.PACKED);
  assert.is(d.next?.status, STATUSES.PACKED);
  assert.is(d.next?.prevStatus, STATUSES.RECEIVED);
  assert.is(d.next?.lastChangeS, 1000);
});

test('decide - unknown serial -> UNKNOWN_SERIAL', () => {
  assert.is(decideItem('pack', undefined, read, TODAY, 0).reason, 'UNKNOWN_SERIAL');
});

test('decide - a second pack -> WRONG_STATUS naming the current status', () => {
  const first = decideItem('pack', rec(STATUSES.RECEIVED), read, TODAY, 0);
  const second = decideItem('pack', first.next, read, TODAY, 0);
  assert.is(second.reason, 'WRONG_STATUS');
  assert.match(second.message ?? '', /status is PACKED/);
  assert.is(second.next, undefined, 'a reject changes nothing');
});

test('decide - every operation x every cached status follows the table', () => {
  let n = 0;
  for (const op of Object.keys(DEFAULT_RULES) as OperationName[]) {
    for (const s of Object.values(STATUSES).filter((x) => x !== STATUSES.UNKNOWN) as StatusCode[]) {
      const d = decideItem(op, rec(s), read, TODAY, 0, op === 'aggregate' ? '095201234567890122' : undefined);
      const allowed = DEFAULT_RULES[op].from.has(s);
      assert.is(d.reason, allowed ? 'OK' : 'WRONG_STATUS', `${op} from ${statusName(s)}`);
      n++;
    }
  }
  assert.is(n, 10 * 9);
});

test('decide - expired, recalled and data mismatches are refused', () => {
  assert.is(decideItem('pack', newRecord(STATUSES.RECEIVED, 'L1', '2026-11-21'), { ...read, expiry: '2026-11-21' }, TODAY, 0).reason, 'EXPIRED');
  assert.is(decideItem('pack', newRecord(STATUSES.RECEIVED, 'L1', '2026-11-22'), { ...read, expiry: '2026-11-22' }, TODAY, 0).reason, 'OK', 'the expiry day itself is still good');
  assert.is(decideItem('pack', { ...rec(STATUSES.RECEIVED), flags: FLAG_RECALLED }, read, TODAY, 0).reason, 'LOT_RECALLED');
  assert.is(decideItem('pack', rec(STATUSES.RECEIVED), { ...read, lot: 'OTHER' }, TODAY, 0).reason, 'DATA_MISMATCH');
  assert.is(decideItem('pack', rec(STATUSES.RECEIVED), { ...read, expiry: '2031-01-31' }, TODAY, 0).reason, 'DATA_MISMATCH');
});

test('decide - aggregate needs an open container, and sets it as the parent', () => {
  assert.is(decideItem('aggregate', rec(STATUSES.RECEIVED), read, TODAY, 0).reason, 'PARENT_UNKNOWN');
  const d = decideItem('aggregate', rec(STATUSES.RECEIVED), read, TODAY, 0, '095201234567890122');
  assert.is(d.next?.parent, '095201234567890122');
});

test('decide - disaggregate returns to the previous status and clears the parent', () => {
  const packed = { ...rec(STATUSES.PACKED), prevStatus: STATUSES.COMMISSIONED as StatusCode, parent: '095201234567890122' };
  const d = decideItem('disaggregate', packed, read, TODAY, 0);
  assert.is(d.statusAfter, STATUSES.COMMISSIONED);
  assert.is(d.next?.parent, '');
});

test.run();
