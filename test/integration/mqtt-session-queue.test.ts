/**
 * The bound on a persistent session's queue (mqtt.limits.sessionQueueMaxMessages): a session that is away keeps
 * at most that many verdicts for its return, the rest counted as not queued; a session that is connected but
 * stops acknowledging for a while still gets every verdict, and is not disconnected for it.
 */
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { connectClient, subscribeGranted, type TestClient } from '../helpers/mqtt-client.js';
import { assert, suite } from '../helpers/uvu.js';

const T = 'scangate/v1/demo/L1/verify';
const MAX = 200;
const test = suite('mqtt-session-queue', {} as { gw: Gateway; dispose: () => void; scanner: TestClient }, 60_000);

test.before(async (ctx) => {
  const tmp = tempDir('sg-mqsq-');
  ctx.dispose = tmp.dispose;
  ctx.gw = await startGateway(
    testConfig(tmp.dir, 'nats://127.0.0.1:1', {
      site: { id: 'demo', lines: [{ id: 'L1', stations: [{ id: 'verify', operation: 'verify', duplicateReadWindowMs: 0 }] }] },
      mqtt: { limits: { sessionQueueMaxMessages: MAX, maxConnectsPerAddressPerS: 10_000 } } as never,
    }),
    silentLog,
  );
  ctx.scanner = await connectClient(`mqtt://127.0.0.1:${ctx.gw.mqttPort}`, { clientId: 'scanner-sq' });
});

test.after(async (ctx) => {
  await ctx.scanner?.end();
  await ctx.gw?.close();
  ctx.dispose?.();
});

let seq = 0;
/** n reads (no-read tokens: each gets a verdict), all acknowledged; returns their seqs. */
async function reads(scanner: TestClient, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(n, i + 100); k++) {
      seqs.push(++seq);
      batch.push(scanner.client.publishAsync(`${T}/read`, JSON.stringify({ code: 'NOREAD', seq }), { qos: 1 }));
    }
    await Promise.all(batch);
  }
  return seqs;
}

const dropped = (gw: Gateway) => (gw.mqtt.stats as unknown as { droppedSessionQueueFull: number }).droppedSessionQueueFull;
const seqsOf = (c: TestClient) => c.messages.map((m) => m.json<{ seq: number }>().seq);

test('mqtt-session-queue - a session away keeps at most sessionQueueMaxMessages verdicts, the rest counted', async ({ gw, scanner }) => {
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  const opts = { clientId: 'away-ctl', clean: false } as const;
  let ctl = await connectClient(url, opts);
  await subscribeGranted(ctl, [`${T}/verdict`], 1);
  await ctl.end();
  const before = dropped(gw);
  const sent = await reads(scanner, MAX + 150);
  ctl = await connectClient(url, opts);
  const got = await ctl.waitFor(MAX, 5000);
  await new Promise((r) => setTimeout(r, 300)); // nothing more is coming
  assert.equal(seqsOf(ctl), sent.slice(0, MAX), 'the first ones, in order, and no more');
  assert.is(got.length, MAX);
  assert.is(dropped(gw) - before, 150, 'the others counted as not queued');
  await ctl.client.unsubscribeAsync(`${T}/verdict`);
  await ctl.end();
});

test('mqtt-session-queue - a connected session that stops acknowledging for a while gets every verdict and stays connected', async ({ gw, scanner }) => {
  const ctl = await connectClient(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'lagging-ctl', clean: false });
  await subscribeGranted(ctl, [`${T}/verdict`], 1);
  let closed = 0;
  ctl.client.on('close', () => closed++);
  const before = dropped(gw);
  // It stops reading its socket (so acknowledging) while four times its queue's bound is published.
  const socket = (ctl.client as unknown as { stream: { pause(): void; resume(): void } }).stream;
  socket.pause();
  const sent = await reads(scanner, 4 * MAX);
  await new Promise((r) => setTimeout(r, 300));
  socket.resume();
  await ctl.waitFor(sent.length, 10_000);
  assert.equal(seqsOf(ctl), sent, 'every verdict, once, in order');
  assert.is(closed, 0, 'never disconnected');
  assert.ok(dropped(gw) - before >= 2 * MAX, `beyond the bound they were not queued (${dropped(gw) - before}), yet delivered`);
  await ctl.client.unsubscribeAsync(`${T}/verdict`);
  await ctl.end();
});

test.run();
