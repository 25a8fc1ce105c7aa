/**
 * Every operation x every status, through the real pipeline on LMDB: the default status machine of DOMAIN.md,
 * counted. Also unknown serials, duplicate serials, and the per-station overrides.
 */
import { DEFAULT_RULES } from '../../gateway/engine/rules.js';
import { OPERATIONS, STATUSES, statusName, type OperationName, type StatusName } from '../../gateway/reasons.js';
import { engineHarness } from '../helpers/engine.js';
import { demoGtin, dm } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('engine-table');
const G = demoGtin(42);
const OPS = Object.keys(OPERATIONS) as OperationName[];
const STATUS_NAMES = (Object.keys(STATUSES) as StatusName[]).filter((s) => s !== 'UNKNOWN');
const SSCC = '095201234567890122';

test('engine - every operation x every status follows the table (90 cases + 10 unknown)', async () => {
  // Aggregating stations need an open container for the item to go into.
  const h = engineHarness(OPS.map((op) => ({ id: op, operation: op, strictAggregation: false })));
  try {
    let n = 0;
    const counts: Record<string, { ok: number; refused: number }> = {};
    h.control('aggregate', { cmd: 'openContainer', sscc: SSCC });
    for (const op of OPS) {
      counts[op] = { ok: 0, refused: 0 };
      for (const s of STATUS_NAMES) {
        const serial = `${op.slice(0, 4)}-${s.slice(0, 6)}`;
        h.seed(G, serial, s, { prevStatus: STATUSES.RECEIVED, parent: s === 'PACKED' ? '095201234567890139' : '' });
        const v = h.read(op, dm(G, serial, 'L1', '311231'));
        const rule = DEFAULT_RULES[op];
        let expected = rule.from.has(STATUSES[s]) ? 'OK' : 'WRONG_STATUS';
        // A packed item is in another container: non-strict stations move it (aggregate) or keep it.
        if (op === 'aggregate' && s === 'PACKED') expected = 'OK';
        assert.is(v.reason, expected, `${op} from ${s}: ${v.message ?? ''}`);
        if (v.reason === 'OK' && rule.to !== null) {
          const want = rule.to === 'previous' ? 'RECEIVED' : statusName(rule.to as number);
          assert.is(v.status, want, `${op} from ${s} -> ${want}`);
        }
        counts[op]![v.reason === 'OK' ? 'ok' : 'refused']++;
        n++;
      }
      const unknown = h.read(op, dm(G, `${op}-none`, 'L1', '311231'));
      assert.is(unknown.reason, 'UNKNOWN_SERIAL', `${op} of an unknown serial`);
      n++;
    }
    assert.is(n, 100);
    // The table printed by the test run, for the record.
    console.log(Object.entries(counts).map(([op, c]) => `${op}: ${c.ok} accepted, ${c.refused} refused`).join('; '));
  } finally {
    await h.close();
  }
});

test('engine - a serial accepted at this step and seen again is a DUPLICATE_SERIAL', async () => {
  const h = engineHarness([{ id: 'pack', operation: 'pack' }, { id: 'ship', operation: 'ship' }]);
  try {
    h.seed(G, 'D1', 'RECEIVED');
    assert.is(h.read('pack', dm(G, 'D1', 'L1', '311231')).reason, 'OK');
    assert.is(h.read('pack', dm(G, 'D1', 'L1', '311231')).reason, 'DUPLICATE_SERIAL', 'seen in the same write window: sees its own transition');
    assert.is(h.read('ship', dm(G, 'D1', 'L1', '311231')).reason, 'OK');
    assert.is(h.read('pack', dm(G, 'D1', 'L1', '311231')).reason, 'WRONG_STATUS', 'after another step it is a status problem');
  } finally {
    await h.close();
  }
});

test('engine - station overrides: allowUnknown, returns, allowFrom, order, short-date margin', async () => {
  const h = engineHarness([
    { id: 'commission', operation: 'commission', allowUnknown: true },
    { id: 'returns', operation: 'receive', returns: true },
    { id: 'pack', operation: 'pack', allowFrom: ['RECEIVED', 'COMMISSIONED'], orderGtins: [G], shortDateMarginDays: 30 },
  ]);
  try {
    const c = h.read('commission', dm(G, 'NEW1', 'LX', '311231'));
    assert.is(c.reason, 'OK');
    assert.is(c.status, 'COMMISSIONED');
    h.seed(G, 'RET', 'SHIPPED');
    assert.is(h.read('returns', dm(G, 'RET', 'L1', '311231')).reason, 'OK');
    h.seed(G, 'C1', 'COMMISSIONED');
    assert.is(h.read('pack', dm(G, 'C1', 'L1', '311231')).reason, 'OK', 'allowFrom widened the table');
    const other = demoGtin(43);
    h.seed(other, 'O1', 'RECEIVED');
    assert.is(h.read('pack', dm(other, 'O1', 'L1', '311231')).reason, 'GTIN_NOT_ON_ORDER');
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    h.seed(G, 'SOON', 'RECEIVED', { expiry: soon });
    const v = h.read('pack', { code: `]d201${G}21SOON` });
    assert.is(v.reason, 'EXPIRED');
    assert.match(v.message ?? '', /30-day short-date margin/);
  } finally {
    await h.close();
  }
});

test('engine - holds and recalls at serial and lot level, expired, data mismatch, blocked', async () => {
  const h = engineHarness([{ id: 'pack', operation: 'pack' }, { id: 'destroy', operation: 'destroy' }]);
  try {
    h.seed(G, 'H1', 'RECEIVED', { lot: 'HOLD' });
    h.seed(G, 'R1', 'RECEIVED', { lot: 'RCL' });
    h.seed(G, 'S1', 'RECEIVED', { flags: 1 });
    h.seed(G, 'B1', 'RECEIVED', { flags: 4 });
    h.seed(G, 'E1', 'RECEIVED', { expiry: '2020-01-31' });
    h.seed(G, 'M1', 'RECEIVED', { lot: 'L1' });
    await h.cache.putLot(G, 'HOLD', { flags: 1, expiryDays: 0 });
    await h.cache.putLot(G, 'RCL', { flags: 2, expiryDays: 0 });
    assert.is(h.read('pack', { code: `]d201${G}10HOLD\u001d21H1` }).reason, 'LOT_ON_HOLD');
    assert.is(h.read('pack', { code: `]d201${G}10RCL\u001d21R1` }).reason, 'LOT_RECALLED');
    assert.is(h.read('pack', { code: `]d201${G}21S1` }).reason, 'LOT_ON_HOLD', 'serial-level hold');
    assert.is(h.read('pack', { code: `]d201${G}21B1` }).reason, 'SERIAL_BLOCKED');
    assert.is(h.read('pack', { code: `]d201${G}21E1` }).reason, 'EXPIRED');
    assert.is(h.read('pack', dm(G, 'M1', 'OTHER', '311231')).reason, 'DATA_MISMATCH');
    assert.is(h.read('destroy', { code: `]d201${G}10RCL\u001d21R1` }).reason, 'OK', 'recalled goods may be destroyed');
    assert.is(h.read('destroy', { code: `]d201${G}21E1` }).reason, 'OK', 'expired goods may be destroyed');
  } finally {
    await h.close();
  }
});

test('engine - decisions see their own effects before LMDB commits, and they are on disk after', async () => {
  const h = engineHarness([{ id: 'pack', operation: 'pack' }]);
  try {
    h.seed(G, 'W1', 'RECEIVED');
    await h.settle();
    // Both reads in the same event turn: the second must see the first's transition.
    const a = h.read('pack', dm(G, 'W1', 'L1', '311231'));
    const b = h.read('pack', dm(G, 'W1', 'L1', '311231'));
    assert.is(a.reason, 'OK');
    assert.is(b.reason, 'DUPLICATE_SERIAL');
    await h.settle();
    assert.is(h.cache.pending, 0, 'overlay drained after commit');
    assert.is(h.cache.getSerial(G, 'W1')?.status, STATUSES.PACKED);
  } finally {
    await h.close();
  }
});

test.run();
