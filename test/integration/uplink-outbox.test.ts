/**
 * The outbox at its bound, through the whole gateway (embedded MQTT, pipeline, LMDB, uplink): with NATS away
 * the outbox fills to outbox.maxBytes, the next read is held unacknowledged and undecided (no verdict, no
 * event) with the alarm raised, and it is decided and acknowledged once NATS is back and the outbox drains.
 * Then `scangate outbox replay` (the real binary) sends a stopped gateway's outbox, and refuses while a
 * gateway owns the data directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { readEvents } from '../helpers/central.js';
import { silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { runScangate, type Proc } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-outbox');

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Exit code of a spawned scangate (a timer that does not outlive the process). */
function exitCode(p: Proc, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    const t = setTimeout(() => reject(new Error(`scangate did not exit within ${ms} ms:\n${p.output()}`)), ms);
    p.child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** A read the parser refuses (MALFORMED): decided without a cache, and its event carries the ~600-byte raw read. */
function bigRead(n: number): string {
  return `X${n}-${'A'.repeat(600)}`;
}

/**
 * Publish big reads at QoS 1 until one is held: not acknowledged within `waitMs` while the outbox is full (one
 * only slow on a loaded machine is waited for and counted as acknowledged).
 */
async function fillUntilHeld(client: mqtt.MqttClient, gw: Gateway, waitMs: number): Promise<{ acked: number; held: Promise<unknown> | null; heldCode: string }> {
  let acked = 0;
  for (let n = 0; n < 5000; n++) {
    const p = client.publishAsync('scangate/v1/demo/L1/verify/read', bigRead(n), { qos: 1 });
    const r = await Promise.race([p.then(() => 'acked'), sleep(waitMs).then(() => 'held')]);
    if (r === 'held' && gw.outbox.full) return { acked, held: p, heldCode: bigRead(n) };
    if (r === 'held') await p;
    acked++;
  }
  return { acked, held: null, heldCode: '' };
}

test('uplink-outbox - a full outbox holds reads unacknowledged and undecided, with an alarm, until the uplink frees it', async () => {
  const nats = await startNats();
  await nats.stop(); // NATS away: the outbox can only grow
  const tmp = tempDir();
  // maxHoldMs 0: the held read is decided however long it waited (the next test limits it).
  const cfg = testConfig(tmp.dir, nats.url, { mqtt: { maxHoldMs: 0 }, outbox: { maxBytes: 1_048_576 }, batch: { maxEvents: 100, maxBytes: 65_536, maxDelayMs: 20 } } as never);
  const gw = await startGateway(cfg, silentLog);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
  try {
    let verdicts = 0;
    client.on('message', () => verdicts++);
    await client.subscribeAsync('scangate/v1/demo/L1/verify/verdict', { qos: 0 });
    const { acked, held } = await fillUntilHeld(client, gw, 1500);
    assert.ok(held !== null, `a read was held once the outbox was full (after ${acked} reads)`);
    const st = gw.outbox.stats();
    assert.ok(st.full && st.bytes >= 1_048_576, 'outbox at its bound');
    assert.is(st.fullEpisodes, 1, 'alarm raised (SG_ERR_OUTBOX_FULL)');
    assert.ok(gw.pipeline.counters.readsHeldOutboxFull >= 1, 'counted');
    await sleep(200);
    assert.is(verdicts, acked, 'the held read was not decided: nothing is decided that cannot be recorded');
    assert.is(st.events, acked, 'every acknowledged read has its event, nothing was deleted');
    const oldest = gw.outbox.oldestUnsentMs();
    assert.ok(oldest !== null && Date.now() - oldest >= 1500, 'the oldest unsent event is as old as the outage (held 1.5 s at least)');

    await nats.restart(); // central is back: the uplink drains, the outbox frees, the held read goes through
    await held;
    const end = Date.now() + 10_000;
    while (verdicts < acked + 1 && Date.now() < end) await sleep(10);
    assert.is(verdicts, acked + 1, 'the held read was decided once there was room');
    assert.is(gw.outbox.stats().fullSinceMs, null, 'alarm cleared');
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', acked + 1, 20_000);
    const ids = stored.flatMap((b) => b.batch.events.map((e) => e.eventId));
    assert.is(new Set(ids).size, acked + 1, 'every decided read reached central');
    assert.is(ids.length, acked + 1, 'once');
    const end2 = Date.now() + 10_000;
    while (gw.outbox.oldestUnsentMs() !== null && Date.now() < end2) await sleep(20);
    assert.is(gw.outbox.oldestUnsentMs(), null, 'nothing unsent once central has it all');
  } finally {
    await client.endAsync();
    await gw.close();
    await nats.dispose();
    tmp.dispose();
  }
}, 90_000);

test('uplink-outbox - a read held longer than mqtt.maxHoldMs is not decided when room comes back: recorded as a SYSTEM_UNAVAILABLE reject, acknowledged', async () => {
  const nats = await startNats();
  await nats.stop();
  const tmp = tempDir();
  const cfg = testConfig(tmp.dir, nats.url, { mqtt: { maxHoldMs: 300 }, outbox: { maxBytes: 1_048_576 }, batch: { maxEvents: 100, maxBytes: 65_536, maxDelayMs: 20 } } as never);
  const gw = await startGateway(cfg, silentLog);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
  try {
    const verdicts: Record<string, unknown>[] = [];
    client.on('message', (_t, m) => verdicts.push(JSON.parse(m.toString()) as Record<string, unknown>));
    await client.subscribeAsync('scangate/v1/demo/L1/verify/verdict', { qos: 0 });
    const { acked, held, heldCode } = await fillUntilHeld(client, gw, 1000);
    assert.ok(held !== null, 'a read was held');
    await nats.restart();
    await held;
    const late = await (async () => {
      for (const end = Date.now() + 10_000; Date.now() < end; await sleep(10)) {
        const v = verdicts.find((x) => x.code === heldCode);
        if (v !== undefined) return v;
      }
      return undefined;
    })();
    assert.ok(late !== undefined, 'the held read got a verdict');
    assert.equal([late!.verdict, late!.reason, late!.reasonCode], ['reject', 'SYSTEM_UNAVAILABLE', 20]);
    assert.match(String(late!.message), /^held \d+ ms while the outbox was full: not decided this late/);
    assert.is(gw.pipeline.counters.readsRefusedLate, 1);
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', acked + 1, 20_000);
    const ev = stored.flatMap((b) => b.batch.events).find((e) => Buffer.from(e.raw ?? []).toString('latin1') === heldCode);
    assert.ok(ev !== undefined, 'recorded for central');
    assert.is(ev!.reason, 20);
  } finally {
    await client.endAsync();
    await gw.close();
    await nats.dispose();
    tmp.dispose();
  }
}, 90_000);

test('uplink-outbox - `scangate outbox replay` sends a stopped gateway\'s outbox, and refuses while a gateway owns it', async () => {
  const nats = await startNats();
  await nats.stop();
  const tmp = tempDir();
  const cfg = testConfig(tmp.dir, nats.url, { batch: { maxEvents: 10, maxDelayMs: 20 } });
  const yaml = join(tmp.dir, 'scangate.yaml');
  writeFileSync(yaml, `gatewayId: gw-test\ndataDir: ${tmp.dir}\nlog: { level: warn }\nnats: { servers: ["${nats.url}"], retryDelayMs: 100, connectTimeoutMs: 1000 }\n`);
  let gw = await startGateway(cfg, silentLog);
  try {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    for (let n = 0; n < 35; n++) await client.publishAsync('scangate/v1/demo/L1/verify/read', `Y${n}`, { qos: 1 });
    await client.endAsync();
    const locked = runScangate(['outbox', 'replay', '--config', yaml, '--timeout-ms', '2000']);
    assert.is(await exitCode(locked, 20_000), 1, 'refused while the gateway runs');
    assert.match(locked.output(), /SG_ERR_UPLINK_LOCKED/);
    await gw.close();

    const stats = runScangate(['outbox', 'stats', '--config', yaml]);
    assert.is(await exitCode(stats, 20_000), 0);
    const before = JSON.parse(stats.output().trim().split('\n').pop()!) as { events: number; sealedBatches: number };
    assert.is(before.events, 35);
    assert.ok(before.sealedBatches >= 4, 'sealed by count or age');

    await nats.restart();
    const replay = runScangate(['outbox', 'replay', '--config', yaml, '--timeout-ms', '15000']);
    assert.is(await exitCode(replay, 30_000), 0, replay.output());
    const out = JSON.parse(replay.output().trim().split('\n').pop()!) as { replayed: { batches: number; events: number }; left: { events: number } };
    assert.equal([out.replayed.batches, out.replayed.events, out.left.events], [before.sealedBatches, 35, 0]);
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', 35);
    assert.is(stored.flatMap((b) => b.batch.events).length, 35, 'all at central, once');
    assert.equal(
      stored.map((b) => b.msgId),
      stored.map((_, i) => `gw-test.${i + 1}`),
      'in order, numbered from 1',
    );

    gw = await startGateway(cfg, silentLog); // the gateway takes its data directory back, nothing left to send
    assert.is(gw.outbox.stats().events, 0);
  } finally {
    await gw.close();
    await nats.dispose();
    tmp.dispose();
  }
}, 90_000);

test.run();
