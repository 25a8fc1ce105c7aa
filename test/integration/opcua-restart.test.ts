/**
 * Reconnect that never fails, against the virtual PLC while its line runs (20 reads/s on each of two readers):
 * a stalled link, a cut link, the PLC's server stopped for 5 s, and stopped for longer than the subscription
 * lifetime. scangate is never restarted; every read after a reconnect must be decided, and every read the PLC
 * made that never arrived must be counted as lost (no more, no less). The last case runs a second gateway whose
 * subscription lifetime (3 s) is shorter than the outage.
 */
import type { Gateway } from '../../cli/daemon.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { nowMs, type ReadRecord } from '../../simulator/plc/index.js';
import { join } from 'node:path';
import { tempDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/proc.js';
import { readerConfig, sleep, startPlc, startPlcGateway, tcpProxy, waitUntil, type TcpProxy } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-restart', {}, 40_000);
const RATE = 20; // reads/s per reader
const SHORT_LIFETIME_MS = 3_000; // publishingIntervalMs 10 x lifetimeCount 300
let tmp: ReturnType<typeof tempDir>;
let plc: VirtualPlc;
let proxy: TcpProxy;
let gw: Gateway;

const ep = () => gw.opcua!.status().endpoints[0]!;
/** Reads the PLC made that got no decision from the gateway: never received (lost), or decided while the PLC went
 * away and dropped when it came back restarted (their seqs name other products in its new run: expired). */
const lost = () => ep().readers.reduce((n, r) => n + r.lostReads + r.decisionsExpired, 0);
const allRecords = (): ReadRecord[] => plc.line.readers.flatMap((r) => r.records);
const undecided = () => allRecords().filter((r) => r.decisions === 0).length;

/** Stop the line and wait until what it produced is decided or known lost (`offset`: undecided before this gateway). */
async function settle(offset = 0): Promise<void> {
  plc.line.stopGeneration();
  await waitUntil(() => undecided() - offset === lost(), 10_000, `undecided reads (${undecided() - offset}) to equal the lost ones (${lost()})`);
}

test.before(async () => {
  tmp = tempDir('sg-opcua-restart-');
  plc = await startPlc(tmp.dir, { readers: [{ id: 'R1', ways: ['data'] }, { id: 'R2', ways: ['event'] }] });
  proxy = await tcpProxy(plc.port);
  gw = await gateway(15_000);
}, 60_000);

/** A gateway reading R1 (data item) and R2 (events) through the proxy, with this subscription lifetime. */
async function gateway(lifetimeMs: number): Promise<Gateway> {
  const g = await startPlcGateway(tmp.dir, plc, {
    serials: 100,
    // requestTimeoutMs 2000: the probe of a silent subscription times out within a stall.
    endpoint: { url: proxy.url, publishingIntervalMs: 10, keepAliveCount: 10, lifetimeCount: lifetimeMs / 10, sessionTimeoutMs: 60_000, requestTimeoutMs: 2_000 },
    readers: [readerConfig(plc, 'R1', 'data', 'structure'), readerConfig(plc, 'R2', 'event', 'structure')],
  });
  await waitUntil(() => g.opcua!.status().endpoints[0]!.state === 'connected', 20_000, 'the PLC session');
  return g;
}

test.after(async () => {
  plc?.line.stopGeneration();
  await gw?.close();
  await proxy?.close();
  await plc?.close();
  tmp?.dispose();
});

test('opcua restart - a link stalled 6 s (no FIN, bytes held) is not a dead session: same session, no read lost', async () => {
  plc.line.startGeneration(RATE);
  await sleep(1_000);
  proxy.pause();
  await sleep(6_000);
  proxy.resume();
  await sleep(1_000);
  await settle();
  const e = ep();
  console.log(`stall: keepAliveProblems=${e.keepAliveProblems} reconnects=${e.reconnects} subscriptionRebuilds=${e.subscriptionRebuilds} lost=${lost()} produced=${allRecords().length}`);
  assert.is(e.connects, 1, 'no new session');
  assert.is(e.reconnects, 0, 'no reconnection');
  assert.is(e.subscriptionRebuilds, 0, 'the subscription kept');
  assert.ok(e.keepAliveProblems >= 1, 'the silence was noticed, and the probe timed out');
  assert.is(lost(), 0);
  assert.is(undecided(), 0, 'every read decided, late but decided');
});

test('opcua restart - a link cut for 2 s: the session is repaired, its queued reads republished, none lost', async () => {
  const lostBefore = lost();
  plc.line.startGeneration(RATE);
  await sleep(1_000);
  proxy.cut(2_000);
  await waitUntil(() => ep().reconnects === 1 && ep().state === 'connected', 15_000, 'the repaired connection');
  await sleep(1_000);
  await settle();
  const e = ep();
  console.log(`cut 2 s: reconnectMs=${e.lastReconnectMs} (from the break) connects=${e.connects} lost=${lost() - lostBefore} produced=${allRecords().length}`);
  assert.is(e.connects, 1, 'the same session, reactivated');
  assert.is(e.serverRestarts, 0);
  assert.is(lost() - lostBefore, 0);
  assert.is(undecided(), 0);
});

async function restartCase(downMs: number, label: string): Promise<void> {
  const lostBefore = lost();
  const undecidedBefore = undecided();
  const offlineBefore = allRecords().filter((r) => !r.online).length;
  const restartsBefore = ep().serverRestarts;
  plc.line.startGeneration(RATE);
  await sleep(1_000);
  await plc.restart(downMs);
  const upAt = nowMs();
  await waitUntil(() => ep().serverRestarts === restartsBefore + 1 && ep().state === 'connected', 20_000, 'the reconnection');
  const reconnectedAt = nowMs();
  await sleep(2_000);
  await settle(undecidedBefore - lostBefore);
  const firstDecided = allRecords()
    .filter((r) => r.atMs >= upAt && r.decidedAtMs !== undefined)
    .reduce((m, r) => Math.min(m, r.decidedAtMs!), Infinity);
  // A reader's reads flow again once the client has its monitored item back, which node-opcua does on its own
  // shortly after the session (a read the PLC made in between is a gap, counted as lost like those made while it
  // was down). From a reader's first read after the reconnection that was decided, none may be missed.
  const after = plc.line.readers.flatMap((rd) => {
    const resumedAt = rd.records.filter((r) => r.atMs >= reconnectedAt && r.decisions > 0).reduce((m, r) => Math.min(m, r.atMs), Infinity);
    return rd.records.filter((r) => r.atMs >= resumedAt);
  });
  const e = ep();
  const readers = e.readers.map((r) => `${r.id}: gaps=${r.gaps} lost=${r.lostReads}`).join(', ');
  console.log(
    `${label}: down ${downMs} ms; reconnected ${Math.round(reconnectedAt - upAt)} ms after the PLC was back ` +
      `(first read after it decided at +${Math.round(firstDecided - upAt)} ms); reads lost ${lost() - lostBefore} ` +
      `(the PLC produced ${allRecords().filter((r) => !r.online).length - offlineBefore} while its server was down); totals ${readers}; ` +
      `reads after reconnect ${after.length}, decided ${after.filter((r) => r.decisions > 0).length}`,
  );
  assert.ok(after.length > 20, 'the line ran after the reconnection');
  assert.ok(after.every((r) => r.decisions === 1), 'every read after the reconnection decided, once');
  assert.is(undecided() - undecidedBefore, lost() - lostBefore, 'every read never decided is counted as lost');
  assert.ok(lost() - lostBefore >= (downMs / 1000) * RATE * 2 * 0.8, 'the reads made while the server was down are reported');
}

test('opcua restart - PLC server stopped 5 s and started again: reads resume without restarting scangate, gaps reported', async () => {
  await restartCase(5_000, 'restart');
  assert.is(ep().connects, 1, 'scangate kept its client; node-opcua opened the new session');
});

test('opcua restart - PLC server down longer than the subscription lifetime: every monitored item restored by itself', async () => {
  await gw.close();
  gw = await gateway(SHORT_LIFETIME_MS);
  await restartCase(SHORT_LIFETIME_MS * 2, 'restart past the lifetime');
  assert.is(ep().serverRestarts, 1);
});

test('opcua restart - started before its PLC exists: keeps trying without limit, connects when the PLC appears', async () => {
  await gw.close();
  const port = await freePort();
  // The same node ids as the running PLC's (same line and reader), on a port where nothing listens yet.
  gw = await startPlcGateway(tmp.dir, plc, {
    dataName: 'data-late',
    endpoint: { url: `opc.tcp://127.0.0.1:${port}` },
    readers: [readerConfig(plc, 'R1', 'data', 'structure')],
  });
  await waitUntil(() => ep().lastError?.code === 'SG_ERR_OPCUA_CONNECT', 10_000, 'a refused attempt');
  await sleep(2_000); // several attempts, none the last
  assert.is(ep().state, 'connecting');
  const second = await startPlc(join(tmp.dir, 'late'), { port, readers: [{ id: 'R1', ways: ['data'] }] });
  try {
    await waitUntil(() => ep().state === 'connected', 10_000, 'the connection to the PLC that appeared');
    await sleep(200);
    const recs = [second.line.produce('R1'), second.line.produce('R1')];
    await waitUntil(() => recs.every((r) => r.decisions === 1), 5_000, 'its reads decided');
  } finally {
    await gw.close();
    await second.close();
  }
});

test.run();
