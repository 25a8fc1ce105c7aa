/**
 * A PLC program download deletes a reader's variables and creates them again under the same node ids: the
 * monitored items report Bad_NodeIdInvalid (node-opcua's server; Bad_NodeIdUnknown on others) and then stay bound
 * to the deleted node, silent. The gateway must notice, say so once, and bind that reader again, with backoff,
 * until its node is back; then its reads flow again, and the other readers never stopped.
 */
import { Registry } from 'prom-client';
import type { Gateway } from '../../cli/daemon.js';
import { withOpcuaMetrics } from '../../cli/metrics.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { tempDir } from '../helpers/gateway.js';
import { captureLog, closePlcGateway, readerConfig, sleep, startPlc, startPlcGateway, untilConnected, waitUntil } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-rebind', {}, 30_000);
let tmp: ReturnType<typeof tempDir>;
let plc: VirtualPlc;
let gw: Gateway;
const logs = captureLog();

const ep = () => gw.opcua!.status().endpoints[0]!;
const status = (reader: string) => ep().readers.find((r) => r.id === reader)!;

test.before(async () => {
  tmp = tempDir('sg-opcua-rebind-');
  plc = await startPlc(tmp.dir, { readers: [{ id: 'R1', ways: ['data'] }, { id: 'R2', ways: ['data'] }, { id: 'R3', ways: ['counter'] }] });
  gw = await startPlcGateway(tmp.dir, plc, {
    serials: 100,
    log: logs.log,
    readers: [readerConfig(plc, 'R1', 'data', 'structure'), readerConfig(plc, 'R2', 'data', 'structure'), readerConfig(plc, 'R3', 'counter', 'structure')],
  });
  await untilConnected(gw);
}, 60_000);

test.after(() => closePlcGateway(gw, plc, tmp));

test('opcua rebind - a node deleted and created again (program download): that reader is bound again, its reads flow, the others never stopped', async () => {
  await sleep(300);
  for (const r of ['R1', 'R3']) {
    plc.line.produce(r);
    await sleep(50);
    plc.line.produce(r);
  }
  await waitUntil(() => plc.line.undecided('R1').length === 0 && plc.line.undecided('R3').length === 0, 5_000, 'the reads before the download decided');

  const download = Promise.all([plc.redefineReader('R1', 2_000), plc.redefineReader('R3', 2_000)]);
  await waitUntil(() => status('R1').error?.code === 'SG_ERR_OPCUA_NODE', 3_000, 'R1 reported as waiting for its node');
  assert.match(status('R1').error!.message, /L1\.R1\.ScanRead/);
  // While R1's node is gone: the reads it makes are shown nowhere (the node, back, shows the last); R2 is served
  // all along.
  plc.line.produce('R1');
  plc.line.produce('R1');
  const r2 = [plc.line.produce('R2'), plc.line.produce('R2')];
  await waitUntil(() => r2.every((r) => r.decisions === 1), 3_000, "R2's reads decided while R1's node is gone");
  await download;
  // Tried again with backoff (opcua.reconnect*DelayMs): reads made between the node's return and the next attempt
  // are lost (counted), as between a PLC's return and the next connection attempt.
  await waitUntil(() => status('R1').rebinds === 1 && status('R3').rebinds === 1, 3_000, 'both readers bound again');

  const after: ReturnType<typeof plc.line.produce>[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    after.push(plc.line.produce('R1'), plc.line.produce('R3'));
  }
  await waitUntil(() => after.every((r) => r.decisions === 1), 5_000, 'the reads after the rebind decided');
  const s1 = status('R1');
  assert.is(s1.error, null);
  assert.is(s1.rebinds, 1, 'R1 bound again once');
  assert.is(status('R3').rebinds, 1, 'R3 (counter) bound again once');
  assert.is(status('R2').rebinds, 0);
  assert.equal(plc.line.undecided('R1'), [3], 'the read made while the node was gone: counted lost, nothing else');
  assert.is(s1.lostReads, 1);

  // Said once per reader and outage, with the code, the reader and the node; and once more when it is back.
  const gone = logs.lines.filter((l) => l.code === 'SG_ERR_OPCUA_NODE' && l.reader === 'R1' && l.level === 40);
  assert.is(gone.length, 1, JSON.stringify(gone));
  assert.match(String(gone[0]!.node), /L1\.R1\.ScanRead/);
  assert.match(String(gone[0]!.status), /BadNodeId/);
  assert.ok(logs.lines.some((l) => l.reader === 'R1' && l.level === 30 && /bound again/.test(String(l.msg))), 'the rebind is logged');
  const metrics = await withOpcuaMetrics(new Registry(), () => gw.opcua!.status()).metrics();
  assert.match(metrics, /scangate_opcua_rebinds_total\{endpoint="[^"]+",reader="R1"\} 1\n/);
  assert.match(metrics, /scangate_opcua_rebinds_total\{endpoint="[^"]+",reader="R2"\} 0\n/);
});

test.run();
