/**
 * An unreachable NATS never stops decisions; the outbox keeps every event across a gateway restart and
 * sends it once NATS is back.
 */
import mqtt from 'mqtt';
import { startGateway } from '../../cli/daemon.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { readEvents } from '../helpers/central.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('outage');

test('outage - reads are decided with NATS down, and the outbox survives a restart and is sent after it', async () => {
  const nats = await startNats();
  await nats.stop(); // NATS is down from the start: its port is known and closed
  const tmp = tempDir();
  try {
    const G = demoGtin(77);
    const serials = Array.from({ length: 30 }, (_, i) => `S${i}`);
    const store = Store.open(tmp.dir);
    await importFile(store, writeCsv(tmp.dir, serials.map((s) => [G, s, 'L7', '2031-01-31', 'RECEIVED'])));
    await store.close();

    const cfg = testConfig(tmp.dir, nats.url, { batch: { maxEvents: 8, maxDelayMs: 10 } });
    let gw = await startGateway(cfg, silentLog);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    const verdicts: string[] = [];
    client.on('message', (_t, p) => verdicts.push((JSON.parse(p.toString()) as { reason: string }).reason));
    await client.subscribeAsync('scangate/v1/demo/L1/pack/verdict', { qos: 1 });
    for (const s of serials) await client.publishAsync('scangate/v1/demo/L1/pack/read', dm(G, s, 'L7', '310131'), { qos: 1 });
    const end = Date.now() + 5000;
    while (verdicts.length < serials.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.is(verdicts.length, 30, 'every read decided while NATS is down');
    assert.equal([...new Set(verdicts)], ['OK']);
    await client.endAsync();
    assert.is(gw.outbox.stats().events, 30, 'every event waits in the outbox');
    assert.is(gw.forwarder.stats.connected, false);

    const t0 = Date.now();
    await gw.close();
    assert.ok(Date.now() - t0 < 5000, `shutdown took ${Date.now() - t0} ms`);

    // Restart: NATS is back, and so is the gateway on the same data dir.
    await nats.restart();
    gw = await startGateway(cfg, silentLog);
    const stored = await readEvents(nats.url, 'SCANGATE_EVENTS', 30);
    const events = stored.flatMap((b) => b.batch.events);
    assert.is(events.length, 30, 'nothing lost');
    assert.equal(events.map((e) => e.serial), serials, 'in read order');
    assert.is(new Set(events.map((e) => e.eventId)).size, 30, 'no duplicates');
    const drained = Date.now() + 3000;
    while (gw.outbox.stats().events > 0 && Date.now() < drained) await new Promise((r) => setTimeout(r, 20));
    assert.is(gw.outbox.stats().events, 0, 'outbox empty after PubAcks');
    await gw.close();
  } finally {
    await nats.dispose();
    tmp.dispose();
  }
}, 60_000);

test.run();
