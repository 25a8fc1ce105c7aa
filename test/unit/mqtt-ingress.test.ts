/** MQTT ingress pieces without sockets: topic routes, protobuf read envelopes, the redelivery index. */
import { Ingress, scanReadEnvelope, type ConnectionRef } from '../../adapters/mqtt/ingress.js';
import { MqttStats } from '../../adapters/mqtt/stats.js';
import { Cache } from '../../gateway/cache/cache.js';
import { newRecord } from '../../gateway/cache/record.js';
import { Outbox } from '../../gateway/outbox/outbox.js';
import { Pipeline } from '../../gateway/pipeline.js';
import { STATUSES } from '../../gateway/reasons.js';
import { RedeliveryIndex, RETAIN_MS } from '../../adapters/mqtt/redelivery.js';
import { RouteKind, TopicMap } from '../../adapters/mqtt/topics.js';
import { configSchema } from '../../gateway/config/index.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { StationRegistry } from '../../gateway/stations.js';
import { Store } from '../../gateway/store.js';
import { ScanEvent, encodeScanRead } from '../../protocol/index.js';
import { demoGtin, dm, silentLog, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-ingress');
const config = configSchema.parse({ site: { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'pack', operation: 'pack' }] }] } });
const topics = new TopicMap(new StationRegistry(config));

test('mqtt-ingress - topic routes: declared stations, undeclared ones, and topics that are not ingress', () => {
  const read = topics.route('scangate/v1/demo/L1/pack/read');
  assert.is(read?.kind, RouteKind.Read);
  assert.is(read?.station?.key, 'L1/pack');
  assert.is(read?.verdictTopic, 'scangate/v1/demo/L1/pack/verdict');
  assert.is(read?.rejectTopic, 'scangate/v1/demo/L1/pack/reject');
  assert.is(topics.route('scangate/v1/demo/L1/pack/read/pb')?.kind, RouteKind.ReadPb);
  const ctl = topics.route('scangate/v1/demo/L1/pack/control');
  assert.is(ctl?.kind, RouteKind.Control);
  assert.is(ctl?.replyTopic, 'scangate/v1/demo/L1/pack/control/reply');
  const undeclared = topics.route('scangate/v1/demo/L1/nowhere/read');
  assert.is(undeclared?.kind, RouteKind.Read);
  assert.is(undeclared?.station, undefined);
  assert.is(undeclared?.rejectTopic, 'scangate/v1/demo/L1/nowhere/reject');
  assert.is(topics.route('scangate/v1/other/L1/pack/read')?.station, undefined, 'another site is not ours');
  for (const t of ['scangate/v1/demo/L1/pack/verdict', 'scangate/v1/demo/L1/pack/reject', 'scangate/v1/demo/L1/pack/control/reply', 'scangate/v1/demo/gateway/g1/state', 'scangate/v1/demo/L1/read', 'other/demo/L1/pack/read', 'scangate/v1/demo/L1/pack/read/x']) {
    assert.is(topics.route(t), undefined, t);
  }
  assert.equal(topics.ingressFilters(['L1']), ['scangate/v1/demo/L1/+/read', 'scangate/v1/demo/L1/+/read/pb', 'scangate/v1/demo/L1/+/control']);
});

test('mqtt-ingress - a ScanRead protobuf becomes a read envelope (proto3: 0 and "" are absent)', () => {
  const pb = Buffer.from(encodeScanRead({ code: ']d2010952...', seq: 42, device: 'cam-3', tsMs: 1_700_000_000_000 }));
  const env = scanReadEnvelope(pb);
  assert.ok(typeof env !== 'string');
  if (typeof env === 'string') return;
  assert.is(env.code, ']d2010952...');
  assert.is(env.seq, 42);
  assert.is(env.device, 'cam-3');
  assert.is(env.tsMs, 1_700_000_000_000);
  assert.is(env.raw, pb);
  const multi = scanReadEnvelope(Buffer.from(encodeScanRead({ codes: ['A', 'B'], parent: '(00)095201234567890122' })));
  assert.ok(typeof multi !== 'string' && multi.codes?.length === 2 && multi.parent === '(00)095201234567890122');
  const one = scanReadEnvelope(Buffer.from(encodeScanRead({ codes: ['A'] })));
  assert.ok(typeof one !== 'string' && one.code === 'A' && one.codes === undefined);
  const raw = scanReadEnvelope(Buffer.from(encodeScanRead({ raw: Buffer.from(']C100095201234567890122', 'latin1') })));
  assert.ok(typeof raw !== 'string' && raw.code === ']C100095201234567890122');
  const empty = scanReadEnvelope(Buffer.alloc(0));
  assert.ok(typeof empty !== 'string' && empty.code === '', 'an empty ScanRead is a no-read');
  const noCode = scanReadEnvelope(Buffer.from(encodeScanRead({ seq: 7, device: 'd' })));
  assert.ok(typeof noCode !== 'string' && noCode.code === '' && noCode.seq === 7, 'a no-read with its seq');
});

test('mqtt-ingress - payloads that are not a ScanRead give a message, never a throw', () => {
  const both = scanReadEnvelope(Buffer.from(encodeScanRead({ code: 'A', codes: ['B', 'C'] })));
  assert.type(both, 'string');
  for (const bad of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from('{"code":"x"}'), Buffer.from([0x0a, 0x10, 0x41]), Buffer.from([0x7a, 0x00])]) {
    const r = scanReadEnvelope(bad);
    assert.type(r, 'string', bad.toString('hex'));
    assert.match(r as string, /ScanRead|read\/pb/);
  }
});

function verdict(eventId: string) {
  return { verdict: 'accept' as const, reason: 'OK' as const, reasonCode: 0, ts: 1, eventId, duplicateRead: true as const };
}

test('mqtt-ingress - redelivery index: matched by (station, device, seq) with the same code, or by bytes only with DUP set', () => {
  let now = 1_000_000;
  const idx = new RedeliveryIndex(() => now);
  const raw = Buffer.from('{"code":"X","device":"d1","seq":5}');
  idx.add('L1/pack', raw, 'd1', 5, verdict('e1'));
  const rawOnly = Buffer.from(']d201X');
  idx.add('L1/pack', rawOnly, undefined, undefined, verdict('e2'));
  assert.is(idx.match('L1/pack', { code: 'X', device: 'd1', seq: 5, raw }, raw, false)?.eventId, 'e1');
  const resent = Buffer.from('{"code":"X","device":"d1","seq":5,"ts":1700000000000}');
  assert.is(idx.match('L1/pack', { code: 'X', device: 'd1', seq: 5, tsMs: 1700000000000, raw: resent }, resent, false)?.eventId, 'e1', 'same (device, seq) and code, other bytes: the same read resent');
  const other = Buffer.from('{"code":"Y","device":"d1","seq":5}');
  assert.is(idx.match('L1/pack', { code: 'Y', device: 'd1', seq: 5, raw: other }, other, false), undefined, 'same (device, seq), another code: a new read (the seq counted again)');
  assert.is(idx.match('L1/ship', { code: 'X', device: 'd1', seq: 5, raw }, raw, false), undefined, 'another station');
  assert.is(idx.match('L1/pack', { code: 'X', device: 'd1', seq: 6, raw }, raw, false), undefined, 'another seq');
  assert.is(idx.match('L1/pack', { code: ']d201X', raw: rawOnly }, rawOnly, false), undefined, 'a raw read again without DUP is a new scan');
  assert.is(idx.match('L1/pack', { code: ']d201X', raw: rawOnly }, rawOnly, true)?.eventId, 'e2', 'with DUP it is the redelivery');
  now += RETAIN_MS + 1;
  assert.is(idx.match('L1/pack', { code: 'X', device: 'd1', seq: 5, raw }, raw, false), undefined, 'forgotten after RETAIN_MS');
  idx.prune();
  assert.is(idx.size, 0);
});

test('mqtt-ingress - a protobuf read resent with its seq is its stored verdict again (compared by its bytes)', () => {
  const idx = new RedeliveryIndex();
  const raw = Buffer.from(encodeScanRead({ code: ']d2PB1', seq: 7, device: 'cam' }));
  const verdict = { verdict: 'accept' as const, reason: 'OK' as const, reasonCode: 0, ts: 1, eventId: 'e-pb' };
  // The index stores the payload's bytes; it cannot tell a protobuf payload from a raw code by them.
  idx.add('L1/pack', raw, 'cam', 7, verdict);
  const env = scanReadEnvelope(raw);
  assert.ok(typeof env !== 'string');
  assert.is(idx.match('L1/pack', env as Exclude<typeof env, string>, raw, true)?.eventId, 'e-pb', 'the same bytes, resent');
  const other = Buffer.from(encodeScanRead({ code: ']d2PB2', seq: 7, device: 'cam' }));
  const env2 = scanReadEnvelope(other) as Exclude<ReturnType<typeof scanReadEnvelope>, string>;
  assert.is(idx.match('L1/pack', env2, other, false), undefined, 'another code under the same seq is a new read');
});

test('mqtt-ingress - redelivery index is rebuilt from the newest journal events', async () => {
  const tmp = tempDir();
  const store = Store.open(tmp.dir);
  try {
    const put = (seq: number, ev: Parameters<typeof ScanEvent.encode>[0]) => {
      const bytes = ScanEvent.encode(ev).finish();
      const v = Buffer.alloc(bytes.length + 1);
      v[0] = KIND_SCAN;
      v.set(bytes, 1);
      return store.journal.put(seq, v);
    };
    const raw1 = Buffer.from('{"code":"C1","device":"d","seq":1}');
    await put(1, { eventId: 'g:e:1', line: 'L1', station: 'pack', device: 'd', readSeq: 1, verdict: 1, reason: 0, statusBefore: 4, statusAfter: 5, gtin: '09520123456788', serial: 'S1', raw: raw1 });
    await put(2, { eventId: 'g:e:2', line: 'L1', station: 'pack', verdict: 2, reason: 6, raw: Buffer.from(']d2C2'), message: 'not in cache' });
    await put(3, { eventId: 'g:e:3', line: 'L1', station: 'agg', verdict: 1, reason: 0, raw: Buffer.from('{"codes":["A","B"]}') });
    // Camera reads written with a byte order mark or blanks first, or of one code with its parent, are camera reads too.
    await put(4, { eventId: 'g:e:4', line: 'L1', station: 'agg', verdict: 1, reason: 0, raw: Buffer.from('\ufeff  {"codes":["A","B"]}') });
    await put(5, { eventId: 'g:e:5', line: 'L1', station: 'agg', verdict: 1, reason: 0, raw: Buffer.from('{"codes":["A"],"parent":"095201234567890122"}') });
    const idx = new RedeliveryIndex();
    assert.is(idx.loadJournal(store), 2, 'camera reads are left out');
    const v1 = idx.match('L1/pack', { code: 'C1', device: 'd', seq: 1, raw: raw1 }, raw1, false);
    assert.is(v1?.eventId, 'g:e:1');
    assert.is(v1?.status, 'PACKED');
    assert.is(v1?.serial, 'S1');
    assert.is(v1?.duplicateRead, true);
    const v2 = idx.match('L1/pack', { code: ']d2C2', raw: Buffer.from(']d2C2') }, Buffer.from(']d2C2'), true);
    assert.is(v2?.reason, 'UNKNOWN_SERIAL');
    assert.is(v2?.message, 'not in cache');
    assert.is(v2?.verdict, 'reject');
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test('mqtt-ingress - the reads of one turn are acknowledged in order once durable, even when one acknowledgement throws', async () => {
  const tmp = tempDir('sg-ingress-');
  const store = Store.open(tmp.dir);
  try {
    const cache = new Cache(store);
    const outbox = new Outbox(store, { gatewayId: 'gw', site: 'demo', maxEvents: 500, maxBytes: 1_000_000, maxDelayMs: 50, outboxMaxBytes: 1e9, durability: 'commit' }, silentLog);
    const pipeline = new Pipeline({ cache, outbox, gatewayId: 'gw', log: silentLog });
    const ingress = new Ingress({ verdictQos: 0 }, { pipeline, topics, outbox, store, stats: new MqttStats(silentLog), log: silentLog });
    const G = demoGtin(4);
    for (let i = 0; i < 4; i++) cache.putSerial(G, `T${i}`, newRecord(STATUSES.RECEIVED, 'LOT1', '2030-12-31'));
    await outbox.committed();
    const route = topics.route('scangate/v1/demo/L1/pack/read')!;
    const conn: ConnectionRef = { closed: false };
    const acked: [number, Error | null | undefined][] = [];
    // Four reads in one event turn on one connection: they share one durable promise. The second ack throws.
    for (let i = 0; i < 4; i++) {
      ingress.handle(route, Buffer.from(dm(G, `T${i}`), 'latin1'), 1, false, (err) => {
        acked.push([i, err]);
        if (i === 1) throw new Error('a broken acknowledgement');
      }, conn);
    }
    assert.is(acked.length, 0, 'nothing acknowledged before the events are durable');
    assert.is(ingress.pending, 4);
    await outbox.settled();
    await new Promise((r) => setImmediate(r));
    assert.equal(acked, [[0, null], [1, null], [2, null], [3, null]]);
    assert.is(ingress.pending, 0);
    assert.is(pipeline.counters.internalErrors, 1);
    outbox.close();
  } finally {
    await store.close();
    tmp.dispose();
  }
});

test.run();
