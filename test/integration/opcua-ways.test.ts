/**
 * PLCs over OPC UA, each way in, against the virtual PLC on a free port: AutoID scan events, Scan on a trigger,
 * the {seq, code, ts} data item, the LastScanData + counter fallback; decisions written back (structure, nodes,
 * method) matched by seq, and published on the MQTT verdict/reject topics. One PLC and one gateway for the file.
 */
import mqtt from 'mqtt';
import { DataChangeNotification, EventNotificationList } from 'node-opcua';
import type { Gateway } from '../../cli/daemon.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { dm, tempDir } from '../helpers/gateway.js';
import { closePlcGateway, G, readerConfig, sleep, startPlc, startPlcGateway, untilConnected, waitUntil } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-ways', {}, 30_000);
let tmp: ReturnType<typeof tempDir>;
let plc: VirtualPlc;
let gw: Gateway;

const decided = (reader: string) => plc.line.reader(reader).records.filter((r) => r.decisions > 0).length;
const status = (reader: string) => gw.opcua!.status().endpoints[0]!.readers.find((r) => r.id === reader)!;

test.before(async () => {
  tmp = tempDir('sg-opcua-ways-');
  plc = await startPlc(tmp.dir, {
    readers: [
      { id: 'R1', ways: ['event'], iso15434: true },
      { id: 'R2', ways: ['data'] },
      { id: 'R3', ways: ['counter'] },
      { id: 'R4', ways: ['scan'] },
      { id: 'R5', ways: ['data'] },
    ],
  });
  // Reads before the gateway exists: the PLC shows the last one; it was never the gateway's to decide.
  for (let i = 0; i < 3; i++) plc.line.produce('R2');
  for (let i = 0; i < 2; i++) plc.line.produce('R3');
  gw = await startPlcGateway(tmp.dir, plc, {
    serials: 100,
    readers: [
      readerConfig(plc, 'R1', 'event', 'structure'),
      readerConfig(plc, 'R2', 'data', 'nodes'),
      readerConfig(plc, 'R3', 'counter', 'method'),
      readerConfig(plc, 'R4', 'scan', 'structure'),
      readerConfig(plc, 'R5', 'data', 'structure', 'pack'),
      { ...readerConfig(plc, 'R5', 'data', 'none'), id: 'R6', dataNode: plc.nodeId('NOPE', 'ScanRead') },
      // Its decision seq node is one the PLC only lets the gateway read (ScanCount).
      { ...readerConfig(plc, 'R5', 'data', 'nodes'), id: 'R7', decision: { ...readerConfig(plc, 'R5', 'data', 'nodes').decision, seqNode: plc.nodeId('R5', 'ScanCount') } },
    ],
  });
  await untilConnected(gw);
}, 60_000);

test.after(() => closePlcGateway(gw, plc, tmp));

test('opcua ways - the reads a PLC made before the gateway came are a baseline, not decided', async () => {
  await sleep(300);
  assert.equal(plc.line.undecided('R2'), [1, 2, 3]);
  assert.equal(plc.line.undecided('R3'), [1, 2]);
  assert.is(status('R2').reads, 0);
  assert.is(status('R2').lastSeq, 3);
  assert.is(status('R2').lostReads, 0);
});

test('opcua ways - event: AutoID scan events (ISO 15434 wrapped) decided, the structure written back echoes each seq', async () => {
  for (let i = 0; i < 20; i++) {
    plc.line.produce('R1');
    await sleep(5);
  }
  await waitUntil(() => decided('R1') === 20, 10_000, '20 decisions on R1');
  for (const rec of plc.line.reader('R1').records) {
    assert.ok(rec.code.includes('[)>\u001e05'), 'the reader wraps its data in ISO/IEC 15434');
    assert.is(rec.decisions, 1, `seq ${rec.seq} decided once`);
    assert.is(rec.decision, 1, `seq ${rec.seq} accepted (the envelope was stripped before parsing)`);
    assert.is(rec.reasonCode, 0);
  }
  const d = plc.line.decisions.filter((x) => x.reader === 'R1');
  // Matched by seq, not by order: write requests in flight at once may complete in any order.
  assert.equal(d.map((x) => x.seq).sort((a, b) => a - b), [...Array(20).keys()].map((i) => i + 1));
  assert.ok(d.every((x) => x.via === 'structure'));
  assert.is(status('R1').reads, 20);
  assert.is(status('R1').lostReads, 0);
});

test('opcua ways - a notification for an item the client has forgotten is dropped and counted; the process and the readers go on', async () => {
  const sub = gw.opcua!.endpoints[0]!.subs.sub as unknown as { lastSequenceNumber: number; onNotificationMessage(m: unknown): void };
  assert.ok(sub, 'the subscription exists');
  // What a publish response in flight across a PLC restart carries: events and a data change for handles the
  // client no longer has. Unguarded, node-opcua fails an assertion inside a promise: an unhandled rejection.
  sub.onNotificationMessage({
    sequenceNumber: sub.lastSequenceNumber,
    notificationData: [
      new EventNotificationList({ events: [{ clientHandle: 987_654, eventFields: [] }, { clientHandle: 987_655, eventFields: [] }] }),
      new DataChangeNotification({ monitoredItems: [{ clientHandle: 987_656, value: {} }] }),
    ],
  });
  await waitUntil(() => gw.opcua!.status().endpoints[0]!.droppedNotifications === 2, 5_000, 'two dropped event notifications');
  const before = decided('R1');
  for (let i = 0; i < 5; i++) plc.line.produce('R1');
  await waitUntil(() => decided('R1') === before + 5, 10_000, 'five more decisions on R1');
  assert.is(gw.opcua!.status().endpoints[0]!.droppedNotifications, 2, 'the data change for an unknown item is skipped by node-opcua itself');
});

test('opcua ways - data item: a burst of 500 reads, 2 per ms, all decided once, none lost (three-node write-back)', async () => {
  const before = plc.line.reader('R2').records.length;
  for (let i = 0; i < 250; i++) {
    plc.line.produce('R2');
    plc.line.produce('R2');
    await new Promise((r) => setImmediate(r));
  }
  await waitUntil(() => decided('R2') === 500, 15_000, '500 decisions on R2');
  const recs = plc.line.reader('R2').records.slice(before);
  assert.ok(recs.every((r) => r.decisions === 1 && r.decision === 1));
  assert.ok(plc.line.decisions.filter((x) => x.reader === 'R2').every((x) => x.via === 'nodes'));
  assert.is(status('R2').lostReads, 0);
  assert.is(status('R2').replayed, 0);
  await waitUntil(() => status('R2').decisionsWritten === 500, 5_000, 'the write responses');
  // Every confirmed write is timed, from its decision to the PLC's response (every reader of the gateway).
  const written = gw.opcua!.status().endpoints.flatMap((e) => e.readers).reduce((n, r) => n + r.decisionsWritten, 0);
  const lat = gw.opcua!.status().decisionLatency;
  assert.is(lat.count, written);
  assert.ok(lat.meanMs !== null && lat.meanMs >= 0 && lat.meanMs < 5_000, `mean ${lat.meanMs} ms`);
  assert.ok(typeof lat.p99AtMostMs === 'number', `p99 bound ${String(lat.p99AtMostMs)}`);
});

test('opcua ways - counter fallback: LastScanData + counter decided (or an overwritten code counted lost), decisions by method call', async () => {
  // A line at 10 reads/s. The code and the counter are two nodes: when a code is overwritten before the
  // gateway reads it (a loaded PLC batches the notifications), that read is a gap, never a wrong pairing.
  for (let i = 0; i < 10; i++) {
    plc.line.produce('R3');
    await sleep(100);
  }
  await waitUntil(() => decided('R3') + status('R3').lostReads === 10, 10_000, '10 reads on R3 decided or counted lost');
  const d = plc.line.decisions.filter((x) => x.reader === 'R3');
  assert.ok(d.length >= 8, `most reads decided (${d.length})`);
  assert.ok(d.every((x) => x.via === 'method' && x.decision === 1 && x.seq >= 3 && x.seq <= 12));
  assert.is(new Set(d.map((x) => x.seq)).size, d.length, 'each seq decided once');
});

test('opcua ways - scan: Scan called on each trigger, its result decided under the trigger seq', async () => {
  for (let i = 0; i < 10; i++) {
    plc.line.produce('R4');
    await sleep(100);
  }
  await waitUntil(() => decided('R4') === 10, 10_000, '10 decisions on R4');
  const d = plc.line.decisions.filter((x) => x.reader === 'R4');
  assert.equal(d.map((x) => x.seq).sort((a, b) => a - b), [...Array(10).keys()].map((i) => i + 1), 'every trigger gets a decision');
  // Scan sees the product at the reader now: two triggers closer than a call's round trip share one product.
  assert.ok(d.filter((x) => x.decision === 1).length >= 8, 'Scan returned the code of the product at the reader');
  assert.is(status('R4').scanErrors, 0);
});

test('opcua ways - each decision carries its reason code to the PLC and goes to the MQTT verdict/reject topics', async () => {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'hmi-opcua', reconnectPeriod: 0 });
  const got: { topic: string; v: { seq: number; device: string; reasonCode: number; verdict: string } }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, v: JSON.parse(payload.toString()) }));
  await client.subscribeAsync(['scangate/v1/demo/L1/pack/verdict', 'scangate/v1/demo/L1/pack/reject'], { qos: 1 });
  const codes = [dm(G, 'S1'), dm(G, 'S1'), dm(G, 'NOPE'), ']d201095201234567871727033121SN0001', ''];
  for (const c of codes) {
    plc.line.produce('R5', c);
    await sleep(30);
  }
  await waitUntil(() => decided('R5') === 5, 10_000, '5 decisions on R5');
  const recs = plc.line.reader('R5').records;
  // OK, DUPLICATE_SERIAL (S1 packed a moment ago), UNKNOWN_SERIAL, BAD_CHECK_DIGIT, NO_READ
  assert.equal(recs.map((r) => [r.seq, r.decision, r.reasonCode]), [
    [1, 1, 0],
    [2, 2, 8],
    [3, 2, 6],
    [4, 2, 3],
    [5, 2, 1],
  ]);
  await waitUntil(() => got.length >= 9, 5_000, '5 verdicts and 4 rejects on MQTT');
  const verdicts = got.filter((g) => g.topic.endsWith('/verdict')).map((g) => g.v);
  assert.equal(verdicts.map((v) => [v.seq, v.reasonCode, v.device]), [
    [1, 0, 'plc1.R5'],
    [2, 8, 'plc1.R5'],
    [3, 6, 'plc1.R5'],
    [4, 3, 'plc1.R5'],
    [5, 1, 'plc1.R5'],
  ]);
  assert.is(got.filter((g) => g.topic.endsWith('/reject')).length, 4);
  await client.endAsync();
});

test('opcua ways - a gap in the seq is counted, raises the alarm and is recorded as NO_READ events', async () => {
  const noReadsBefore = gw.pipeline.counters.byReason[1] ?? 0;
  plc.line.produce('R2');
  plc.line.skip('R2', 7); // the PLC counted 7 reads it never showed
  plc.line.produce('R2');
  await waitUntil(() => status('R2').lostReads === 7, 5_000, 'the gap');
  const s = gw.opcua!.status();
  assert.is(status('R2').gaps, 1);
  assert.equal(s.alarms.filter((a) => a.reader === 'R2').map((a) => [a.code, a.reader, a.lostReads]), [['SG_ERR_OPCUA_READS_LOST', 'R2', 7]]);
  assert.is((gw.pipeline.counters.byReason[1] ?? 0) - noReadsBefore, 7, 'one NO_READ event per lost read');
  const last = plc.line.reader('R2').records.at(-1)!;
  await waitUntil(() => last.decisions === 1, 5_000, 'the read after the gap decided');
});

test('opcua ways - a reader whose node does not exist stays idle with SG_ERR_OPCUA_NODE; the others are served', () => {
  const r6 = status('R6');
  assert.is(r6.error?.code, 'SG_ERR_OPCUA_NODE');
  assert.match(r6.error!.message, /NOPE/);
  // A decision node the PLC does not let the gateway write is found at bind time, not at every write.
  const r7 = status('R7');
  assert.is(r7.error?.code, 'SG_ERR_OPCUA_NODE');
  assert.match(r7.error!.message, /decision.seqNode .*ScanCount is not writable for the gateway's user/);
  assert.is(gw.opcua!.status().endpoints[0]!.state, 'connected');
});

test('opcua ways - a full outbox: PLC reads are held, never decided without their event, and counted', async () => {
  // A gateway whose outbox holds 1 MiB, and no NATS: its reads (unknown serials here, each a reject and an
  // event) fill it.
  await gw.close();
  gw = await startPlcGateway(tmp.dir, plc, { dataName: 'data-full2', readers: [readerConfig(plc, 'R2', 'data', 'structure')], outbox: { maxBytes: 1_048_576 }, batch: { maxBytes: 65_536 } });
  await untilConnected(gw);
  for (let i = 0; i < 200 && !gw.outbox.full; i++) {
    for (let k = 0; k < 50; k++) plc.line.produce('R2');
    await sleep(5);
  }
  await waitUntil(() => gw.outbox.full, 10_000, 'a full outbox');
  await sleep(300);
  const recs = Array.from({ length: 20 }, () => plc.line.produce('R2'));
  await sleep(500);
  assert.ok(recs.every((r) => r.decisions === 0), 'no decision without a place to record it');
  const st = gw.opcua!.status();
  assert.ok(st.held + st.refused >= 20, `held ${st.held}, refused ${st.refused}`);
});

test.run();
