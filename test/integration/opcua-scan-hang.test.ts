/**
 * A PLC whose AutoID Scan method hangs (way scan): one call at a time, each waiting up to requestTimeoutMs. The
 * triggers waiting behind it are bounded: the oldest is dropped first (decided NO_READ at once: the product at
 * the reader is the newest trigger's, and Scan reads what is at the reader now), counted and logged; a call that
 * times out is logged and counted as a Scan error, told apart from a Scan that answered with no read.
 */
import { Registry } from 'prom-client';
import type { Gateway } from '../../cli/daemon.js';
import { withOpcuaMetrics } from '../../cli/metrics.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { tempDir } from '../helpers/gateway.js';
import { captureLog, closePlcGateway, readerConfig, sleep, startPlc, startPlcGateway, untilConnected, waitUntil } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-scan-hang', {}, 30_000);
let tmp: ReturnType<typeof tempDir>;
let plc: VirtualPlc;
let gw: Gateway;
const logs = captureLog();
/** Triggers that may wait behind the call in progress (README "PLCs over OPC UA", way scan). */
const MAX_WAITING = 4;

const status = () => gw.opcua!.status().endpoints[0]!.readers.find((r) => r.id === 'R1')!;

test.before(async () => {
  tmp = tempDir('sg-opcua-scan-hang-');
  plc = await startPlc(tmp.dir, { readers: [{ id: 'R1', ways: ['scan'] }] });
  gw = await startPlcGateway(tmp.dir, plc, {
    serials: 100,
    log: logs.log,
    endpoint: { requestTimeoutMs: 3_000 },
    readers: [readerConfig(plc, 'R1', 'scan', 'structure')],
  });
  await untilConnected(gw);
}, 60_000);

test.after(() => closePlcGateway(gw, plc, tmp));

test('opcua scan hang - the backlog is bounded (oldest dropped, decided NO_READ at once), a timeout is logged and counted apart from a no-read', async () => {
  await sleep(300);
  const first = plc.line.produce('R1');
  await waitUntil(() => first.decisions === 1, 5_000, 'a Scan that answers');
  assert.is(first.decision, 1);

  const release = plc.holdScans('R1');
  const t0 = Date.now();
  const recs: ReturnType<typeof plc.line.produce>[] = [];
  for (let i = 0; i < 11; i++) {
    recs.push(plc.line.produce('R1'));
    await sleep(20);
  }
  // One call out, MAX_WAITING waiting: the 6 oldest waiting were dropped and decided at once, before any timeout.
  const dropped = recs.slice(1, 11 - MAX_WAITING);
  await waitUntil(() => dropped.every((r) => r.decisions === 1), 2_500, 'the dropped triggers decided');
  assert.ok(Date.now() - t0 < 3_000, 'decided before the call in progress timed out');
  assert.ok(dropped.every((r) => r.decision === 2 && r.reasonCode === 1), 'decided NO_READ (the PLC rejects the product)');
  assert.ok(recs.slice(11 - MAX_WAITING).every((r) => r.decisions === 0), 'the newest wait for their Scan');
  let s = status();
  assert.is(s.scansDropped, 6);
  assert.is(s.scansWaiting, MAX_WAITING);
  assert.is(s.scanErrors, 0);

  await waitUntil(() => status().scanTimeouts === 1, 6_000, 'the call in progress timing out');
  await waitUntil(() => recs[0]!.decisions === 1, 1_000, 'its trigger decided');
  assert.is(recs[0]!.reasonCode, 1, 'NO_READ');
  release();
  await waitUntil(() => recs.every((r) => r.decisions === 1), 5_000, 'every trigger decided');
  s = status();
  assert.is(s.scanErrors, 1, 'only the timeout is a Scan error');
  assert.is(s.scanTimeouts, 1);
  assert.is(s.scansWaiting, 0);
  // The PLC's Scan returns what is at the reader now: the first call after the release takes it, the next ones
  // find nothing there, which is a no-read, not an error.
  assert.ok(s.scanNoReads >= 1, `no-reads counted apart (${s.scanNoReads})`);
  assert.is(s.reads, 1 + 11);

  const scanLines = logs.lines.filter((l) => l.reader === 'R1' && typeof l.scan === 'string');
  const timeouts = scanLines.filter((l) => l.scan === 'timeout');
  const drops = scanLines.filter((l) => l.scan === 'dropped');
  assert.is(timeouts.length, 1, JSON.stringify(scanLines));
  assert.is(timeouts[0]!.code, 'SG_ERR_OPCUA_SCAN');
  assert.match(String(timeouts[0]!.msg), /Scan .*did not answer within 3000 ms.*NO_READ/);
  assert.is(drops.length, 1, 'six drops, one line (rate-limited)');
  assert.match(String(drops[0]!.msg), /oldest/);
  assert.ok(scanLines.every((l) => l.level === 40));
  // The same counts on /metrics.
  const metrics = await withOpcuaMetrics(new Registry(), () => gw.opcua!.status()).metrics();
  assert.match(metrics, /scangate_opcua_scans_dropped_total\{endpoint="[^"]+",reader="R1"\} 6\n/);
  assert.match(metrics, /scangate_opcua_scan_timeouts_total\{endpoint="[^"]+",reader="R1"\} 1\n/);
  assert.match(metrics, /scangate_opcua_scan_errors_total\{endpoint="[^"]+",reader="R1"\} 1\n/);
  assert.match(metrics, new RegExp(`scangate_opcua_scan_no_reads_total\\{endpoint="[^"]+",reader="R1"\\} ${s.scanNoReads}\\n`));
});

test('opcua scan hang - a Scan whose AutoID Status says the reader failed (DEVICE_FAULT) is a Scan error, logged, not a no-read', async () => {
  const before = status();
  const restore = plc.failScans('R1', 20);
  try {
    const rec = plc.line.produce('R1');
    await waitUntil(() => rec.decisions === 1, 5_000, 'the trigger decided');
    assert.equal([rec.decision, rec.reasonCode], [2, 1], 'NO_READ: the PLC rejects the product');
    const s = status();
    assert.is(s.scanErrors, before.scanErrors + 1, 'counted as a Scan error');
    assert.is(s.scanNoReads, before.scanNoReads, 'not as a no-read');
    const line = logs.lines.find((l) => l.reader === 'R1' && l.scan === 'error');
    assert.ok(line !== undefined, 'logged');
    assert.is(line!.code, 'SG_ERR_OPCUA_SCAN');
    assert.match(String(line!.err), /Status 20 \(DEVICE_FAULT\)/);
  } finally {
    restore();
  }
  // Back to normal: a Scan with nothing at the reader is a no-read again (Status NO_IDENTIFIER).
  const s0 = status();
  const ok = plc.line.produce('R1');
  await waitUntil(() => ok.decisions === 1, 5_000, 'a trigger after the fault');
  assert.is(status().scanErrors, s0.scanErrors);
});

test.run();
