/**
 * Peer sync with two real gateways of one site (embedded MQTT, LMDB, one nats-server): a case packed at line 1's
 * gateway is known at the dock's gateway a moment later, so it can be shipped there, and a second pack of it
 * anywhere is refused; each gateway applies the other's transitions and never its own; a double decision made
 * inside the sync delay is detected and counted (the limit README "Peer sync" documents).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { importFile } from '../../gateway/import/index.js';
import { STATUSES } from '../../gateway/reasons.js';
import { Store } from '../../gateway/store.js';
import { demoGtin, dm, silentLog, tempDir, testConfig, writeCsv } from '../helpers/gateway.js';
import { startNats } from '../helpers/nats.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-peer');
const SITE = 'plant-a';
const G = demoGtin(314);
const SERIALS = ['C1', 'C2', 'C3', 'C4'];
/** How the engine refuses a serial that is already packed or shipped. */
const REFUSED = ['WRONG_STATUS', 'DUPLICATE_SERIAL'];

interface Verdict {
  reason: string;
  serial?: string;
  status?: string;
}

class Line {
  private readonly waiting = new Map<string, (v: Verdict) => void>();
  private constructor(
    readonly client: MqttClient,
    readonly gw: Gateway,
  ) {
    client.on('message', (topic, p) => {
      const v = JSON.parse(p.toString()) as Verdict;
      const key = `${topic.split('/').slice(3, 5).join('/')}|${v.serial}`;
      this.waiting.get(key)?.(v);
      this.waiting.delete(key);
    });
  }

  static async open(gw: Gateway): Promise<Line> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    await client.subscribeAsync(`scangate/v1/${SITE}/+/+/verdict`, { qos: 1 });
    return new Line(client, gw);
  }

  /** Scan `serial` at line/station and wait for the verdict. */
  scan(line: string, station: string, serial: string): Promise<Verdict> {
    const v = new Promise<Verdict>((resolve) => this.waiting.set(`${line}/${station}|${serial}`, resolve));
    void this.client.publishAsync(`scangate/v1/${SITE}/${line}/${station}/read`, dm(G, serial, 'LOT9', '301231'), { qos: 1 });
    return v;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - t0;
}

test('uplink-peer - packed at line 1, shipped at the dock a moment later; a second pack elsewhere is refused', async () => {
  const nats = await startNats();
  const dirs = [tempDir(), tempDir()];
  const gws: Gateway[] = [];
  const lines: Line[] = [];
  try {
    for (const d of dirs) {
      const store = Store.open(d.dir);
      await importFile(store, writeCsv(d.dir, SERIALS.map((s) => [G, s, 'LOT9', '2030-12-31', 'RECEIVED'])));
      await store.close();
    }
    const site = (line: string, stations: [string, string][]) => ({ id: SITE, lines: [{ id: line, stations: stations.map(([id, operation]) => ({ id, operation })) }] });
    // Batches leave after 250 ms: the sync delay is then long enough that two reads sent together (the double pack
    // below) are both decided before either gateway hears of the other's, even with both gateways in this process.
    const common = { nats: { servers: [nats.url], peerSync: true, retryDelayMs: 100 }, batch: { maxEvents: 50, maxDelayMs: 250 } } as const;
    gws.push(await startGateway(testConfig(dirs[0]!.dir, nats.url, { ...common, gatewayId: 'gw-line1', site: site('L1', [['pack', 'pack']]) } as never), silentLog));
    gws.push(await startGateway(testConfig(dirs[1]!.dir, nats.url, { ...common, gatewayId: 'gw-dock', site: site('DOCK', [['ship', 'ship'], ['pack', 'pack']]) } as never), silentLog));
    const [line1, dock] = [gws[0]!, gws[1]!];
    await until('both connected', () => gws.every((g) => g.uplink.link.stats.connected && g.uplink.peers!.stats().connected));
    await new Promise((r) => setTimeout(r, 300)); // consumers created
    lines.push(await Line.open(line1), await Line.open(dock));
    const [l1, d1] = [lines[0]!, lines[1]!];

    assert.is((await l1.scan('L1', 'pack', 'C1')).reason, 'OK', 'C1 packed at line 1');
    const syncMs = await until('the dock knows C1 is packed', () => dock.cache.getSerial(G, 'C1')?.status === STATUSES.PACKED);
    const ship = await d1.scan('DOCK', 'ship', 'C1');
    assert.is(ship.reason, 'OK', 'shipped at the dock right after');
    assert.ok(REFUSED.includes((await d1.scan('DOCK', 'pack', 'C1')).reason), 'packing a shipped case again is refused');
    const backMs = await until('line 1 knows C1 is shipped', () => line1.cache.getSerial(G, 'C1')?.status === STATUSES.SHIPPED);

    assert.is((await l1.scan('L1', 'pack', 'C2')).reason, 'OK');
    await until('the dock knows C2', () => dock.cache.getSerial(G, 'C2')?.status === STATUSES.PACKED);
    const second = await d1.scan('DOCK', 'pack', 'C2');
    assert.ok(REFUSED.includes(second.reason), `a second pack elsewhere is refused (${second.reason})`);
    assert.is(second.status, 'PACKED', 'the dock knows it is packed');

    // The limit: both gateways pack C3 within the sync delay. Both accept; peer sync reports the double decision.
    const [a, b] = await Promise.all([l1.scan('L1', 'pack', 'C3'), d1.scan('DOCK', 'pack', 'C3')]);
    assert.equal([a.reason, b.reason], ['OK', 'OK'], 'inside the delay nothing can refuse the second');
    await until('the double decision is reported', () => gws.some((g) => g.uplink.peers!.stats().effects.conflicts >= 1), 5000);

    const s1 = line1.uplink.peers!.stats();
    const s2 = dock.uplink.peers!.stats();
    assert.ok(s1.effects.ignored > 0 && s2.effects.ignored > 0, 'each gateway saw its own batches and skipped them');
    assert.is(s1.bad + s2.bad, 0);
    console.log(
      `peer sync: pack at line 1 -> known at the dock after ${syncMs} ms; ship at the dock -> known at line 1 after ${backMs} ms; ` +
        `dock applied ${s2.effects.applied} transitions, line 1 applied ${s1.effects.applied}; own batches skipped: ${s1.effects.ignored} / ${s2.effects.ignored}; ` +
        `double decisions detected: ${s1.effects.conflicts + s2.effects.conflicts}`,
    );
    assert.ok(syncMs < 2000, `within a second or two (${syncMs} ms)`);
  } finally {
    for (const l of lines) await l.client.endAsync();
    for (const g of gws) await g.close();
    await nats.dispose();
    for (const d of dirs) d.dispose();
  }
}, 60_000);

test.run();
