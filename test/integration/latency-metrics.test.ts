/**
 * The latency histograms an operator watches: verdict (broker hand-over to verdict published), acknowledgement
 * delay (verdict to the read's event durable) and uplink batch delay (sealed to stored at central), through a
 * real gateway, a real nats-server and mqtt.js, read back from /metrics and /api/status.
 */
import mqtt from 'mqtt';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { LATENCY_BUCKETS_MS, LatencyHistogram } from '../../gateway/latency.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, waitUntil } from '../helpers/gateway.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('latency-metrics');
let nats: NatsServer;
let tmp: ReturnType<typeof tempDir>;
let gw: Gateway;
const G = demoGtin(4711);
/** Every write group waits this long before it is issued: a QoS 1 read's acknowledgement can come no sooner. */
const GROUP_MS = 60;

test.before(async () => {
  nats = await startNats();
  tmp = tempDir();
  const cfg = testConfig(tmp.dir, nats.url, {
    site: { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'commission', operation: 'commission', duplicateReadWindowMs: 0 }] }] },
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    outbox: { groupCommitMs: GROUP_MS },
  });
  gw = await startGateway(cfg, silentLog);
});

test.after(async () => {
  await gw?.close();
  await nats?.dispose();
  tmp?.dispose();
});

/** One histogram of a Prometheus text page: cumulative buckets by `le`, sum and count. */
function histogram(page: string, name: string): { buckets: [string, number][]; sum: number; count: number } {
  const buckets: [string, number][] = [];
  for (const m of page.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) buckets.push([m[1]!, Number(m[2])]);
  const one = (suffix: string) => Number(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(page)?.[1] ?? NaN);
  return { buckets, sum: one('sum'), count: one('count') };
}

/** Observations at or below `le` seconds. */
const atOrBelow = (h: ReturnType<typeof histogram>, le: number) => h.buckets.find(([b]) => Number(b) === le)?.[1] ?? NaN;

test('latency-metrics - verdicts, acknowledgements and uplink batches are counted and timed', async () => {
  const base = `http://127.0.0.1:${gw.httpPort}`;
  const scrape = async () => {
    const page = await (await fetch(`${base}/metrics`)).text();
    return {
      verdict: histogram(page, 'scangate_mqtt_verdict_seconds'),
      ack: histogram(page, 'scangate_mqtt_ack_delay_seconds'),
      uplink: histogram(page, 'scangate_uplink_batch_delay_seconds'),
    };
  };
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'lat-scanner', reconnectPeriod: 0 });
  try {
    const T = 'scangate/v1/demo/L1/commission/read';
    // A first read, and a pause: the writes of the start and of that read's batch are behind us, so each read
    // below opens a write group of its own.
    await client.publishAsync(T, dm(G, 'LAT0'), { qos: 1 });
    await waitUntil(() => gw.outbox.stats().events === 0 && gw.forwarder.stats.published > 0, 10_000, 'the first batch at central');
    await new Promise((r) => setTimeout(r, 300));
    const before = await scrape();
    assert.is(before.verdict.count, 1);
    assert.is(before.ack.count, 1);

    // Three QoS 1 reads, one after the other (each PUBACK waits for its own write group), then one QoS 0 read and
    // a QoS 1 read on an undeclared station (both acknowledged at once, without a durable wait).
    for (let i = 1; i <= 3; i++) await client.publishAsync(T, dm(G, `LAT${i}`), { qos: 1 });
    await client.publishAsync(T, dm(G, 'LAT4'), { qos: 0 });
    await client.publishAsync('scangate/v1/demo/L1/nowhere/read', dm(G, 'LAT5'), { qos: 1 });
    await waitUntil(() => gw.pipeline.counters.reads >= 6, 5000, 'the reads decided');
    await waitUntil(() => gw.outbox.stats().events === 0, 10_000, 'every batch at central');
    const { verdict, ack, uplink } = await scrape();

    for (const [name, h] of [['verdict', verdict], ['ack', ack], ['uplink', uplink]] as const) {
      assert.is(h.buckets.length, LATENCY_BUCKETS_MS.length + 1, `${name}: every bucket and +Inf`);
      assert.is(h.buckets.at(-1)![0], '+Inf');
      assert.is(h.buckets.at(-1)![1], h.count, `${name}: +Inf holds every observation`);
      for (let i = 1; i < h.buckets.length; i++) assert.ok(h.buckets[i]![1] >= h.buckets[i - 1]![1], `${name}: buckets are cumulative`);
    }
    assert.is(verdict.count - before.verdict.count, 5, 'one verdict per read: 3 decided QoS 1, 1 QoS 0, 1 undeclared station');
    assert.ok(verdict.sum > 0 && verdict.sum < 5, `verdict sum ${verdict.sum} s`);
    assert.is(ack.count - before.ack.count, 3, 'only QoS 1 reads with an event wait for the disk');
    // Each of those waited for a group of GROUP_MS that it opened: none was acknowledged within 25 ms.
    assert.is(atOrBelow(ack, 0.025) - atOrBelow(before.ack, 0.025), 0, `acknowledgements before the group commit: ${JSON.stringify(ack.buckets)}`);
    assert.ok(ack.sum - before.ack.sum >= (3 * 25) / 1000, `ack sum ${ack.sum} s`);
    assert.is(uplink.count, gw.forwarder.stats.published, 'one observation per batch central acknowledged');
    assert.ok(uplink.count > before.uplink.count);

    const status = (await (await fetch(`${base}/api/status`)).json()) as {
      mqtt: { verdictLatency: { count: number }; ackLatency: { count: number; p50AtMostMs: number; meanMs: number } };
      nats: { batchDelay: { count: number } };
    };
    assert.is(status.mqtt.verdictLatency.count, verdict.count);
    assert.is(status.mqtt.ackLatency.count, ack.count);
    assert.ok(status.mqtt.ackLatency.p50AtMostMs >= 50, `ack p50 bound ${status.mqtt.ackLatency.p50AtMostMs} ms`);
    assert.is(status.nats.batchDelay.count, uplink.count);
  } finally {
    await client.endAsync();
  }
});

test('latency-metrics - bucket bounds and quantiles of the histogram', () => {
  const h = new LatencyHistogram();
  assert.is(h.atMost(0.5), null);
  assert.equal(h.summary(), { count: 0, meanMs: null, p50AtMostMs: null, p99AtMostMs: null, p999AtMostMs: null });
  h.observe(0.05); // on a bound: in that bucket
  h.observe(0.3);
  h.observe(3, 97); // 97 reads that shared one wait
  h.observe(40_000); // beyond the last bound
  assert.is(h.count, 100);
  assert.is(h.counts[0], 1);
  assert.is(h.counts[LATENCY_BUCKETS_MS.indexOf(0.5)], 1);
  assert.is(h.counts[LATENCY_BUCKETS_MS.indexOf(5)], 97);
  assert.is(h.counts[LATENCY_BUCKETS_MS.length], 1);
  assert.ok(Math.abs(h.sumMs - (0.05 + 0.3 + 291 + 40_000)) < 1e-9);
  assert.is(h.atMost(0.01), 0.05);
  assert.is(h.atMost(0.02), 0.5);
  assert.is(h.atMost(0.5), 5);
  assert.is(h.atMost(0.99), 5);
  assert.is(h.atMost(1), Infinity);
  const s = JSON.parse(JSON.stringify(h)) as ReturnType<LatencyHistogram['summary']>;
  assert.equal(s, { count: 100, meanMs: 402.914, p50AtMostMs: 5, p99AtMostMs: 5, p999AtMostMs: '>30000' });
});

test.run();
