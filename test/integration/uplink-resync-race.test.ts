/**
 * A batch sealed while the forwarder resyncs (on every connection) must still be sent. The resync waits for the
 * outbox's writes to commit and then reads the first unsent batch; a batch sealed during that wait has its number
 * already but its marker not yet readable. Taking the outbox's next number for the starting point skipped such a
 * batch for good, and the next batch's PubAck deleted it with the ones before: an acknowledged read lost (seen
 * in test/integration/disk-low.test.ts in 5 of 25 runs, with a read made just after start). Here the seal is
 * put exactly into that wait, against a real nats-server.
 */
import { startGateway } from '../../cli/daemon.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { ScanEvent } from '../../protocol/index.js';
import { readEvents } from '../helpers/central.js';
import { silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-resync-race');

test('uplink-resync-race - a batch sealed while the forwarder resyncs reaches central, and so do the ones after it', async () => {
  const nats = await startNats();
  await nats.stop(); // the gateway starts without NATS: its first resync comes when NATS does
  const tmp = tempDir();
  const gw = await startGateway(testConfig(tmp.dir, nats.url, { batch: { maxEvents: 1 } }), silentLog);
  try {
    const ob = gw.outbox;
    const append = (serial: string) => {
      const seq = ob.reserveSeq();
      return ob.append(seq, KIND_SCAN, ScanEvent.encode({ eventId: ob.eventId(seq), serial }).finish());
    };
    // Nothing unsent when the resync looks: the starting point then comes from the batch numbering alone.
    const real = ob.committed.bind(ob);
    let sealedDuringResync = 0;
    ob.committed = () => {
      const p = real();
      if (gw.forwarder.stats.resyncs === 0 && sealedDuringResync === 0) {
        sealedDuringResync = 1;
        void append('DURING-RESYNC'); // maxEvents 1: sealed at once, its marker in the next write group
      }
      return p;
    };
    await nats.restart();
    const deadline = Date.now() + 10_000;
    while (gw.forwarder.stats.resyncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.is(sealedDuringResync, 1, 'a batch was sealed inside the resync');
    await append('LATER');
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', 2);
    const serials = stored.flatMap((b) => b.batch.events.map((e) => e.serial));
    assert.equal(serials, ['DURING-RESYNC', 'LATER'], 'every batch, in order, once');
    assert.is(gw.outbox.stats().events, 0, 'nothing left unsent');
  } finally {
    await gw.close();
    await nats.dispose();
    tmp.dispose();
  }
});

test.run();
