/**
 * A disk running out of space, for real: the whole gateway (embedded MQTT, pipeline, LMDB, NATS uplink) with
 * outbox.minFreeDiskBytes set just under the free space of the test's filesystem; a file written next to the
 * data directory takes the disk below it. The next read is held unacknowledged and undecided, a status update
 * from central waits, the alarm is raised; once the file is deleted the read is decided and acknowledged, the
 * update applied, and both events reach central. (Without the guard, a disk that really fills makes LMDB's
 * commit fail with ENOSPC, and lmdb-js was seen to abort the process on it.)
 */
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startGateway } from '../../cli/daemon.js';
import { freeDiskBytes } from '../../gateway/disk-guard.js';
import { STATUSES } from '../../gateway/reasons.js';
import { FLAG_ON_HOLD } from '../../gateway/cache/record.js';
import { encodeStatusUpdateBatch } from '../../protocol/index.js';
import { readEvents } from '../helpers/central.js';
import { demoGtin, silentLog, sleep, tempDir, testConfig, waitUntil } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('disk-low', {}, 60_000);
const MB = 1_048_576;
const G = demoGtin(7);

/** The gateway's Prometheus metrics without labels, by name. */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) (-?[0-9.e+]+)$/.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * Write real blocks (synced, so the filesystem counts them at once) until the disk has less than `below` free,
 * whatever else writes or deletes on it meanwhile (at most 2 GiB).
 */
function fillUntil(file: string, below: number): void {
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(8 * MB, 0x5a);
    for (let done = 0; freeDiskBytes(dirname(file)) >= below; done += chunk.length) {
      if (done >= 2048 * MB) throw new Error('the disk did not get fuller after 2 GiB written');
      writeSync(fd, chunk);
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
}

test('disk-low - below outbox.minFreeDiskBytes reads are held and the status sync waits; both go on once space is back', async () => {
  const nats = await startNats();
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  const filler = join(tmp.dir, 'filler');
  // The threshold sits 64 MiB under what is free now; the filler takes the disk 64 MiB below it: low with room
  // to spare, and not low again once the filler is gone.
  const min = freeDiskBytes(tmp.dir) - 64 * MB;
  const cfg = testConfig(dataDir, nats.url, { outbox: { minFreeDiskBytes: min }, http: { enabled: true, host: '127.0.0.1', port: 0 } });
  const nc = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: 'SCANGATE_STATUS', subjects: ['scangate.v1.status.>'] });
  const gw = await startGateway(cfg, silentLog);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
  try {
    const verdicts: string[] = [];
    client.on('message', (_t, p) => verdicts.push((JSON.parse(p.toString()) as { code: string }).code));
    await client.subscribeAsync('scangate/v1/demo/L1/verify/verdict', { qos: 0 });
    const replies: { ok: boolean; error?: string }[] = [];
    client.on('message', (t, p) => {
      if (t.endsWith('/control/reply')) replies.push(JSON.parse(p.toString()) as { ok: boolean; error?: string });
    });
    await client.subscribeAsync('scangate/v1/demo/L1/verify/control/reply', { qos: 0 });
    await client.publishAsync('scangate/v1/demo/L1/verify/read', 'BEFORE-1', { qos: 1 });
    assert.is(gw.outbox.stats().diskLow, false, 'room at first');
    // The status consumer is live: a first update is applied.
    const js = jetstream(nc);
    const status = (body: Parameters<typeof encodeStatusUpdateBatch>[0]) => js.publish('scangate.v1.status.demo', encodeStatusUpdateBatch(body));
    await status({ site: 'demo', createdMs: Date.now(), updates: [{ gtin: G, serial: 'S0', status: STATUSES.RECEIVED, lot: 'L1', expiry: '2030-12-31', updatedMs: Date.now() }], lots: [] });
    await waitUntil(() => gw.cache.getSerial(G, 'S0') !== undefined, 10_000, 'the first status update');

    fillUntil(filler, min - 64 * MB);
    await waitUntil(() => gw.outbox.stats().diskLow, 5_000, 'the guard sees the disk low');
    assert.is(gw.outbox.full, true, 'the outbox counts as full');
    // What an operator sees: the alarm metric, the free bytes under the threshold, the status API.
    const low = await scrape(gw.httpPort!);
    assert.is(low.get('scangate_disk_low'), 1);
    assert.is(low.get('scangate_outbox_full'), 1);
    assert.ok(low.get('scangate_disk_free_bytes')! >= 0 && low.get('scangate_disk_free_bytes')! < min, `free ${low.get('scangate_disk_free_bytes')} under ${min}`);
    assert.is(low.get('scangate_disk_low_episodes_total'), 1);
    const statusLow = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/status`)).json()) as { disk: { low: boolean; minFreeBytes: number } };
    assert.is(statusLow.disk.low, true);
    assert.is(statusLow.disk.minFreeBytes, min);
    const notReady = await fetch(`http://127.0.0.1:${gw.httpPort}/readyz`);
    assert.equal([notReady.status, await notReady.json()], [503, { ready: false, reason: 'SG_ERR_DISK_LOW' }], 'not ready: reads are held');

    // Central's updates wait: nothing is written while the disk is low. The first is delivered and left alone;
    // it must still come before the second afterwards (else it would pass for a redelivery and be lost).
    await status({ site: 'demo', createdMs: Date.now(), updates: [], lots: [{ gtin: G, lot: 'L9', onHold: true }] });
    await status({ site: 'demo', createdMs: Date.now(), updates: [{ gtin: G, serial: 'S1', status: STATUSES.RECEIVED, lot: 'L1', expiry: '2030-12-31', updatedMs: Date.now() }], lots: [] });
    await client.publishAsync('scangate/v1/demo/L1/verify/control', JSON.stringify({ cmd: 'setOrder', id: 7, gtins: [G] }), { qos: 1 });
    await waitUntil(() => replies.length > 0, 10_000, 'the control reply');
    assert.is(replies[0]!.ok, false, 'a control command changes nothing while the disk is low');
    assert.is(replies[0]!.error, 'SG_ERR_DISK_LOW');
    let acked = false;
    const held = client.publishAsync('scangate/v1/demo/L1/verify/read', 'DURING-1', { qos: 1 }).then(() => (acked = true));
    await sleep(1500);
    assert.is(acked, false, 'the read is not acknowledged while the disk is low');
    assert.not.ok(verdicts.includes('DURING-1'), 'nor decided (no verdict)');
    assert.is(gw.cache.getSerial(G, 'S1'), undefined, 'the status update is not applied');
    assert.is(gw.cache.getLot(G, 'L9'), undefined, 'nor the lot hold');
    assert.is(gw.uplink.status!.stats().applied, 1, 'only the update before');
    assert.ok(gw.pipeline.counters.readsHeldOutboxFull >= 1, 'the held read is counted');

    rmSync(filler);
    await held;
    await waitUntil(() => verdicts.includes('DURING-1'), 10_000, 'the verdict of the held read');
    // (A message counts as applied once its changes are committed; the cache shows them a moment before.)
    await waitUntil(() => gw.uplink.status!.stats().applied === 3, 10_000, 'the status updates applied');
    assert.is(gw.cache.getSerial(G, 'S1')!.status, STATUSES.RECEIVED);
    assert.is(gw.cache.getLot(G, 'L9')?.flags, FLAG_ON_HOLD, 'the update delivered while the disk was low is applied too, in order');
    assert.is(gw.uplink.status!.stats().redelivered, 0, 'and none taken for a redelivery');
    const st = gw.outbox.stats();
    assert.is(st.diskLow, false, 'alarm cleared');
    assert.is(st.diskLowEpisodes, 1);
    const after = await scrape(gw.httpPort!);
    assert.is(after.get('scangate_disk_low'), 0);
    assert.is(after.get('scangate_outbox_full'), 0);
    assert.ok(after.get('scangate_disk_free_bytes')! >= min);
    assert.is(after.get('scangate_disk_low_episodes_total'), 1, 'one episode counted');
    assert.ok(after.get('scangate_reads_held_outbox_full_total')! >= 1);
    assert.is((await fetch(`http://127.0.0.1:${gw.httpPort}/readyz`)).status, 200, 'ready again');
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', 2);
    const raws = stored.flatMap((b) => b.batch.events.map((e) => Buffer.from(e.raw ?? []).toString('latin1')));
    assert.equal(raws.filter((r) => r === 'BEFORE-1' || r === 'DURING-1').sort(), ['BEFORE-1', 'DURING-1'], 'both reads reach central, once each');
  } finally {
    rmSync(filler, { force: true });
    await client.endAsync(true);
    await gw.close();
    await nc.close();
    await nats.dispose();
    tmp.dispose();
  }
});

test.run();
