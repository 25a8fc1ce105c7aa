/**
 * OPC UA test fixtures: a virtual PLC on a free port with its PKI in a temp dir, serials for its readers to
 * read, and a gateway configured to use it (no NATS needed: events stay in the outbox).
 */
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../cli/daemon.js';
import type { ConfigInput } from '../../gateway/config/index.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { VirtualPlc, type LineReaderSpec, type VirtualPlcOptions } from '../../simulator/plc/index.js';
import { pino, type Logger } from 'pino';
import { demoGtin, dm, silentLog, testConfig, waitUntil, writeCsv } from './gateway.js';

export const G = demoGtin(7001);
/** No NATS in these tests: the uplink retries in the background and events wait in the outbox. */
export const NO_NATS = 'nats://127.0.0.1:1';

/** `n` DataMatrix codes of serials S1..Sn (GTIN G). */
export function population(n: number, prefix = 'S'): string[] {
  return Array.from({ length: n }, (_, i) => dm(G, `${prefix}${i + 1}`));
}

/** CSV rows making serials S1..Sn known (RECEIVED), for a `verify` or `pack` station. */
export function serialRows(n: number, prefix = 'S'): string[][] {
  return Array.from({ length: n }, (_, i) => [G, `${prefix}${i + 1}`, 'LOT1', '2030-12-31', 'RECEIVED']);
}

export async function startPlc(dir: string, opts: Partial<VirtualPlcOptions> & { readers?: number | readonly LineReaderSpec[] } = {}): Promise<VirtualPlc> {
  const plc = new VirtualPlc({ pkiDir: join(dir, 'plc-pki'), population: population(100), ...opts });
  await plc.start();
  return plc;
}

type ReaderInput = NonNullable<NonNullable<NonNullable<ConfigInput['opcua']>['endpoints']>[number]['readers']>[number];

/** A reader of the virtual PLC, taking its reads one way and writing decisions back one way. */
export function readerConfig(
  plc: VirtualPlc,
  reader: string,
  way: 'event' | 'scan' | 'data' | 'counter',
  decision: 'structure' | 'nodes' | 'method' | 'none' = 'structure',
  station = 'verify',
): ReaderInput {
  const n = (name = '') => plc.nodeId(reader, name);
  const base: ReaderInput = { id: reader, line: 'L1', station, way };
  if (way === 'event') Object.assign(base, { device: n(), seqField: { namespaceUri: 'urn:scangate:line', name: 'Seq' } });
  if (way === 'scan') Object.assign(base, { device: n(), triggerNode: n('Trigger') });
  if (way === 'data') Object.assign(base, { dataNode: n('ScanRead') });
  if (way === 'counter') Object.assign(base, { codeNode: `${plc.nodeId(reader)}-LastScanData`, counterNode: n('ScanCount') });
  if (decision === 'structure') base.decision = { mode: 'structure', node: n('Decision') };
  if (decision === 'nodes') base.decision = { mode: 'nodes', seqNode: n('DecisionSeq'), valueNode: n('DecisionValue'), reasonCodeNode: n('DecisionReason') };
  if (decision === 'method') base.decision = { mode: 'method', objectNode: n(), methodNode: n('SetDecision') };
  return base;
}

export interface PlcGatewayOptions {
  readers: ReaderInput[];
  /** Serials S1..Sn imported as RECEIVED. */
  serials?: number;
  endpoint?: Record<string, unknown>;
  opcua?: Record<string, unknown>;
  stations?: { id: string; operation: string; duplicateReadWindowMs?: number }[];
  /** Data directory name under `dir` (one per gateway alive at a time); default data. */
  dataName?: string;
  outbox?: { maxBytes?: number };
  batch?: { maxBytes?: number };
  /** Where the gateway logs (default: nowhere, or SG_TEST_LOG); see captureLog. */
  log?: Logger;
}

/** A logger that keeps every line (parsed), for tests that check what the gateway logged. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** A gateway whose opcua section points at the virtual PLC (security None unless the endpoint says otherwise). */
export async function startPlcGateway(dir: string, plc: VirtualPlc, o: PlcGatewayOptions): Promise<Gateway> {
  const dataDir = join(dir, o.dataName ?? 'data');
  if (o.serials !== undefined && o.serials > 0) {
    const csv = writeCsv(dir, serialRows(o.serials));
    const store = Store.open(dataDir);
    await importFile(store, csv);
    await store.close();
  }
  const cfg = testConfig(dataDir, NO_NATS, {
    ...(o.outbox !== undefined ? { outbox: o.outbox } : {}),
    ...(o.batch !== undefined ? { batch: o.batch } : {}),
    site: {
      id: 'demo',
      lines: [
        {
          id: 'L1',
          stations: (o.stations ?? [
            { id: 'verify', operation: 'verify', duplicateReadWindowMs: 0 },
            { id: 'pack', operation: 'pack', duplicateReadWindowMs: 0 },
          ]) as never,
        },
      ],
    },
    opcua: {
      enabled: true,
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 500,
      ...o.opcua,
      endpoints: [
        {
          id: 'plc1',
          url: plc.endpointUrl,
          securityMode: 'None',
          securityPolicy: 'None',
          publishingIntervalMs: 10,
          ...o.endpoint,
          readers: o.readers,
        },
      ],
    },
  } as Partial<ConfigInput>);
  // SG_TEST_LOG=debug shows the gateway's logs when a test needs explaining.
  return startGateway(cfg, o.log ?? (process.env.SG_TEST_LOG ? pino({ level: process.env.SG_TEST_LOG }) : silentLog));
}

export { sleep, waitUntil } from './gateway.js';

/** Until the gateway's (first) PLC session is up. */
export async function untilConnected(gw: Gateway): Promise<void> {
  await waitUntil(() => gw.opcua!.status().endpoints[0]!.state === 'connected', 20_000, 'the PLC session');
}

/** A suite's after hook: the gateway, then the PLC, then the temp dir (whichever were started). */
export async function closePlcGateway(gw: Gateway | undefined, plc: VirtualPlc | undefined, tmp: { dispose(): void } | undefined): Promise<void> {
  await gw?.close();
  await plc?.close();
  tmp?.dispose();
}

/** A TCP proxy between the gateway and the PLC, to stall the link (no FIN, bytes held) or cut it (RST). */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Hold every byte in both directions until resume(), as a hung link or a frozen switch does. */
  pause(): void;
  resume(): void;
  /** Reset every connection and refuse new ones for `refuseMs`. */
  cut(refuseMs: number): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const conns = new Set<{ a: Socket; b: Socket; held: { to: Socket; d: Buffer }[] }>();
  let paused = false;
  let refuseUntil = 0;
  const server = createServer((a) => {
    if (Date.now() < refuseUntil) {
      a.resetAndDestroy();
      return;
    }
    const b = connect(targetPort, '127.0.0.1');
    const c = { a, b, held: [] as { to: Socket; d: Buffer }[] };
    conns.add(c);
    const fwd = (from: Socket, to: Socket) =>
      from.on('data', (d: Buffer) => {
        if (paused) c.held.push({ to, d });
        else to.write(d);
      });
    fwd(a, b);
    fwd(b, a);
    const end = () => {
      conns.delete(c);
      a.destroy();
      b.destroy();
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `opc.tcp://127.0.0.1:${port}`,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const c of conns) {
        for (const h of c.held) h.to.write(h.d);
        c.held = [];
      }
    },
    cut: (refuseMs: number) => {
      refuseUntil = Date.now() + refuseMs;
      for (const c of conns) {
        c.a.resetAndDestroy();
        c.b.resetAndDestroy();
      }
      conns.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) {
          c.a.destroy();
          c.b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
