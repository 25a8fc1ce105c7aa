/**
 * Faults on demand during a run, so a load test shows what an outage costs:
 *   --kill-gateway-every 20s[:1s]   SIGKILL the gateway every 20 s (back after 1 s; default at once);
 *   --uplink-outage 10s@30s[,...]   no uplink for 10 s from 30 s into the run (through the loopback proxy);
 *   --plc-restart 5s@20s[,...]      the virtual PLC's OPC UA server down for 5 s from 20 s.
 */
import { GatewayError } from '../gateway/errors.js';

/** `250ms`, `10s`, `1.5m`, or a bare number of seconds -> ms. */
export function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (m === null) throw new GatewayError('SG_ERR_USAGE', `${what}: "${s}" is not a duration (e.g. 500ms, 10s, 2m)`);
  const v = Number(m[1]);
  return Math.round(m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000);
}

export interface Window {
  atMs: number;
  durationMs: number;
}

/** `10s@30s,5s@50s` -> windows (duration at start). */
export function parseWindows(spec: string, what: string): Window[] {
  return spec.split(',').map((part) => {
    const [d, at] = part.split('@');
    if (d === undefined || at === undefined) throw new GatewayError('SG_ERR_USAGE', `${what}: "${part}" must be DURATION@START, e.g. 10s@30s`);
    return { durationMs: parseDuration(d, what), atMs: parseDuration(at, what) };
  });
}

export interface KillSpec {
  everyMs: number;
  downMs: number;
}

export function parseKill(spec: string): KillSpec {
  const [every, down] = spec.split(':');
  const everyMs = parseDuration(every ?? '', '--kill-gateway-every');
  if (everyMs < 1000) throw new GatewayError('SG_ERR_USAGE', '--kill-gateway-every must be at least 1s');
  return { everyMs, downMs: down === undefined ? 0 : parseDuration(down, '--kill-gateway-every') };
}

export interface FaultSpecs {
  kill?: KillSpec;
  outages: Window[];
  outageMode: 'cut' | 'blackhole';
  plcRestarts: Window[];
}

/** A fault as it happened, for the report and its charts (seconds since the run started). */
export interface FaultRecord {
  kind: 'gateway-kill' | 'uplink-outage' | 'plc-restart';
  atS: number;
  durationS: number;
  note?: string;
}

export interface FaultActions {
  killGateway?: (downMs: number) => Promise<void>;
  uplinkDown?: () => void;
  uplinkUp?: () => void;
  plcRestart?: (downMs: number) => Promise<void>;
}

/** Runs the faults on their schedule from `start()` (performance.now() of the run's start). */
export class FaultScheduler {
  readonly records: FaultRecord[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private t0 = 0;
  errors: string[] = [];

  constructor(
    private readonly specs: FaultSpecs,
    private readonly act: FaultActions,
    private readonly runMs: number,
  ) {}

  private at(ms: number, fn: () => void): void {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    this.timers.push(t);
  }

  private since(): number {
    return Math.round(performance.now() - this.t0) / 1000;
  }

  start(t0: number): void {
    this.t0 = t0;
    const k = this.specs.kill;
    if (k !== undefined && this.act.killGateway !== undefined) {
      for (let at = k.everyMs; at < this.runMs; at += k.everyMs) {
        this.at(at, () => {
          const rec: FaultRecord = { kind: 'gateway-kill', atS: this.since(), durationS: 0 };
          this.records.push(rec);
          const t = performance.now();
          this.act.killGateway!(k.downMs).then(
            () => (rec.durationS = Math.round(performance.now() - t) / 1000),
            (err: unknown) => this.errors.push(`gateway restart: ${(err as Error).message}`),
          );
        });
      }
    }
    for (const o of this.specs.outages) {
      if (this.act.uplinkDown === undefined) break;
      this.at(o.atMs, () => {
        this.records.push({ kind: 'uplink-outage', atS: this.since(), durationS: o.durationMs / 1000, note: this.specs.outageMode });
        this.act.uplinkDown!();
      });
      this.at(o.atMs + o.durationMs, () => this.act.uplinkUp!());
    }
    for (const p of this.specs.plcRestarts) {
      if (this.act.plcRestart === undefined) break;
      this.at(p.atMs, () => {
        this.records.push({ kind: 'plc-restart', atS: this.since(), durationS: p.durationMs / 1000 });
        this.act.plcRestart!(p.durationMs).catch((err: unknown) => this.errors.push(`PLC restart: ${(err as Error).message}`));
      });
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
  }
}
