/**
 * The simulator's checks can fail: against a gateway that gives one wrong verdict, or that drops one event on
 * its way to central, the run reports it (mismatch, lost) and does not pass. And against the same gateway
 * unchanged, the same run passes.
 */
import { startGateway, type Gateway } from '../../cli/daemon.js';
import { configSchema } from '../../gateway/config/index.js';
import { GatewayError } from '../../gateway/errors.js';
import { decodeEventBatch, encodeEventBatch } from '../../protocol/index.js';
import { DEFAULT_LAYOUT, gatewayConfig, lineId, lineStations } from '../../simulator/site.js';
import { simulate, type SimulateOptions } from '../../simulator/simulate.js';
import { ERROR_KINDS } from '../../simulator/workload.js';
import { startNats, type NatsServer } from '../helpers/nats.js';
import { silentLog, tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const layout = { ...DEFAULT_LAYOUT, lines: 2 };

async function gateway(dir: string, natsUrl: string, gatewayId: string): Promise<Gateway> {
  const cfg = gatewayConfig(layout, { gatewayId, dataDir: `${dir}/data`, mqttPort: 0, httpPort: 0, nats: [natsUrl], logLevel: 'silent' });
  return startGateway(configSchema.parse(cfg), silentLog);
}

function options(gw: Gateway, natsUrl: string, runId: number): SimulateOptions {
  return {
    mqtt: `mqtt://127.0.0.1:${gw.mqttPort}`,
    http: `http://127.0.0.1:${gw.httpPort}`,
    nats: natsUrl,
    spawn: false,
    layout,
    rate: 400,
    durationS: 3,
    seed: 7,
    runId,
    errorRate: 0.03,
    errorMix: Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])),
    lagTicks: 2,
    products: 3,
    seedVia: 'stream',
    faults: { outages: [], outageMode: 'cut', plcRestarts: [] },
    plc: null,
    ramp: null,
    baseline: false,
    drainTimeoutMs: 8000,
    seedTimeoutMs: 30_000,
    persistentControllers: true,
    keepDir: false,
    progress: null,
  };
}

const test = suite('simulate checks', {} as { nats: NatsServer; gw: Gateway; dispose: () => void }, 90_000);

test.before(async (ctx) => {
  ctx.nats = await startNats();
  const t = tempDir('sg-simcheck-');
  ctx.dispose = t.dispose;
  ctx.gw = await gateway(t.dir, ctx.nats.url, 'gw-check');
});

test.after(async (ctx) => {
  await ctx.gw?.close();
  await ctx.nats?.dispose();
  ctx.dispose?.();
});

test('simulate - an unchanged gateway passes: zero mismatches, zero lost', async ({ gw, nats }) => {
  const { report: r } = await simulate(options(gw, nats.url, 101));
  assert.equal(r.failures, []);
  assert.ok(r.passed);
  assert.is(r.mismatches, 0);
  assert.is(r.lost, 0);
  assert.is(r.duplicatesAtCentral, 0);
  assert.is(r.missingVerdicts, 0);
  assert.is(r.reads, 1200);
  assert.is(r.centralEvents, r.expectedEvents);
  assert.ok(r.rejected > 0, 'errors were injected');
  // The run's line controllers (persistent sessions) ended their sessions when it was over: the broker keeps no
  // verdicts for them.
  const broker = (gw.mqtt.ingress as unknown as { sink: { broker: { persistence: { subscriptionsByTopic(t: string): Promise<{ clientId: string }[]> } } } }).sink.broker;
  const persistence = broker.persistence;
  for (let l = 0; l < layout.lines; l++) {
    for (const st of lineStations(layout)) {
      const subs = await persistence.subscriptionsByTopic(`${layout.topicPrefix}/${layout.site}/${lineId(l)}/${st.id}/verdict`);
      assert.equal(subs.map((s) => s.clientId), [], `${lineId(l)}/${st.id}: no session left subscribed`);
    }
  }
});

test('simulate - refuses a gateway configured for another site layout before the first read', async ({ gw, nats }) => {
  for (const other of [{ ...layout, lines: 3 }, { ...layout, caseSize: 10 }]) {
    const o = { ...options(gw, nats.url, 104), layout: other };
    const err = await simulate(o).then(() => null, (e: unknown) => e as GatewayError);
    assert.ok(err instanceof GatewayError, String(err));
    assert.is(err!.code, 'SG_ERR_SIM_SITE');
    assert.match(err!.hint ?? '', /--print-config/);
  }
});

test('simulate - catches a gateway that gives a wrong verdict', async ({ gw, nats }) => {
  // The 300th decision of a receive station says WRONG_STATUS where the right answer is accept.
  const p = gw.pipeline;
  const original = p.handleEnvelope.bind(p);
  let receives = 0;
  let altered = null as { seq?: number; device?: string } | null;
  p.handleEnvelope = (st, env, raw) => {
    const out = original(st, env, raw);
    if (st.station === 'receive' && out.verdict.verdict === 'accept' && ++receives === 300) {
      out.verdict = { ...out.verdict, verdict: 'reject', reason: 'WRONG_STATUS', reasonCode: 9 };
      altered = out.verdict;
    }
    return out;
  };
  try {
    const { report: r } = await simulate(options(gw, nats.url, 102));
    assert.ok(altered !== null, 'the fault was injected');
    assert.not.ok(r.passed);
    assert.is(r.mismatches, 1);
    assert.is(r.lost, 0);
    const s = r.mismatchSamples[0]!;
    assert.is(s.where, 'verdict');
    assert.is(s.read, altered!.seq! - 1);
    assert.match(s.expected, /^accept OK/);
    assert.match(s.got, /WRONG_STATUS/);
  } finally {
    p.handleEnvelope = original;
  }
});

test('simulate - catches a gateway that drops an event on its way to central', async ({ gw, nats }) => {
  // The 5th batch published goes out without its first scan event; the read was acknowledged all the same.
  const ob = gw.outbox;
  const original = ob.batchBytes.bind(ob);
  let n = 0;
  let dropped: { device: string; readSeq: number } | null = null;
  ob.batchBytes = (b) => {
    const bytes = original(b);
    if (++n !== 5) return bytes;
    const batch = decodeEventBatch(bytes);
    const ev = batch.events.shift()!;
    dropped = { device: ev.device, readSeq: ev.readSeq };
    return encodeEventBatch(batch);
  };
  try {
    const { report: r } = await simulate(options(gw, nats.url, 103));
    assert.ok(dropped !== null, 'the fault was injected');
    assert.not.ok(r.passed);
    assert.is(r.lost, 1);
    assert.is(r.duplicatesAtCentral, 0);
    assert.is(r.centralEvents, r.expectedEvents - 1);
    assert.ok(r.failures.some((f) => /acknowledged reads have no event at central/.test(f)));
  } finally {
    ob.batchBytes = original;
  }
});

test.run();
