/**
 * adapters/opcua/writer.ts, its queue while the PLC is away: decisions older than decisionMaxAgeMs are counted as
 * expired while the session is down (not only once it is back), and a PLC restart drops what was queued for its
 * last run (those seqs name other products in the new one).
 */
import type { ReaderRuntime } from '../../adapters/opcua/reader.js';
import { DecisionWriter } from '../../adapters/opcua/writer.js';
import type { VerdictMessage } from '../../gateway/pipeline.js';
import { silentLog } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-writer-queue');

/** A reader as far as the writer looks at one: its decision plan and its counters. */
function reader(): ReaderRuntime {
  return { binding: { plan: { kind: 'structure', node: 'ns=1;s=D', fields: {} } }, stats: { decisionsExpired: 0 } } as unknown as ReaderRuntime;
}
const verdict = { verdict: 'accept', reasonCode: 0 } as VerdictMessage;

test('opcua writer queue - expired while the session is down; dropped on a PLC restart', async () => {
  const w = new DecisionWriter({ maxInFlight: 1, maxAgeMs: 50, log: silentLog });
  const r = reader();
  w.setSession(null);
  w.enqueue(r, 1, verdict, 1, 2);
  w.enqueue(r, 2, verdict, 1, 2);
  assert.is(w.stats.queued, 2);
  w.expireOld();
  assert.is(w.stats.queued, 2, 'young decisions wait');
  await new Promise((res) => setTimeout(res, 80));
  w.enqueue(r, 3, verdict, 1, 2);
  w.expireOld();
  assert.equal([w.stats.queued, w.stats.expired, (r.stats as { decisionsExpired: number }).decisionsExpired], [1, 2, 2], 'the two old ones counted while the PLC is away');
  assert.is(w.dropQueued(), 1, 'the PLC restarted: the young one goes too');
  assert.equal([w.stats.queued, w.stats.expired], [0, 3]);
});

test.run();
