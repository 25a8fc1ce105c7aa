/**
 * The whole real path: mqtt.js scanner -> embedded aedes -> parse -> LMDB -> verdict topics -> outbox ->
 * JetStream (a real nats-server started here) -> decoded batches.
 */
import mqtt from 'mqtt';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { readEvents } from '../helpers/central.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('path');
let nats: NatsServer;
let tmp: ReturnType<typeof tempDir>;
let gw: Gateway;
const G = demoGtin(4567);

test.before(async () => {
  nats = await startNats();
  tmp = tempDir();
  const cfgNoWindow = testConfig(tmp.dir, nats.url, {
    site: {
      id: 'demo',
      lines: [{ id: 'L1', stations: [{ id: 'pack', operation: 'pack', duplicateReadWindowMs: 0 }, { id: 'pack2', operation: 'pack', duplicateReadWindowMs: 60_000 }] }],
    },
  });
  const csv = writeCsv(tmp.dir, [
    [G, 'SN1', 'LOT1', '2030-12-31', 'RECEIVED'],
    [G, 'SN2', 'LOT1', '2030-12-31', 'RECEIVED'],
    [G, 'SN3', 'LOT1', '2030-12-31', 'PACKED'],
  ]);
  const store = Store.open(tmp.dir);
  await importFile(store, csv);
  await store.close();
  gw = await startGateway(cfgNoWindow, silentLog);
});

test.after(async () => {
  await gw?.close();
  await nats?.dispose();
  tmp?.dispose();
});

interface Verdict {
  verdict: string;
  reason: string;
  reasonCode: number;
  status?: string;
  serial?: string;
  eventId?: string;
  duplicateRead?: boolean;
  seq?: number;
}

async function scanner(port: number) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `scanner-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
  const verdicts: { topic: string; v: Verdict }[] = [];
  client.on('message', (topic, payload) => verdicts.push({ topic, v: JSON.parse(payload.toString()) as Verdict }));
  await client.subscribeAsync(['scangate/v1/demo/L1/+/verdict', 'scangate/v1/demo/L1/+/reject', 'scangate/v1/demo/L1/+/+/verdict'], { qos: 1 });
  const waitFor = async (n: number, ms = 5000) => {
    const end = Date.now() + ms;
    while (verdicts.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return verdicts;
  };
  return { client, verdicts, waitFor };
}

test('path - verdicts on the topics and batches in the stream, in order, with ids', async () => {
  const s = await scanner(gw.mqttPort);
  const T = 'scangate/v1/demo/L1/pack/read';
  // Each publish resolves on PUBACK, which the gateway sends only once the event is durable.
  await s.client.publishAsync(T, dm(G, 'SN1'), { qos: 1 }); // RECEIVED -> PACKED: accept
  await s.client.publishAsync(T, dm(G, 'NOPE'), { qos: 1 }); // not in the cache
  await s.client.publishAsync(T, dm(G, 'SN1'), { qos: 1 }); // second pack, outside the duplicate-read window: a duplicate serial
  await s.client.publishAsync(T, ']d201095201234567871727033121SN0001', { qos: 1 }); // bad check digit
  await s.client.publishAsync(T, JSON.stringify({ code: dm(G, 'SN3'), seq: 7, device: 'cam-1' }), { qos: 1 }); // already PACKED
  const all = await s.waitFor(9);
  const verdicts = all.filter((x) => x.topic.endsWith('/verdict')).map((x) => x.v);
  const rejects = all.filter((x) => x.topic.endsWith('/reject')).map((x) => x.v);
  assert.equal(
    verdicts.map((v) => `${v.verdict}:${v.reason}`),
    ['accept:OK', 'reject:UNKNOWN_SERIAL', 'reject:DUPLICATE_SERIAL', 'reject:BAD_CHECK_DIGIT', 'reject:WRONG_STATUS'],
  );
  assert.is(verdicts[0]!.status, 'PACKED');
  assert.is(verdicts[2]!.status, 'PACKED');
  assert.is(verdicts[2]!.reasonCode, 8);
  assert.is(verdicts[4]!.reasonCode, 9);
  assert.is(verdicts[4]!.seq, 7);
  assert.equal(rejects.map((v) => v.reason), ['UNKNOWN_SERIAL', 'DUPLICATE_SERIAL', 'BAD_CHECK_DIGIT', 'WRONG_STATUS'], 'reject topic carries rejects only');

  const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', 5);
  const events = stored.flatMap((b) => b.batch.events);
  assert.is(events.length, 5, 'one event per decided read, rejects included');
  assert.equal(events.map((e) => e.eventId), verdicts.map((v) => v.eventId), 'events in read order, ids as in the verdicts');
  assert.is(new Set(events.map((e) => e.eventId)).size, 5);
  assert.equal(events.map((e) => e.reason), [0, 6, 8, 3, 9]);
  assert.is(events[0]!.statusBefore, 4);
  assert.is(events[0]!.statusAfter, 5);
  assert.is(events[0]!.bizStep, 'packing');
  assert.is(events[0]!.gtin, G);
  assert.is(events[0]!.serial, 'SN1');
  assert.is(events[0]!.lot, 'LOT1');
  assert.is(events[0]!.expiry, '2030-12-31');
  assert.is(events[4]!.device, 'cam-1');
  assert.is(events[4]!.readSeq, 7);
  for (const b of stored) {
    assert.is(b.subject, 'scangate.v1.events.demo.gw-test');
    assert.is(b.msgId, `gw-test.${b.batch.batchSeq}`, 'Nats-Msg-Id is {gatewayId}.{batchSeq}');
    assert.is(b.batch.gatewayId, 'gw-test');
  }
  const seqs = stored.map((b) => b.batch.batchSeq);
  assert.equal(seqs, [...seqs].sort((a, b) => a - b), 'batches in sequence order');
  // Deleted from the outbox once acknowledged.
  const end = Date.now() + 3000;
  while (gw.outbox.stats().events > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.is(gw.outbox.stats().events, 0);
  await s.client.endAsync();
});

test('path - a redelivered read inside the window gets the same verdict and no second event', async () => {
  const s = await scanner(gw.mqttPort);
  const T = 'scangate/v1/demo/L1/pack2/read';
  const before = (await readEvents(nats.url)).flatMap((b) => b.batch.events).length;
  await s.client.publishAsync(T, dm(G, 'SN2'), { qos: 1 });
  await s.client.publishAsync(T, dm(G, 'SN2'), { qos: 1 });
  const got = (await s.waitFor(2)).filter((x) => x.topic.endsWith('/verdict')).map((x) => x.v);
  assert.is(got.length, 2);
  assert.is(got[0]!.verdict, 'accept');
  assert.is(got[1]!.verdict, 'accept', 'same verdict again');
  assert.is(got[1]!.duplicateRead, true);
  assert.is(got[1]!.eventId, got[0]!.eventId);
  const after = await readEvents(nats.url, 'SCANGATE_EVENTS', before + 1);
  await new Promise((r) => setTimeout(r, 200));
  const events = (await readEvents(nats.url)).flatMap((b) => b.batch.events);
  assert.is(events.length, before + 1, 'no second event');
  assert.ok(after.length > 0);
  await s.client.endAsync();
});

test('path - a read on an undeclared station is refused with UNAUTHORIZED_STATION', async () => {
  const s = await scanner(gw.mqttPort);
  await s.client.publishAsync('scangate/v1/demo/L1/nowhere/read', dm(G, 'SN1'), { qos: 1 });
  const got = await s.waitFor(2);
  assert.ok(got.some((x) => x.topic === 'scangate/v1/demo/L1/nowhere/reject' && x.v.reason === 'UNAUTHORIZED_STATION'));
  await s.client.endAsync();
});

test.run();
