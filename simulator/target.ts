/**
 * The gateway under test, from the outside: its MQTT address, its HTTP status (outbox depth), its identity;
 * and, when the simulator starts it itself (`--spawn`), the child process, the loopback proxy in front of
 * NATS (uplink outages) and the virtual PLC (PLC restarts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayError } from '../gateway/errors.js';
import { GatewayProcess, freePort, getJson } from './gateway-process.js';
import { UplinkProxy, type OutageMode } from './proxy.js';
import { gatewayConfig, type SiteLayout } from './site.js';
import type { Endpoint } from './scanners.js';

export interface PlcOptions {
  readers: number;
  /** Reads per second per reader. */
  ratePerReader: number;
}

export interface TargetOptions {
  /** mqtt://host:port of a running gateway; absent with spawn. */
  mqtt?: string;
  /** http://host:port of its HTTP API (outbox depth, identity). */
  http?: string;
  gatewayId?: string;
  nats: string;
  spawn: boolean;
  layout: SiteLayout;
  /** Start the loopback proxy in front of NATS (uplink outages). */
  proxy: boolean;
  plc: PlcOptions | null;
  /** The array the virtual PLC's readers read from (when the caller built the PLC). */
  plcCodes?: string[];
  username?: string;
  password?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
}

/** What /api/status says about the outbox and the uplink. */
export interface GatewayStatus {
  outboxEvents: number;
  outboxBytes: number;
  natsConnected: boolean | null;
  readsHeldOutboxFull: number;
}

type VirtualPlcT = import('./plc/index.js').VirtualPlc;

export class Target {
  endpoint: Endpoint = { host: '127.0.0.1', port: 1883 };
  httpBase: string | null = null;
  gatewayId = '';
  site: string;
  dir: string | null = null;
  proc: GatewayProcess | null = null;
  proxy: UplinkProxy | null = null;
  plc: VirtualPlcT | null = null;
  /** Times the gateway was killed and started again. */
  kills = 0;
  /** The spawned gateway runs (always true for a gateway started by someone else). */
  started = false;
  /** Codes the virtual PLC's readers read, in turn (filled once the cache knows them). */
  readonly plcCodes: string[];
  private readonly o: TargetOptions;

  constructor(o: TargetOptions) {
    this.o = o;
    this.plcCodes = o.plcCodes ?? ['NOREAD'];
    this.site = o.layout.site;
  }

  get spawned(): boolean {
    return this.proc !== null;
  }

  /** Reads per second per reader of the virtual PLC. */
  get plcRate(): number {
    return this.o.plc?.ratePerReader ?? 0;
  }

  layoutOf(): SiteLayout {
    return this.o.layout;
  }

  async open(): Promise<void> {
    if (this.o.spawn) return this.spawn();
    this.started = true;
    if (this.o.mqtt === undefined) throw new GatewayError('SG_ERR_USAGE', 'give --mqtt URL of a running gateway, or --spawn to let the simulator start one');
    const u = new URL(this.o.mqtt);
    if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') throw new GatewayError('SG_ERR_USAGE', `--mqtt ${this.o.mqtt}: only mqtt://host:port (plain TCP) is supported`);
    this.endpoint = { host: u.hostname, port: Number(u.port || 1883) };
    if (this.o.username !== undefined) this.endpoint.username = this.o.username;
    if (this.o.password !== undefined) this.endpoint.password = this.o.password;
    if (this.o.http !== undefined) {
      this.httpBase = this.o.http.replace(/\/$/, '');
      const st = (await getJson(`${this.httpBase}/api/status`, 3000)
        .catch((err: unknown) => {
          throw new GatewayError('SG_ERR_USAGE', `cannot read ${this.httpBase}/api/status: ${(err as Error).message}`, { hint: 'give --http of the gateway, or --gateway-id' });
        })) as { gatewayId?: string; site?: string };
      this.gatewayId = this.o.gatewayId ?? st.gatewayId ?? '';
      if (st.site !== undefined && st.site !== this.site) {
        throw new GatewayError('SG_ERR_USAGE', `the gateway's site is "${st.site}", the simulation's "${this.site}"`, { hint: `give --site ${st.site}, and start the gateway with the configuration of \`scangate simulate --print-config\`` });
      }
    } else this.gatewayId = this.o.gatewayId ?? '';
    if (this.gatewayId === '') throw new GatewayError('SG_ERR_USAGE', 'the gateway id is unknown: give --http URL (its /api/status) or --gateway-id ID');
  }

  private async spawn(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'scangate-sim-'));
    this.dir = dir;
    let nats = this.o.nats;
    if (this.o.proxy) {
      const u = new URL(this.o.nats.split(',')[0]!.replace(/^nats:/, 'http:'));
      this.proxy = new UplinkProxy(u.hostname, Number(u.port || 4222));
      await this.proxy.start();
      nats = this.proxy.url;
    }
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    this.gatewayId = this.o.gatewayId ?? 'sim-gw';
    let opcua: unknown;
    if (this.o.plc !== null) opcua = await this.startPlc(dir);
    const cfg = gatewayConfig(this.o.layout, { gatewayId: this.gatewayId, dataDir: join(dir, 'data'), mqttPort, httpPort, nats: nats.split(','), opcua });
    if (this.o.plc !== null) {
      const lines = (cfg.site as { lines: { stations: Record<string, unknown>[] }[] }).lines;
      lines[0]!.stations.push({ id: 'plc', operation: 'verify' });
    }
    const file = join(dir, 'scangate.yaml');
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    this.proc = new GatewayProcess(file, httpPort, join(dir, 'gateway.log'));
    // A supervisor's job (systemd Restart=always): a gateway that dies on its own is started again, and the
    // crash is reported. What it had acknowledged must then still reach central.
    this.proc.onCrash = (c) => {
      this.o.log?.(`the gateway exited on its own (code ${c.code}, signal ${c.signal}); starting it again (log: ${this.proc!.logFile})`);
      setTimeout(() => void this.proc?.start().catch((err: unknown) => this.o.log?.(`the gateway did not start again: ${(err as Error).message}`)), 500).unref();
    };
    this.endpoint = { host: '127.0.0.1', port: mqttPort };
    this.httpBase = `http://127.0.0.1:${httpPort}`;
  }

  /** The gateway's configuration file (spawn mode). */
  get configFile(): string | null {
    return this.proc?.configFile ?? null;
  }

  /** Start the spawned gateway (after an optional import into its data directory). */
  async startGateway(): Promise<void> {
    await this.proc?.start();
    this.started = true;
  }

  private async startPlc(dir: string): Promise<unknown> {
    const { VirtualPlc } = await import('./plc/index.js');
    const p = this.o.plc!;
    this.plc = new VirtualPlc({
      pkiDir: join(dir, 'plc-pki'),
      readers: Array.from({ length: p.readers }, (_, i) => ({ id: `R${i + 1}`, ways: ['event'] as const })),
      // Filled in place once the run's serials are in the cache (the line reads whatever the array holds then).
      population: this.plcCodes,
      securityModes: ['None'],
      securityPolicies: ['None'],
    });
    await this.plc.start();
    return plcOpcuaConfig(this.plc, p.readers);
  }

  /** Crashes of the spawned gateway (exits nobody asked for), with the end of its log. */
  crashes(): { atMs: number; code: number | null; signal: string | null }[] {
    return this.proc?.crashes ?? [];
  }

  /** The end of the spawned gateway's log (for a crash report). */
  logTail(lines = 12): string {
    if (this.proc === null) return '';
    try {
      return readFileSync(this.proc.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Wait until the gateway's OPC UA client is connected to the virtual PLC (its readers subscribed). */
  async waitPlcConnected(timeoutMs = 20_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await this.opcuaStatus();
      const e = s?.endpoints?.[0];
      if (e?.state === 'connected' && (e.readers ?? []).every((r) => r.error === null)) {
        // The monitored items are created right after the session; give them a moment.
        await new Promise((r) => setTimeout(r, 500));
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** /api/status as it is (null when it cannot be read). */
  async rawStatus(): Promise<Record<string, unknown> | null> {
    if (this.httpBase === null) return null;
    try {
      return (await getJson(`${this.httpBase}/api/status`, 2000)) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  /** The gateway's OPC UA section of /api/status. */
  async opcuaStatus(): Promise<{ endpoints?: { state?: string; readers?: (Record<string, number | string | null> & { error: string | null })[] }[] } | null> {
    if (this.httpBase === null) return null;
    try {
      return ((await getJson(`${this.httpBase}/api/status`, 800)) as { opcua?: never }).opcua ?? null;
    } catch {
      return null;
    }
  }

  /** Kill the spawned gateway (SIGKILL) and start it again after `downMs`. */
  async killGateway(downMs: number): Promise<void> {
    if (this.proc === null) return;
    this.kills++;
    await this.proc.kill();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.proc.start();
  }

  uplinkDown(mode: OutageMode): void {
    this.proxy?.fail(mode);
  }

  uplinkUp(): void {
    this.proxy?.heal();
  }

  async plcRestart(downMs: number): Promise<void> {
    await this.plc?.restart(downMs);
  }

  /** CPU seconds the spawned gateway used so far (user + system), from /proc; null when unknown. */
  gatewayCpuS(): number | null {
    const pid = this.proc?.pid;
    if (pid === undefined) return null;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 (utime, stime) in clock ticks; after the command name they are at 11 and 12.
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return null;
    }
  }

  /** The gateway's outbox and uplink, or null when it cannot be asked (no --http, or it is down). */
  async status(): Promise<GatewayStatus | null> {
    if (this.httpBase === null) return null;
    try {
      const s = (await getJson(`${this.httpBase}/api/status`, 800)) as { outbox?: { events?: number; bytes?: number }; nats?: { connected?: boolean }; uplink?: { link?: { connected?: boolean } }; counters?: { readsHeldOutboxFull?: number } };
      return {
        outboxEvents: s.outbox?.events ?? 0,
        outboxBytes: s.outbox?.bytes ?? 0,
        natsConnected: s.uplink?.link?.connected ?? s.nats?.connected ?? null,
        readsHeldOutboxFull: s.counters?.readsHeldOutboxFull ?? 0,
      };
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.plc?.line.stopGeneration();
    await this.proc?.stop().catch(() => undefined);
    this.proc?.close();
    await this.plc?.close().catch(() => undefined);
    await this.proxy?.close();
    if (this.dir !== null && !this.o.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The gateway's `opcua` section for a virtual PLC: its readers deliver AutoID scan events to the `plc` station
 * of line L1 (a verify station) and take the decision back as one structure.
 */
export function plcOpcuaConfig(plc: VirtualPlcT, readers: number, line = 'L1', station = 'plc'): Record<string, unknown> {
  return {
    enabled: true,
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: 500,
    endpoints: [
      {
        id: 'plc1',
        url: plc.endpointUrl,
        securityMode: 'None',
        securityPolicy: 'None',
        publishingIntervalMs: 10,
        readers: Array.from({ length: readers }, (_, i) => ({
          id: `R${i + 1}`,
          line,
          station,
          way: 'event',
          device: plc.nodeId(`R${i + 1}`),
          seqField: { namespaceUri: 'urn:scangate:line', name: 'Seq' },
          decision: { mode: 'structure', node: plc.nodeId(`R${i + 1}`, 'Decision') },
        })),
      },
    ],
  };
}
