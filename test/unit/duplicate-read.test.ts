/**
 * Duplicate reads through the pipeline (DESIGN.md guarantee 5): the same code at the same station within the
 * window gets its first verdict again, field for field (same event id, flagged duplicateRead), and no event.
 */
import type { VerdictMessage } from '../../gateway/pipeline.js';
import { gs1CheckDigit } from '../../gateway/parse/index.js';
import { engineHarness } from '../helpers/engine.js';
import { demoGtin, dm } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('duplicate-read');
const G = demoGtin(11);
const sscc = (n: number) => {
  const body = `09520000${String(n).padStart(9, '0')}`;
  return body + gs1CheckDigit(body);
};

/** The verdict again, without what a repeat changes. */
function core(v: VerdictMessage): Record<string, unknown> {
  const { ts: _ts, duplicateRead: _d, ...rest } = v;
  return rest;
}

test('duplicate-read - every kind of verdict comes back the same, with no second event', async () => {
  let now = 1_800_000_000_000;
  const h = engineHarness(
    [
      { id: 'pack', operation: 'pack', duplicateReadWindowMs: 2000 },
      { id: 'case', operation: 'aggregate', duplicateReadWindowMs: 2000, capacity: 10 },
      { id: 'other', operation: 'pack', duplicateReadWindowMs: 2000 },
    ],
    () => now,
  );
  try {
    h.seed(G, 'S1', 'RECEIVED');
    h.seed(G, 'C1', 'RECEIVED');
    h.seed(G, 'C2', 'RECEIVED');
    await h.settle();
    const reads: [string, string | object][] = [
      ['pack', dm(G, 'S1', 'L1', '311231')], // accepted: parsed fields, status, event id
      ['pack', dm(G, 'NOPE', 'L1', '311231')], // rejected with a message
      ['pack', `${dm(G, 'S1', 'L1', '311231')}\r\n`], // the same code with a line end: a duplicate of the first
      ['pack', { code: dm(G, 'X9"\\', 'L1', '311231'), seq: 7, device: 'scanner-ü' }], // JSON with seq and device
      ['pack', 'NOT A CODE'], // malformed
      ['pack', `${dm(G, 'S7', 'L1', '311231')}\r\n`], // first seen with a line end: `code` is not the key
      ['case', `]C100${sscc(1)}`], // opens a container: parent
      ['case', { codes: [dm(G, 'C1', 'L1', '311231'), dm(G, 'C2', 'L1', '311231')], parent: `]C100${sscc(1)}` }], // camera: children
    ];
    const first: VerdictMessage[] = [];
    for (const [st, code] of reads) first.push(h.read(st, code));
    const eventsBefore = h.outbox.stats().events;
    now += 1500;
    for (let i = 0; i < reads.length; i++) {
      const [st, code] = reads[i]!;
      const again = h.read(st, code);
      const orig = i === 2 ? first[0]! : first[i]!;
      assert.is(again.duplicateRead, true, `read ${i} is a duplicate`);
      assert.is(again.ts, now, 'at the time of the repeat');
      assert.equal(core(again), core(orig), `read ${i}: the verdict again`);
    }
    assert.is(h.outbox.stats().events, eventsBefore, 'no event for a duplicate');
    assert.ok(first[2]!.duplicateRead, 'the line end made no new read');

    // Another station, or after the window: decided again.
    assert.is(h.read('other', dm(G, 'S1', 'L1', '311231')).duplicateRead, undefined, 'another station');
    now += 600;
    const late = h.read('pack', dm(G, 'S1', 'L1', '311231'));
    assert.is(late.duplicateRead, undefined, 'after the window');
    assert.is(late.reason, 'DUPLICATE_SERIAL');
    // The same device and seq with another code is a new read (a scanner counting from 1 again).
    const renumbered = h.read('pack', { code: dm(G, 'C9', 'L1', '311231'), seq: 7, device: 'scanner-ü' });
    assert.is(renumbered.duplicateRead, undefined);
    assert.is(renumbered.reason, 'UNKNOWN_SERIAL');
  } finally {
    await h.close();
  }
});

test.run();
