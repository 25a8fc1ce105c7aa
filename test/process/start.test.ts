/** The daemon as an operator runs it: `scangate start`, signals, and clear errors naming the key to change. */
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { Store } from '../../gateway/store.js';
import { IMPORT_MARKER_PREFIX, interruptedImports } from '../../gateway/import/index.js';
import { lookupSerial } from '../../gateway/lookup.js';
import { demoGtin, dm, tempDir } from '../helpers/gateway.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { freePort, runScangate } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('process');
let nats: NatsServer;

test.before(async () => {
  nats = await startNats();
});
test.after(async () => {
  await nats?.dispose();
});

/** A data dir holding one RECEIVED serial (imported by the real binary) and the env of a daemon on free ports. */
async function prepared(dir: string, gtin: string, serial: string, env: Record<string, string>) {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'in.csv'), `gtin,serial,lot,expiry,status\n${gtin},${serial},L1,2030-01-31,RECEIVED\n`);
  const all = {
    SCANGATE_DATA_DIR: dir,
    SCANGATE_MQTT_HOST: '127.0.0.1',
    SCANGATE_MQTT_PORT: String(mqttPort),
    SCANGATE_HTTP_PORT: String(httpPort),
    SCANGATE_NATS_SERVERS: 'nats://127.0.0.1:1', // unreachable on purpose: events must wait in the outbox
    ...env,
  };
  const imp = runScangate(['import', join(dir, 'in.csv')], all);
  assert.is((await imp.exited()).code, 0, imp.output());
  assert.match(imp.output(), /"imported":1/);
  return { env: all, mqttPort, httpPort };
}

/** Publish one read at L1/pack as a scanner would and return the verdict the line controller gets. */
async function decide(mqttPort: number, gtin: string, serial: string): Promise<string> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
  try {
    const got = new Promise<string>((resolve) => client.on('message', (_t, pl) => resolve(pl.toString())));
    await client.subscribeAsync('scangate/v1/demo/L1/pack/verdict', { qos: 1 });
    await client.publishAsync('scangate/v1/demo/L1/pack/read', dm(gtin, serial, 'L1', '300131'), { qos: 1 });
    return await got;
  } finally {
    await client.endAsync();
  }
}

test('process - SIGHUP (the terminal closed) stops in order like SIGTERM; a signal delivered twice at once is one', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(6);
    const { env } = await prepared(tmp.dir, G, 'H1', { SCANGATE_GATEWAY_ID: 'gw-hup' });
    const p = runScangate(['start'], env);
    await p.waitFor(/scangate started/);
    p.child.kill('SIGHUP');
    assert.is((await p.exited(6000)).code, 0, p.output());
    assert.match(p.output(), /"signal":"SIGHUP".*"msg":"signal received"/);
    assert.match(p.output(), /"msg":"stopped"/);

    const q = runScangate(['start'], env);
    await q.waitFor(/scangate started/);
    // Ctrl-C under npm: the terminal's SIGINT and the one npm forwards, a moment apart; then the hang-up.
    q.child.kill('SIGINT');
    q.child.kill('SIGTERM');
    q.child.kill('SIGHUP');
    assert.is((await q.exited(6000)).code, 0, q.output());
    assert.not.match(q.output(), /second signal/);
    assert.is(q.output().match(/"msg":"signal received"/g)?.length, 1);
    assert.match(q.output(), /"msg":"stopped"/);
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('process - start, decide a read, SIGTERM: ordered shutdown under 5 s, open batch sealed into the outbox', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(5);
    // SCANGATE_BATCH_MAX_DELAY_MS: keep the batch open until shutdown seals it.
    const { env, mqttPort, httpPort } = await prepared(tmp.dir, G, 'A1', { SCANGATE_BATCH_MAX_DELAY_MS: '60000', SCANGATE_GATEWAY_ID: 'gw-proc' });
    const p = runScangate(['start'], env);
    await p.waitFor(/scangate started/);
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    assert.is(health.status, 200);
    assert.match(await decide(mqttPort, G, 'A1'), /"verdict":"accept"/);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /scangate_reads_total\{reason="OK"\} 1/);

    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const { code } = await p.exited(6000);
    const ms = Date.now() - t0;
    assert.is(code, 0, p.output());
    assert.ok(ms < 5000, `shutdown took ${ms} ms`);
    assert.match(p.output(), /"msg":"stopped"/);

    const store = Store.open(tmp.dir);
    try {
      const batches = [...store.batches.getRange()];
      assert.is(batches.length, 1, 'the open batch was sealed into the outbox on shutdown');
      assert.is(batches[0]!.value.count, 1);
    } finally {
      await store.close();
    }
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('process - a promise rejected with no one waiting: logged as SG_ERR_INTERNAL, counted, the daemon goes on', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(6);
    const { env, mqttPort, httpPort } = await prepared(tmp.dir, G, 'B1', { SCANGATE_GATEWAY_ID: 'gw-stray' });
    const stray = fileURLToPath(new URL('../fixtures/stray-rejection.mjs', import.meta.url));
    const p = runScangate(['start'], { ...env, NODE_OPTIONS: `--import "${stray}"` });
    await p.waitFor(/scangate started/);
    await p.waitFor(/"code":"SG_ERR_INTERNAL"/, 10_000);
    assert.match(p.output(), /a promise nobody waits on/);
    assert.is(p.child.exitCode, null, 'the daemon is still running');
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /^scangate_internal_errors_total 1$/m);
    assert.match(await decide(mqttPort, G, 'B1'), /"verdict":"accept"/, 'and it still decides reads');
    p.child.kill('SIGTERM');
    assert.is((await p.exited(6000)).code, 0, p.output());
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('process - a lot recall imported while the daemon runs is refused from the next second (lots live in its memory)', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(7);
    const { env, mqttPort } = await prepared(tmp.dir, G, 'C1', { SCANGATE_GATEWAY_ID: 'gw-recall' });
    const p = runScangate(['start'], env);
    try {
      await p.waitFor(/scangate started/);
      assert.match(await decide(mqttPort, G, 'C1'), /"verdict":"accept"/, 'before the recall');
      const rows = [{ gtin: G, serial: 'C2', lot: 'L1', expiry: '2030-01-31', status: 'RECEIVED' }, { type: 'lot', gtin: G, lot: 'L1', recall: true }];
      writeFileSync(join(tmp.dir, 'recall.ndjson'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      const imp = runScangate(['import', join(tmp.dir, 'recall.ndjson')], env);
      assert.is((await imp.exited()).code, 0, imp.output());
      await p.waitFor(/lots and products loaded again after an import/, 5_000);
      assert.match(p.output(), /"lots":1,"products":0/);
      assert.match(await decide(mqttPort, G, 'C2'), /"reason":"LOT_RECALLED"/, 'a serial of the recalled lot');
      p.child.kill('SIGTERM');
      assert.is((await p.exited(6000)).code, 0, p.output());
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  } finally {
    tmp.dispose();
  }
}, 30_000);

test('process - import while the daemon runs: written in chunks; killed between two, the daemon names it at start, importing it again completes it', async () => {
  const tmp = tempDir();
  const G = demoGtin(8);
  const csv = (name: string, prefix: string, n: number) => {
    const file = join(tmp.dir, name);
    writeFileSync(file, `gtin,serial,lot,expiry,status\n${Array.from({ length: n }, (_, i) => `${G},${prefix}${i},L1,2030-01-31,RECEIVED\n`).join('')}`);
    return file;
  };
  let p = null as ReturnType<typeof runScangate> | null;
  try {
    const { env } = await prepared(tmp.dir, G, 'D0', { SCANGATE_GATEWAY_ID: 'gw-chunks' });
    p = runScangate(['start'], env);
    await p.waitFor(/scangate started/);
    // The daemon owns the data directory: the import goes in transactions of 50,000 serials.
    const first = runScangate(['import', csv('a.csv', 'A', 120_000)], env);
    assert.is((await first.exited(60_000)).code, 0, first.output());
    assert.match(first.output(), /"transactions":4/);

    // Small chunks, killed once part of the serials are in.
    const file = csv('b.csv', 'B', 120_000);
    const imp = runScangate(['import', file, '--chunk-rows', '500'], env);
    const store = Store.open(tmp.dir);
    try {
      const t0 = Date.now();
      // The marker is there from the first transaction (not yet "interrupted": its process runs).
      const marked = () => [...store.meta.getRange({ start: IMPORT_MARKER_PREFIX, end: `${IMPORT_MARKER_PREFIX}\uffff` })].length > 0;
      while (!marked() && imp.child.exitCode === null && Date.now() - t0 < 30_000) {
        await new Promise((r) => setTimeout(r, 10));
        store.root.resetReadTxn();
      }
      assert.equal(interruptedImports(store), [], 'an import under way is not reported as interrupted');
      imp.child.kill('SIGKILL');
      await imp.exited();
      store.root.resetReadTxn();
      assert.equal(interruptedImports(store).map((m) => m.file), [file], 'the marker names the file');
      assert.is(lookupSerial(store, G, 'B119999'), undefined, 'the last serials were not written');
    } finally {
      await store.close();
    }
    p.child.kill('SIGTERM');
    assert.is((await p.exited(6000)).code, 0, p.output());

    p = runScangate(['start'], env);
    await p.waitFor(/scangate started/);
    await p.waitFor(/"code":"SG_ERR_IMPORT_INTERRUPTED".*b\.csv|b\.csv.*"code":"SG_ERR_IMPORT_INTERRUPTED"/, 5_000);
    const again = runScangate(['import', file], env);
    assert.is((await again.exited(60_000)).code, 0, again.output());
    const after = Store.open(tmp.dir);
    try {
      assert.equal(interruptedImports(after), []);
      assert.is(lookupSerial(after, G, 'B119999')?.status, 'RECEIVED');
    } finally {
      await after.close();
    }
    p.child.kill('SIGTERM');
    assert.is((await p.exited(6000)).code, 0, p.output());
  } finally {
    if (p !== null && p.child.exitCode === null) p.child.kill('SIGKILL');
    tmp.dispose();
  }
}, 120_000);

test('process - a port in use names the key to change', async () => {
  const tmp = tempDir();
  const blocker = createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
  try {
    const p = runScangate(['start'], {
      SCANGATE_DATA_DIR: tmp.dir,
      SCANGATE_MQTT_HOST: '127.0.0.1',
      SCANGATE_MQTT_PORT: String(port),
      SCANGATE_HTTP_ENABLED: 'false',
      SCANGATE_NATS_SERVERS: nats.url,
    });
    const { code } = await p.exited();
    assert.is(code, 1);
    assert.match(p.output(), /SG_ERR_PORT_IN_USE/);
    assert.match(p.output(), /mqtt\.port/);
    assert.match(p.output(), /SCANGATE_MQTT_PORT/);
  } finally {
    blocker.close();
    tmp.dispose();
  }
});

test('process - an unwritable data dir names the key to change', async () => {
  const tmp = tempDir();
  try {
    // A directory cannot be made under a regular file (root ignores permission bits, so use that).
    writeFileSync(join(tmp.dir, 'a-file'), '');
    const p = runScangate(['start'], { SCANGATE_DATA_DIR: join(tmp.dir, 'a-file', 'data'), SCANGATE_MQTT_PORT: '0', SCANGATE_HTTP_ENABLED: 'false' });
    const { code } = await p.exited();
    assert.is(code, 1);
    assert.match(p.output(), /SG_ERR_DATA_DIR/);
    assert.match(p.output(), /dataDir/);
  } finally {
    tmp.dispose();
  }
});

test('process - config check lists every problem with its path and line, exit 1', async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(file, 'gatewayId: "has space"\nmqtt:\n  port: 70000\n  colour: blue\nbatch:\n  maxDelayMs: -5\n');
    const p = runScangate(['config', 'check', '--config', file]);
    const { code } = await p.exited();
    assert.is(code, 1);
    const out = p.output();
    assert.match(out, /SG_ERR_CONFIG_INVALID/);
    assert.match(out, /4 problems/);
    assert.match(out, /gatewayId \(line 1\)/);
    assert.match(out, /mqtt\.port \(line 3\)/);
    assert.match(out, /mqtt\.colour \(line 4\): is not a known key/);
    assert.match(out, /batch\.maxDelayMs \(line 6\)/);
    const ok = runScangate(['config', 'check'], { SCANGATE_MQTT_PORT: '1884' });
    assert.is((await ok.exited()).code, 0, ok.output());
    assert.match(ok.output(), /ok: built-in defaults \(\+ SCANGATE_MQTT_PORT\)/);
  } finally {
    tmp.dispose();
  }
});

test.run();
