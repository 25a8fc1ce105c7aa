/**
 * `scangate demo`: everything on one machine on free ports, to look at: a gateway with its embedded broker, a
 * NATS server with JetStream (started when none is given), a virtual PLC over OPC UA, and the simulator
 * offering a gentle, exactly checked load. Prints where to look; Ctrl-C stops it all in order and writes the
 * report of what ran.
 */
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parse } from '../args.js';
import { startGateway, type Gateway } from '../daemon.js';
import { configSchema } from '../../gateway/config/index.js';
import { GatewayError } from '../../gateway/errors.js';
import { connectNats, ensureStreams } from '../../simulator/central.js';
import { startNatsServer, type NatsChild } from '../../simulator/nats-server.js';
import { freePort } from '../../simulator/gateway-process.js';
import { renderHtml } from '../../simulator/html.js';
import { summary } from '../../simulator/report.js';
import { runLoad } from '../../simulator/run.js';
import { DEFAULT_LAYOUT, gatewayConfig } from '../../simulator/site.js';
import { Target, plcOpcuaConfig } from '../../simulator/target.js';
import { ERROR_KINDS } from '../../simulator/workload.js';

const USAGE = 'scangate demo [--rate N] [--lines N] [--nats URL] [--dir DIR]';

export default async function demo(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { rate: { type: 'string' }, lines: { type: 'string' }, nats: { type: 'string' }, dir: { type: 'string' } }, USAGE);
  if (v.help) {
    process.stdout.write(`${USAGE}\n  Starts a gateway, NATS (unless --nats), a virtual PLC and the simulator at a gentle rate (default 20 reads/s); Ctrl-C stops.\n  --dir DIR: where the data, logs and reports go (default a new temporary directory); printed at the start.\n`);
    return 0;
  }
  const rate = Number(v.rate ?? 20);
  const lines = Number(v.lines ?? 2);
  if (!(rate > 0 && rate <= 5000)) throw new GatewayError('SG_ERR_USAGE', '--rate must be 1 to 5000 reads/s');
  if (!(Number.isInteger(lines) && lines >= 1 && lines <= 20)) throw new GatewayError('SG_ERR_USAGE', '--lines must be 1 to 20');
  const given = v.dir as string | undefined;
  const dir = given ?? mkdtempSync(join(tmpdir(), 'scangate-demo-'));
  mkdirSync(dir, { recursive: true });
  const out = (s: string) => process.stdout.write(`${s}\n`);

  const ac = new AbortController();
  let stopping = false;
  const onSig = () => {
    if (stopping) process.exit(130);
    stopping = true;
    out('\nstopping: the simulator drains, then the PLC, the gateway and NATS stop (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);

  let nats: NatsChild | null = null;
  let gw: Gateway | null = null;
  let plcRef: import('../../simulator/plc/index.js').VirtualPlc | null = null;
  const logFile = join(dir, 'gateway.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  try {
    if (v.nats === undefined) nats = await startNatsServer(dir);
    const natsUrl = (v.nats as string | undefined) ?? nats!.url;
    const layout = { ...DEFAULT_LAYOUT, lines, caseSize: 4, casesPerPallet: 3 };
    // The virtual PLC reads serials of the run once they are in the cache (the simulator fills `codes` then).
    const codes: string[] = ['NOREAD'];
    const { VirtualPlc } = await import('../../simulator/plc/index.js');
    const plc = new VirtualPlc({ pkiDir: join(dir, 'plc-pki'), readers: [{ id: 'R1', ways: ['event'] }, { id: 'R2', ways: ['event'] }], population: codes, securityModes: ['None'], securityPolicies: ['None'] });
    await plc.start();
    plcRef = plc;
    const cfg = gatewayConfig(layout, { gatewayId: 'demo-gw', dataDir: join(dir, 'data'), mqttPort: await freePort(), httpPort: await freePort(), nats: [natsUrl], logLevel: 'info', opcua: plcOpcuaConfig(plc, 2) });
    (cfg.site as { lines: { stations: Record<string, unknown>[] }[] }).lines[0]!.stations.push({ id: 'plc', operation: 'verify' });
    writeFileSync(join(dir, 'scangate.yaml'), JSON.stringify(cfg, null, 2));
    gw = await startGateway(configSchema.parse(cfg), pino({ level: 'info', base: { gatewayId: 'demo-gw' } }, logStream));
    const target = new Target({ nats: natsUrl, spawn: false, layout, proxy: false, plc: { readers: 2, ratePerReader: 2 }, plcCodes: codes, mqtt: `mqtt://127.0.0.1:${gw.mqttPort}`, http: `http://127.0.0.1:${gw.httpPort}` });
    await target.open();
    target.plc = plc;

    out(`scangate demo: site demo, ${lines} lines x 5 stations, a virtual PLC with 2 readers; the simulator offers ${rate} reads/s`);
    const base = `http://127.0.0.1:${gw.httpPort}`;
    const dashboard = await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    out(`  status                 ${dashboard ? `${base}/ (dashboard), ` : ''}${base}/api/status, ${base}/metrics`);
    out(`  MQTT (embedded broker) mqtt://127.0.0.1:${gw.mqttPort}`);
    out(`      watch the verdicts: mosquitto_sub -p ${gw.mqttPort} -t 'scangate/v1/demo/+/+/verdict' -v`);
    out(`  NATS (JetStream)       ${natsUrl}   events on scangate.v1.events.demo.demo-gw (stream SCANGATE_EVENTS)`);
    out(`  virtual PLC (OPC UA)   ${plc.endpointUrl}   readers L1.R1, L1.R2 -> station L1/plc`);
    out(`  files                  ${dir}   (gateway.log, scangate.yaml, report.json and report.html when stopped)`);
    out('Ctrl-C stops everything.\n');

    const nc = await connectNats(natsUrl, 'scangate-demo');
    await ensureStreams(nc);
    try {
      // Rounds of ten minutes, each with fresh serials, until Ctrl-C; each round's report replaces the last.
      for (let round = 1; !ac.signal.aborted; round++) {
        let n = 0;
        const report = await runLoad(target, nc, {
          rate,
          durationS: 600,
          seed: round,
          runId: (Date.now() + round) % 2_000_000_000,
          errorRate: 0.03,
          errorMix: Object.fromEntries(Object.keys(ERROR_KINDS).map((k) => [k, 1])),
          lagTicks: 1,
          products: 2,
          seedVia: 'stream',
          faults: { outages: [], outageMode: 'cut', plcRestarts: [] },
          drainTimeoutMs: 10_000,
          seedTimeoutMs: 60_000,
          maxLagMs: 600_000,
          persistentControllers: true,
          // One progress line every 10 s is enough to watch.
          progress: (line) => {
            if (!line.startsWith('t=') || ++n % 10 === 0) out(line);
          },
          signal: ac.signal,
        });
        writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
        writeFileSync(join(dir, 'report.html'), renderHtml(report));
        out(summary(report));
        out(`round ${round} report: ${join(dir, 'report.html')}`);
      }
    } finally {
      await nc.close().catch(() => undefined);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    plcRef?.line.stopGeneration();
    await gw?.close().catch(() => undefined);
    await plcRef?.close().catch(() => undefined);
    await nats?.stop();
    logStream.end();
    out(`stopped; files in ${dir}`);
  }
}
