/**
 * A read whose PUBACK never reached the scanner, while its event already reached central and left the outbox:
 * after a gateway restart the scanner's session redelivers it, and it must be answered with its original
 * verdict (duplicateRead), not decided a second time (which would put a second event at central).
 */
import mqtt from 'mqtt';
import { startGateway } from '../../cli/daemon.js';
import { importFile } from '../../gateway/import/index.js';
import { RedeliveryIndex, RETAIN_MS } from '../../adapters/mqtt/redelivery.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { journalValue } from '../../gateway/outbox/journal.js';
import { Store } from '../../gateway/store.js';
import { ScanEvent } from '../../protocol/index.js';
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
    await importFile(store, writeCsv(tmp.dir, [[G, 'R1', 'L7', '2031-01-31', 'RECEIVED'], [G, 'R2', 'L7', '2031-01-31', 'RECEIVED'], [G, 'R3', 'L7', '2031-01-31', 'RECEIVED']]));
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
    // Seq 3 is a new read of R2, a second pack: that one is decided, and refused. And a scanner that counts from
    // 1 again after a power cut: seq 2 with other bytes (R3) is a new read, decided.
    const again = await run(async (c) => {
      await c.publishAsync(topic, read('R1', 1), { qos: 1, dup: true });
      await c.publishAsync(topic, read('R2', 3), { qos: 1 });
      await c.publishAsync(topic, read('R3', 2), { qos: 1 });
    }, 3);
    const bySeq = new Map(again.map((v) => [v.seq, v]));
    assert.is(bySeq.get(1)?.reason, 'OK', 'the redelivered read gets its original verdict');
    assert.is(bySeq.get(1)?.duplicateRead, true);
    assert.is(bySeq.get(1)?.eventId, first[0]!.eventId, 'and names the original event');
    assert.is(bySeq.get(3)?.reason, 'DUPLICATE_SERIAL', 'a new read of an already packed serial is decided');
    assert.is(bySeq.get(2)?.reason, 'OK', 'a reused seq with other bytes is a new read, decided');
    assert.is(bySeq.get(2)?.duplicateRead, undefined);

    const events = (await readEvents(nats.url, 'SCANGATE_EVENTS', 4)).flatMap((b) => b.batch.events);
    assert.equal(events.map((e) => `${e.serial}:${e.readSeq}`), ['R1:1', 'R2:2', 'R2:3', 'R3:2'], 'one event per read decided, none for the redelivery');
  } finally {
    await nats.dispose();
    tmp.dispose();
  }
});

test('redelivery after ack - events central acknowledged more than 10 minutes ago are not loaded at start', async () => {
  const tmp = tempDir();
  try {
    const store = Store.open(tmp.dir);
    const ev = (seq: number) => journalValue(KIND_SCAN, ScanEvent.encode, { eventId: `gw:e:${seq}`, line: 'L1', station: 'pack', device: 'scanner-1', readSeq: seq, verdict: 1, raw: Buffer.from(`read ${seq}`) });
    const now = Date.now();
    const recent = (ackedAtMs: number, v: Uint8Array) => {
      const b = Buffer.alloc(8 + v.length);
      b.writeDoubleBE(ackedAtMs, 0);
      b.set(v, 8);
      return b;
    };
    await store.recent.put(1, recent(now - RETAIN_MS - 60_000, ev(1)));
    await store.recent.put(2, recent(now - 5_000, ev(2)));
    await store.journal.put(3, Buffer.from(ev(3)));
    const index = new RedeliveryIndex(() => now);
    assert.is(index.loadJournal(store), 2, 'the journal event and the one acknowledged 5 s ago');
    const env = (seq: number) => ({ code: `read ${seq}`, raw: Buffer.from(`read ${seq}`), device: 'scanner-1', seq });
    assert.is(index.match('L1/pack', env(1), env(1).raw, true), undefined, 'too old');
    assert.is(index.match('L1/pack', env(2), env(2).raw, false)?.eventId, 'gw:e:2');
    assert.is(index.match('L1/pack', env(3), env(3).raw, false)?.eventId, 'gw:e:3');
    await store.close();
  } finally {
    tmp.dispose();
  }
});

test.run();
