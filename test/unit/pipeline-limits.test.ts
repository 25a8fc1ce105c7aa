/** A code far longer than any GS1 code is refused and recorded cut, so that its event still fits a batch. */
import { decodeEventBatch } from '../../protocol/index.js';
import { MAX_CODE_CHARS } from '../../gateway/pipeline.js';
import { STATUSES } from '../../gateway/reasons.js';
import { engineHarness } from '../helpers/engine.js';
import { demoGtin, dm } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('pipeline-limits');

test('pipeline limits - a 1 MB code (a PLC gone wrong) is MALFORMED, its verdict and event cut to size', async () => {
  const h = engineHarness([{ id: 'pack', operation: 'pack' as const }, { id: 'cam', operation: 'aggregate' as const }]);
  try {
    const huge = 'X'.repeat(1_048_576);
    const v = h.read('pack', huge);
    assert.is(v.reason, 'MALFORMED');
    assert.is(v.message, `a code of 1048576 characters: a GS1 code has at most ${MAX_CODE_CHARS} (the read is recorded cut to its first ${MAX_CODE_CHARS} bytes)`);
    assert.ok((v.code ?? '').length <= 64, 'the verdict does not carry the megabyte');
    const cam = h.read('cam', { codes: [dm(demoGtin(1), 'A'), 'Y'.repeat(5000)] });
    assert.is(cam.reason, 'MALFORMED');
    assert.match(cam.message ?? '', /^a code of 5000 characters/);
    // A code at the limit is parsed as usual (and refused for what it is, not for its length).
    assert.is.not(h.read('pack', 'Z'.repeat(MAX_CODE_CHARS)).message?.startsWith('a code of'), true);
    await h.settle();
    h.outbox.seal();
    await h.settle();
    const events = [...h.outbox.sealedBatches()].flatMap((b) => decodeEventBatch(h.outbox.batchBytes(b)).events);
    assert.is(events.length, 3);
    assert.ok(events.every((e) => e.raw.length <= MAX_CODE_CHARS), 'no event holds more than the limit');
  } finally {
    await h.close();
  }
});

test('pipeline limits - a read held too long is recorded as SYSTEM_UNAVAILABLE, no transition, and a copy of it held with it is not decided', async () => {
  const h = engineHarness([{ id: 'pack', operation: 'pack' as const, duplicateReadWindowMs: 5_000 }]);
  try {
    const G = demoGtin(2);
    h.seed(G, 'LATE1', 'RECEIVED');
    const code = dm(G, 'LATE1');
    const out = h.pipeline.refuseLate(h.station('pack'), { code, raw: Buffer.from(code, 'latin1') }, Buffer.from(code, 'latin1'), 4_200, 'the outbox was full');
    assert.equal([out.verdict.verdict, out.verdict.reason], ['reject', 'SYSTEM_UNAVAILABLE']);
    assert.match(out.verdict.message ?? '', /^held 4200 ms while the outbox was full: not decided this late/);
    assert.ok(out.durable !== null, 'recorded for central');
    await h.settle();
    assert.is(h.cache.getSerial(G, 'LATE1')!.status, STATUSES.RECEIVED, 'no transition');
    // The redelivered copy, held with it, comes a moment later: the same verdict again, not a decision.
    const copy = h.read('pack', code);
    assert.equal([copy.reason, copy.duplicateRead], ['SYSTEM_UNAVAILABLE', true]);
    await h.settle();
    assert.is(h.cache.getSerial(G, 'LATE1')!.status, STATUSES.RECEIVED, 'still RECEIVED: the product lies in the reject bin');
  } finally {
    await h.close();
  }
});

test.run();
