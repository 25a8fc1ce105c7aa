/**
 * A read whose PUBACK never reached the scanner, while its event already reached central and left the outbox:
 * after a gateway restart the scanner's session redelivers it, and it must be answered with its original
 * verdict (duplicateRead), not decided a second time (which would put a second event at central).
 */
import mqtt from 'mqtt';
import { startGateway } from '../../cli/daemon.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { readEvents } from '../helpers/central.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('redelivery-after-ack', {}, 60_000);

interface Verdict {
  reason: string;
  seq?: number;
  duplicateRead?: boolean;
  eventId?: string;
}

test('redelivery after ack - a read already at central, redelivered after a restart, is answered from the record, not decided again', async () => {
  const nats = await startNats();
  const tmp = tempDir();
  try {
    const G = demoGtin(78);
    const store = Store.open(tmp.dir);
    await importFile(store, writeCsv(tmp.dir, [[G, 'R1', 'L7', '2031-01-31', 'RECEIVED'], [G, 'R2', 'L7', '2031-01-31', 'RECEIVED']]));
    await store.close();
    const cfg = testConfig(tmp.dir, nats.url, { batch: { maxEvents: 1, maxDelayMs: 10 } });
    const topic = 'scangate/v1/demo/L1/pack/read';
    const read = (serial: string, seq: number) => JSON.stringify({ code: dm(G, serial, 'L7', '310131'), device: 'scanner-9', seq });

    const run = async (publish: (c: mqtt.MqttClient) => Promise<void>, n: number): Promise<Verdict[]> => {
      const gw = await startGateway(cfg, silentLog);
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
      const got: Verdict[] = [];
      c.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as Verdict));
      await c.subscribeAsync('scangate/v1/demo/L1/pack/verdict', { qos: 1 });
      await publish(c);
      const end = Date.now() + 5000;
      while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      // Central has every event and the outbox is empty: the events left it.
      const drained = Date.now() + 5000;
      while (gw.outbox.stats().events > 0 && Date.now() < drained) await new Promise((r) => setTimeout(r, 20));
      assert.is(gw.outbox.stats().events, 0, 'the outbox is empty (every batch acknowledged by JetStream)');
      await c.endAsync();
      await gw.close();
      return got;
    };

    const first = await run(async (c) => {
      await c.publishAsync(topic, read('R1', 1), { qos: 1 });
      await c.publishAsync(topic, read('R2', 2), { qos: 1 });
    }, 2);
    assert.equal(first.map((v) => v.reason), ['OK', 'OK']);

    // The scanner never saw the PUBACK of seq 1: its session sends it again (DUP) to the restarted gateway.
    // Seq 3 is a new read of R2, a second pack: that one is decided, and refused.
    const again = await run(async (c) => {
      await c.publishAsync(topic, read('R1', 1), { qos: 1, dup: true });
      await c.publishAsync(topic, read('R2', 3), { qos: 1 });
    }, 2);
    const bySeq = new Map(again.map((v) => [v.seq, v]));
    assert.is(bySeq.get(1)?.reason, 'OK', 'the redelivered read gets its original verdict');
    assert.is(bySeq.get(1)?.duplicateRead, true);
    assert.is(bySeq.get(1)?.eventId, first[0]!.eventId, 'and names the original event');
    assert.is(bySeq.get(3)?.reason, 'DUPLICATE_SERIAL', 'a new read of an already packed serial is decided');

    const events = (await readEvents(nats.url, 'SCANGATE_EVENTS', 3)).flatMap((b) => b.batch.events);
    assert.equal(events.map((e) => `${e.serial}:${e.readSeq}`), ['R1:1', 'R2:2', 'R2:3'], 'one event per read decided, none for the redelivery');
  } finally {
    await nats.dispose();
    tmp.dispose();
  }
});

test.run();
