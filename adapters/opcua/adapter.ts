/**
 * PLCs over OPC UA: one Endpoint (client session) per configured PLC, each reader mapped to a station. Reads go
 * through the same pipeline as MQTT reads; each decision is written back to the PLC, echoing the read's seq, and
 * published on the station's MQTT verdict/reject topics. Reads the PLC made that never arrived (sequence gaps)
 * are counted, raise an alarm and are recorded as NO_READ events, so that nothing disappears silently.
 */
import type { Logger } from 'pino';
import type { OpcuaConfig } from '../../gateway/config/opcua-schema.js';
import { GatewayError, type ConfigIssue, ConfigError } from '../../gateway/errors.js';
import type { Outbox } from '../../gateway/outbox/outbox.js';
import type { Pipeline, VerdictMessage } from '../../gateway/pipeline.js';
import type { ReadEnvelope } from '../../gateway/read-envelope.js';
import type { StationContext, StationRegistry } from '../../gateway/stations.js';
import { Endpoint, type EndpointStats } from './endpoint.js';
import { ReaderRuntime, type ReadSink, type ReaderStats } from './reader.js';
import { routeNodeOpcuaLogs } from './logging.js';
import { monitoredNode } from './rebind.js';
import { pkiDirOf } from './security.js';
import { next } from './seq.js';
import { LogLimit } from '../../gateway/log-limit.js';
import { LatencyHistogram, type LatencySummary } from '../../gateway/latency.js';

export interface OpcuaAdapterDeps {
  pipeline: Pipeline;
  stations: StationRegistry;
  outbox: Outbox;
  log: Logger;
  dataDir: string;
  /** Publish a decision on the station's MQTT verdict (and reject) topics. */
  publishVerdict?: (st: StationContext, v: VerdictMessage) => void;
}

export interface OpcuaReaderStatus extends ReaderStats {
  id: string;
  line: string;
  station: string;
  way: string;
  error: { code: string; message: string } | null;
}

export interface OpcuaEndpointStatus extends EndpointStats {
  id: string;
  url: string;
  security: string;
  decisionsQueued: number;
  /** Notifications dropped because no handler could take them (an item the client had already forgotten). */
  droppedNotifications: number;
  readers: OpcuaReaderStatus[];
}

export interface OpcuaAlarm {
  code: 'SG_ERR_OPCUA_READS_LOST';
  endpoint: string;
  reader: string;
  lostReads: number;
  lastAtMs: number;
}

export interface OpcuaStatus {
  endpoints: OpcuaEndpointStatus[];
  /** Readers that lost reads within the last ALARM_WINDOW_MS. */
  alarms: OpcuaAlarm[];
  /** Reads held because the outbox was full, and reads refused (outbox full too long, or shutting down). */
  held: number;
  refused: number;
  /** From a decision to the PLC confirming its write (count, mean, bucket bounds of p50/p99/p99.9). */
  decisionLatency: LatencySummary;
}

/** A lost-reads alarm stays raised this long after the last gap, in ms. */
export const ALARM_WINDOW_MS = 5 * 60_000;
/** NO_READ events recorded per gap at most (a counter jump must not flood the outbox); the rest is counted. */
const MAX_LOST_EVENTS_PER_GAP = 1_000;
/** Reads held while the outbox is full, at most, and for how long (ms): the PLC has rejected a product by then. */
const MAX_HELD = 10_000;
const MAX_HOLD_MS = 2_000;
const EMPTY = Buffer.alloc(0);

interface Held {
  r: ReaderRuntime;
  env: ReadEnvelope;
  raw: Buffer;
  /** The seq the decision echoes; -1 for the NO_READ record of a lost read (no decision). */
  echo: number;
  atMs: number;
}

export class OpcuaAdapter implements ReadSink {
  readonly endpoints: Endpoint[];
  /** From a decision to the PLC confirming its write, over every endpoint and reader (ms). */
  readonly decisionLatency = new LatencyHistogram();
  private readonly byReader = new Map<ReaderRuntime, Endpoint>();
  private readonly pipeline: Pipeline;
  private readonly outbox: Outbox;
  private readonly log: Logger;
  private readonly publishVerdict: ((st: StationContext, v: VerdictMessage) => void) | undefined;
  private accepting = true;
  private inFlight = 0;
  private readonly storeErrorLog = new LogLimit();
  /** Per reader and kind (unusable, scan:timeout...): one reader's trouble does not hide another's. */
  private readonly readerLogs = new Map<string, LogLimit>();
  private idleWaiters: (() => void)[] = [];
  private held: Held[] = [];
  private waitingForRoom = false;
  private refused = 0;
  private lastLostLogMs = 0;
  private lostSinceLog = 0;

  constructor(config: OpcuaConfig, deps: OpcuaAdapterDeps) {
    this.pipeline = deps.pipeline;
    this.outbox = deps.outbox;
    this.log = deps.log;
    this.publishVerdict = deps.publishVerdict;
    routeNodeOpcuaLogs(deps.log.child({ component: 'node-opcua' }));
    const pkiDir = pkiDirOf(config, deps.dataDir);
    const issues: ConfigIssue[] = [];
    this.endpoints = (config.endpoints ?? []).map((e, ei) => {
      const readers = e.readers.flatMap((rc, ri) => {
        const st = deps.stations.get(rc.line, rc.station);
        if (st === undefined) {
          issues.push({ path: `opcua.endpoints.${ei}.readers.${ri}.station`, message: `station ${rc.line}/${rc.station} is not declared in site.lines` });
          return [];
        }
        return [new ReaderRuntime(rc, e.id, st, this, Math.max(1_000, 2 * e.queueSize), e.requestTimeoutMs)];
      });
      const ep = new Endpoint({ cfg: e, global: config, pkiDir, readers, log: deps.log.child({ endpoint: e.id }), decisionLatency: this.decisionLatency });
      for (const r of readers) this.byReader.set(r, ep);
      return ep;
    });
    if (issues.length > 0) throw new ConfigError(issues, 'opcua');
  }

  /** Connect to every PLC in the background; never waits for a PLC and never gives up. */
  start(): void {
    for (const e of this.endpoints) e.start();
  }

  // --- ReadSink: called by the readers -----------------------------------------------------------------------

  read(r: ReaderRuntime, env: ReadEnvelope, raw: Buffer, echo: number): void {
    if (!this.accepting) {
      r.stats.refused++;
      this.refused++;
      return;
    }
    if (this.held.length > 0 || this.outbox.full) {
      this.hold({ r, env, raw, echo, atMs: Date.now() });
      return;
    }
    this.decide(r, env, raw, echo);
  }

  private decide(r: ReaderRuntime, env: ReadEnvelope, raw: Buffer, echo: number): void {
    const out = this.pipeline.handleEnvelope(r.station, env, raw);
    this.publishVerdict?.(r.station, out.verdict);
    const d = r.cfg.decision;
    this.byReader.get(r)!.writer.enqueue(r, echo, out.verdict, d.acceptValue, d.rejectValue);
    if (out.durable !== null) this.track(out.durable);
  }

  unusable(r: ReaderRuntime, what: string): void {
    const extra = this.readerLog(r, 'unusable').take();
    if (extra !== null) {
      this.log.warn({ code: 'SG_ERR_OPCUA_NODE', endpoint: r.endpointId, reader: r.cfg.id, node: monitoredNode(r), unusableTotal: r.stats.unusable, ...extra }, `a value from the PLC was not used: ${what}`);
    }
  }

  scanFailed(r: ReaderRuntime, kind: 'timeout' | 'error' | 'dropped', seq: number, detail: string): void {
    const extra = this.readerLog(r, `scan:${kind}`).take();
    if (extra === null) return;
    const s = r.stats;
    const what =
      kind === 'timeout'
        ? `the AutoID Scan call did not answer within ${this.byReader.get(r)!.cfg.requestTimeoutMs} ms (requestTimeoutMs): trigger seq ${seq} decided as NO_READ; a Scan error, not a no-read`
        : kind === 'error'
          ? `the AutoID Scan call failed: trigger seq ${seq} decided as NO_READ; a Scan error, not a no-read`
          : `${detail}: the oldest waiting (trigger seq ${seq}) was dropped and decided as NO_READ without a Scan; is the PLC's Scan method answering?`;
    this.log.warn(
      { code: 'SG_ERR_OPCUA_SCAN', endpoint: r.endpointId, reader: r.cfg.id, node: r.cfg.device, scan: kind, seq, err: kind === 'dropped' ? undefined : detail, scanErrors: s.scanErrors, scanTimeouts: s.scanTimeouts, scansDropped: s.scansDropped, ...extra },
      what,
    );
  }

  private readerLog(r: ReaderRuntime, kind: string): LogLimit {
    const key = `${r.device} ${kind}`;
    let l = this.readerLogs.get(key);
    if (l === undefined) this.readerLogs.set(key, (l = new LogLimit()));
    return l;
  }

  lost(r: ReaderRuntime, fromSeq: number, count: number): void {
    const now = Date.now();
    this.lostSinceLog += count;
    if (now - this.lastLostLogMs >= 10_000) {
      this.log.warn(
        { code: 'SG_ERR_OPCUA_READS_LOST', endpoint: r.endpointId, reader: r.cfg.id, fromSeq, count, lostSinceLastWarning: this.lostSinceLog, lostTotal: r.stats.lostReads },
        'reads lost between the PLC and the gateway (sequence gap)',
      );
      this.lastLostLogMs = now;
      this.lostSinceLog = 0;
    }
    if (!this.accepting) return;
    // The PLC default-rejected these products; the record upstream says so: NO_READ, with the PLC's seq.
    let s = fromSeq;
    for (let i = 0; i < Math.min(count, MAX_LOST_EVENTS_PER_GAP); i++) {
      const env: ReadEnvelope = { code: '', seq: s, device: r.device, raw: EMPTY };
      if (this.held.length > 0 || this.outbox.full) this.hold({ r, env, raw: EMPTY, echo: -1, atMs: now });
      else {
        const out = this.pipeline.handleEnvelope(r.station, env, EMPTY);
        if (out.durable !== null) this.track(out.durable);
      }
      s = next(s);
    }
  }

  /**
   * The outbox is full: keep the read, in order, until there is room (a PLC cannot be asked to resend), but not
   * for long: a decision later than MAX_HOLD_MS would come after the PLC rejected the product, so such a read is
   * refused (counted), never decided late.
   */
  private hold(h: Held): void {
    if (this.held.length >= MAX_HELD) {
      h.r.stats.refused++;
      this.refused++;
      return;
    }
    if (this.held.length === 0) this.log.warn({ code: this.outbox.fullCode }, this.outbox.heldBecause('PLC reads are held'));
    this.held.push(h);
    this.waitForRoom();
  }

  private waitForRoom(): void {
    if (this.waitingForRoom) return;
    this.waitingForRoom = true;
    void this.outbox.whenNotFull().then(() => {
      this.waitingForRoom = false;
      while (this.held.length > 0) {
        if (this.outbox.full) return this.waitForRoom();
        const h = this.held.shift()!;
        if (h.echo >= 0) {
          if (Date.now() - h.atMs <= MAX_HOLD_MS) this.decide(h.r, h.env, h.raw, h.echo);
          else {
            h.r.stats.refused++;
            this.refused++;
          }
        } else {
          const out = this.pipeline.handleEnvelope(h.r.station, h.env, h.raw);
          if (out.durable !== null) this.track(out.durable);
        }
      }
    });
  }

  private track(durable: Promise<void>): void {
    this.inFlight++;
    durable.then(
      () => this.settle(),
      (err: unknown) => {
        this.settle();
        this.pipeline.counters.storeErrors++;
        const extra = this.storeErrorLog.take();
        if (extra !== null) this.log.error({ code: 'SG_ERR_STORE', err: (err as Error).message, storeErrors: this.pipeline.counters.storeErrors, ...extra }, 'event of a PLC read could not be stored');
      },
    );
  }

  private settle(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  // --- lifecycle ---------------------------------------------------------------------------------------------

  /** Stop deciding PLC reads; resolves when the reads decided so far are durable. */
  async stopAccepting(): Promise<void> {
    this.accepting = false;
    this.refused += this.held.length;
    this.held = [];
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Write the queued decisions (within budgetMs), then close every session. */
  async close(budgetMs = 1_000): Promise<void> {
    this.accepting = false;
    await Promise.all(this.endpoints.map((e) => e.close(budgetMs)));
  }

  status(): OpcuaStatus {
    const now = Date.now();
    const alarms: OpcuaAlarm[] = [];
    const endpoints = this.endpoints.map((e) => ({
      id: e.cfg.id,
      url: e.cfg.url,
      security: `${e.cfg.securityMode}/${e.cfg.securityPolicy}`,
      ...e.stats,
      decisionsQueued: e.writer.stats.queued,
      droppedNotifications: e.subs.dropped,
      readers: e.readers.map((r) => {
        if (r.stats.lastLostAtMs !== null && now - r.stats.lastLostAtMs < ALARM_WINDOW_MS) {
          alarms.push({ code: 'SG_ERR_OPCUA_READS_LOST', endpoint: e.cfg.id, reader: r.cfg.id, lostReads: r.stats.lostReads, lastAtMs: r.stats.lastLostAtMs });
        }
        return { id: r.cfg.id, line: r.cfg.line, station: r.cfg.station, way: r.cfg.way, error: r.error, ...r.stats };
      }),
    }));
    return { endpoints, alarms, held: this.held.length, refused: this.refused, decisionLatency: this.decisionLatency.summary() };
  }

  /** Reader by endpoint and reader id (tests, tools). */
  reader(endpoint: string, reader: string): ReaderRuntime {
    const e = this.endpoints.find((x) => x.cfg.id === endpoint);
    const r = e?.readers.find((x) => x.cfg.id === reader);
    if (r === undefined) throw new GatewayError('SG_ERR_USAGE', `no OPC UA reader ${endpoint}/${reader}`);
    return r;
  }
}
