/**
 * The MQTT ingress shared by both broker modes: turns one PUBLISH (topic, payload, QoS, DUP) into a pipeline
 * call, publishes the verdict at once (before the durable write), and calls `ack` only when the read's event
 * is durable in the outbox. The broker mode decides what `ack` does: aedes writes the PUBACK when
 * authorizePublish calls back; the external client writes it to the broker. A read that cannot be stored is
 * never acknowledged (ack with an error), so the sender's session redelivers it.
 *
 * Hot path per read: one Map lookup for the topic, the pipeline call, one JSON.stringify, one or two publishes
 * (skipped when no one subscribes), and the ack: one promise reaction per event turn, shared by its reads. No
 * logging, no allocation beyond those.
 */
import type { Logger } from 'pino';
import { decodeScanRead } from '../../protocol/index.js';
import type { Outbox } from '../../gateway/outbox/outbox.js';
import type { Pipeline, VerdictMessage } from '../../gateway/pipeline.js';
import { MAX_CODES, readEnvelope, withCodes, type ReadEnvelope } from '../../gateway/read-envelope.js';
import type { Store } from '../../gateway/store.js';
import { LogLimit } from '../../gateway/log-limit.js';
import { RedeliveryIndex } from './redelivery.js';
import { RouteKind, type Route, type TopicMap } from './topics.js';
import type { MqttStats } from './stats.js';

/** Where the gateway's own messages go: the embedded broker or the external client. Never blocks or throws. */
export interface IngressSink {
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean): void;
  /** False when no one can receive on this topic now, so the message need not even be built. */
  wants(topic: string): boolean;
}

/** Calls back once: no error = acknowledge the PUBLISH; an error = do not (the sender redelivers). */
export type Ack = (err?: Error | null) => void;

/** The connection a PUBLISH came on; `closed` turns true when it is gone (its PUBACKs cannot be sent). */
export interface ConnectionRef {
  readonly closed: boolean;
  /** The connection's acknowledgements not yet given, in PUBLISH order (kept here by the ingress). */
  sgAcks?: AckQueue;
}

interface AckEntry {
  ack: Ack;
  done: boolean;
  err: Error | null;
}

/**
 * PUBACKs in the order the PUBLISHes came ([MQTT-4.6.0-2]): a read answered at once (a duplicate, an undeclared
 * station) waits for the reads before it that wait for the disk. Brokers rely on it: Mosquitto 2.0 loses track
 * of QoS 1 acknowledgements that arrive out of order and redelivers those messages after a reconnect.
 */
export class AckQueue {
  private items: (AckEntry | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(ack: Ack): AckEntry {
    const e: AckEntry = { ack, done: false, err: null };
    this.items.push(e);
    return e;
  }

  complete(e: AckEntry, err: Error | null): void {
    e.done = true;
    e.err = err;
    const items = this.items;
    while (this.head < items.length) {
      const h = items[this.head]!;
      if (!h.done) break;
      items[this.head++] = undefined;
      h.ack(h.err);
    }
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}

/** A read decided and waiting for its event to be durable before it is acknowledged. */
interface WaitingRead {
  ack: Ack;
  entry: AckEntry | undefined;
  conn: ConnectionRef | null;
  stationKey: string;
  payload: Buffer;
  verdict: VerdictMessage;
}

interface DurableBatch {
  durable: Promise<void>;
  reads: WaitingRead[];
  /** performance.now() when its first read was decided (the reads of a turn are decided microseconds apart). */
  decidedAt: number;
}

export interface IngressOptions {
  verdictQos: 0 | 1;
  /** A read held unacknowledged (outbox full, disk low) longer than this is refused as SYSTEM_UNAVAILABLE, not decided; 0: no limit. */
  maxHoldMs?: number;
  /** For benchmarks: called after the verdict is published with the time handle() was entered (performance.now()). */
  latencyProbe?: (enteredAtMs: number) => void;
}

export interface IngressDeps {
  pipeline: Pipeline;
  topics: TopicMap;
  outbox: Outbox;
  store: Store;
  stats: MqttStats;
  log: Logger;
}

/** Duck type of the core's control entry point (DESIGN.md control topic). */
interface ControlCapable {
  control(st: NonNullable<Route['station']>, cmd: unknown): { reply: Record<string, unknown>; durable: Promise<void> | null };
}

export class Ingress {
  readonly redelivery = new RedeliveryIndex();
  private readonly opts: IngressOptions;
  private readonly pipeline: Pipeline;
  private readonly outbox: Outbox;
  private readonly stats: MqttStats;
  private readonly log: Logger;
  private sink: IngressSink | null = null;
  private accepting = true;
  private inFlight = 0;
  /** A store that cannot write fails every read: one line per 10 s, the rest counted. */
  private readonly storeErrorLog = new LogLimit();
  private readonly lateLog = new LogLimit();
  /** Why reads were held last (the outbox is not full any more when they are refused as late). */
  private lastHoldCode: 'SG_ERR_DISK_LOW' | 'SG_ERR_OUTBOX_FULL' = 'SG_ERR_OUTBOX_FULL';
  private idleWaiters: (() => void)[] = [];
  private pruneTimer: NodeJS.Timeout | null = null;
  /** The reads of the current event turn waiting for its durable promise. */
  private waiting: DurableBatch | null = null;

  constructor(opts: IngressOptions, deps: IngressDeps) {
    this.opts = opts;
    this.pipeline = deps.pipeline;
    this.outbox = deps.outbox;
    this.stats = deps.stats;
    this.log = deps.log;
    const recovered = this.redelivery.loadJournal(deps.store);
    if (recovered > 0) this.log.info({ reads: recovered }, 'reads stored before the last stop are answered once more, not decided again, if redelivered');
    this.pruneTimer = setInterval(() => this.redelivery.prune(), 10_000);
    this.pruneTimer.unref();
  }

  /** Set once the broker or client exists. */
  attach(sink: IngressSink): void {
    this.sink = sink;
  }

  /** Reads decided and not yet durable. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * One PUBLISH on an ingress topic. `ack` is called exactly once: at once for a QoS 0 read, a duplicate, an
   * undeclared station or a control command; when the event is durable for a QoS 1/2 read.
   */
  handle(route: Route, payload: Buffer, qos: number, dup: boolean, ack: Ack, conn: ConnectionRef | null, receivedAt?: number): void {
    const t0 = receivedAt ?? performance.now();
    if (!this.accepting) {
      this.stats.refuse('shutting_down', { station: `${route.line}/${route.stationId}` }, 'read not taken: the gateway is stopping (the sender redelivers it)');
      return ack(new Error('the gateway is stopping'));
    }
    if (route.kind === RouteKind.Control) return this.control(route, payload, ack, conn);
    const st = route.station;
    if (st === undefined) {
      this.publishVerdict(route, this.pipeline.unauthorized(route.line, route.stationId));
      this.stats.verdictLatency.observe(performance.now() - t0);
      return ackNow(conn, ack);
    }
    if (this.outbox.full) {
      // Decide nothing that cannot be recorded: hold the read (no PUBACK) until the outbox has room.
      this.pipeline.counters.readsHeldOutboxFull++;
      this.lastHoldCode = this.outbox.fullCode;
      this.inFlight++;
      void this.outbox.whenNotFull().then(() => {
        this.settle();
        this.handle(route, payload, qos, dup, ack, conn, t0); // its verdict latency includes the wait
      });
      return;
    }
    let env: ReadEnvelope | string | undefined;
    if (route.kind === RouteKind.ReadPb) env = scanReadEnvelope(payload);
    if (this.redelivery.size > 0) {
      env ??= readEnvelope(payload);
      if (typeof env !== 'string') {
        const prior = this.redelivery.match(st.key, env, payload, dup);
        if (prior !== undefined) {
          this.stats.redeliveredReads++;
          this.pipeline.counters.reads++;
          this.pipeline.counters.duplicateReads++;
          this.publishVerdict(route, { ...prior, ts: Date.now() });
          this.stats.verdictLatency.observe(performance.now() - t0);
          return ackNow(conn, ack);
        }
      }
    }
    const heldMs = performance.now() - t0;
    const maxHold = this.opts.maxHoldMs ?? 0;
    const out =
      maxHold > 0 && heldMs > maxHold
        ? this.refuseLate(st, env ?? readEnvelope(payload), payload, heldMs)
        : env === undefined
          ? this.pipeline.handleRead(st, payload)
          : this.pipeline.handleEnvelope(st, env, payload);
    this.publishVerdict(route, out.verdict);
    const decidedAt = performance.now();
    this.stats.verdictLatency.observe(decidedAt - t0);
    this.opts.latencyProbe?.(t0);
    const durable = out.durable;
    if (durable === null || qos === 0) {
      if (durable !== null) durable.catch(() => this.storeFailed());
      return ackNow(conn, ack);
    }
    this.inFlight++;
    this.stats.readsInFlight++;
    const entry = queueOf(conn)?.push(ack);
    // The reads of one event turn share one durable promise (one LMDB transaction): one reaction for them all.
    let w = this.waiting;
    if (w === null || w.durable !== durable) {
      w = this.waiting = { durable, reads: [], decidedAt };
      const batch = w;
      durable.then(
        () => this.durableDone(batch, null),
        () => this.durableDone(batch, new Error('the event could not be stored')),
      );
    }
    w.reads.push({ ack, entry, conn, stationKey: st.key, payload, verdict: out.verdict });
  }

  /** A read held longer than maxHoldMs: recorded as a SYSTEM_UNAVAILABLE reject, counted, logged (rate-limited). */
  private refuseLate(st: NonNullable<Route['station']>, env: ReadEnvelope | string, payload: Buffer, heldMs: number): ReturnType<Pipeline['refuseLate']> {
    this.pipeline.counters.readsRefusedLate++;
    const extra = this.lateLog.take();
    if (extra !== null) {
      this.log.warn(
        { code: this.lastHoldCode, station: st.key, heldMs: Math.round(heldMs), maxHoldMs: this.opts.maxHoldMs, refusedLate: this.pipeline.counters.readsRefusedLate, ...extra },
        'reads held longer than mqtt.maxHoldMs are refused as SYSTEM_UNAVAILABLE, not decided: the line has rejected those products by now',
      );
    }
    return this.pipeline.refuseLate(st, env, payload, heldMs, this.lastHoldCode === 'SG_ERR_DISK_LOW' ? 'disk space was low on the gateway' : 'the outbox was full');
  }

  /** The reads waiting on one durable promise: acknowledged in order (or refused, when the write failed). */
  private durableDone(batch: DurableBatch, err: Error | null): void {
    if (this.waiting === batch) this.waiting = null;
    if (err === null) this.stats.ackLatency.observe(performance.now() - batch.decidedAt, batch.reads.length);
    for (const r of batch.reads) {
      // Each read on its own: one that fails here must not keep the others of its turn unacknowledged.
      try {
        this.settle();
        if (err !== null) this.storeFailed();
        else if (r.conn !== null && r.conn.closed) {
          // The PUBACK cannot reach the sender any more: it will redeliver this read; answer it from the index.
          this.redelivery.add(r.stationKey, r.payload, r.verdict.device, r.verdict.seq, { ...r.verdict, duplicateRead: true });
        }
        if (r.entry !== undefined) r.conn!.sgAcks!.complete(r.entry, err);
        else r.ack(err);
      } catch (e) {
        this.pipeline.counters.internalErrors++;
        this.log.error({ code: 'SG_ERR_INTERNAL', err: { message: (e as Error).message, stack: (e as Error).stack } }, 'acknowledging a read failed');
      }
    }
  }

  private storeFailed(): void {
    this.pipeline.counters.storeErrors++;
    const extra = this.storeErrorLog.take();
    if (extra !== null) this.log.error({ code: 'SG_ERR_STORE', storeErrors: this.pipeline.counters.storeErrors, ...extra }, 'an event could not be stored; the read was not acknowledged (the sender redelivers it)');
  }

  private settle(): void {
    this.stats.readsInFlight = Math.max(0, this.stats.readsInFlight - 1);
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** A decision made on another path (a PLC read over OPC UA): published on the station's verdict and reject topics. */
  publishStationVerdict(st: { readonly verdictTopic: string; readonly rejectTopic: string }, v: VerdictMessage): void {
    this.publishVerdict(st, v);
  }

  private publishVerdict(route: Pick<Route, 'verdictTopic' | 'rejectTopic'>, v: VerdictMessage): void {
    const sink = this.sink;
    if (sink === null) return;
    const reject = v.verdict === 'reject';
    const toVerdict = sink.wants(route.verdictTopic);
    const toReject = reject && sink.wants(route.rejectTopic);
    if (!toVerdict && !toReject) return;
    const payload = Buffer.from(JSON.stringify(v));
    const qos = this.opts.verdictQos;
    if (toVerdict) sink.publish(route.verdictTopic, payload, qos, false);
    if (toReject) sink.publish(route.rejectTopic, payload, qos, false);
    this.stats.verdictsPublished++;
  }

  /** `.../control`: a JSON command, answered on `.../control/reply` (acknowledged once its changes are durable). */
  private control(route: Route, payload: Buffer, ack: Ack, conn: ConnectionRef | null): void {
    this.stats.controlCommands++;
    const st = route.station;
    let cmd: unknown;
    let reply: Record<string, unknown>;
    let durable: Promise<void> | null = null;
    try {
      cmd = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      cmd = undefined;
      reply = { ok: false, error: 'MALFORMED', message: `a control command is a JSON object: ${(err as Error).message}` };
    }
    if (cmd !== undefined) {
      const control = (this.pipeline as unknown as Partial<ControlCapable>).control;
      if (st === undefined) {
        reply = { ok: false, error: 'UNAUTHORIZED_STATION', message: `station ${route.line}/${route.stationId} is not declared in this gateway's configuration` };
      } else if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd)) {
        reply = { ok: false, error: 'MALFORMED', message: 'a control command is a JSON object such as {"cmd":"setOrder","gtins":[...]}' };
      } else if (typeof control !== 'function') {
        reply = { ok: false, error: 'UNSUPPORTED', message: 'this gateway does not take control commands' };
      } else if (this.outbox.full) {
        // Nothing is changed that cannot be recorded: refused with the reason, the controller may send it again.
        reply = { ok: false, error: this.outbox.fullCode, message: this.outbox.heldBecause('nothing is changed') };
      } else {
        const res = control.call(this.pipeline, st, cmd);
        reply = res.reply;
        durable = res.durable;
      }
    }
    const c = cmd as { cmd?: unknown; id?: unknown } | undefined;
    const out: Record<string, unknown> = {};
    if (c !== undefined && c !== null && typeof c === 'object') {
      if (typeof c.cmd === 'string') out.cmd = c.cmd;
      if (typeof c.id === 'string' || typeof c.id === 'number') out.id = c.id; // correlation id, echoed
    }
    Object.assign(out, reply!, { ts: Date.now() });
    this.sink?.publish(route.replyTopic, Buffer.from(JSON.stringify(out)), this.opts.verdictQos, false);
    if (durable === null) return ackNow(conn, ack);
    this.inFlight++;
    const entry = queueOf(conn)?.push(ack);
    const give = (err: Error | null) => (entry !== undefined ? conn!.sgAcks!.complete(entry, err) : ack(err));
    durable.then(
      () => {
        this.settle();
        give(null);
      },
      () => {
        this.settle();
        this.storeFailed();
        give(new Error('the command could not be stored'));
      },
    );
  }

  /** Stop taking reads (they are refused, not acknowledged) and wait until those in flight are durable. */
  async stopAccepting(): Promise<void> {
    this.accepting = false;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.accepting = false;
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
  }
}

function queueOf(conn: ConnectionRef | null): AckQueue | undefined {
  if (conn === null) return undefined;
  return (conn.sgAcks ??= new AckQueue());
}

/** Acknowledge at once, or after the earlier PUBLISHes of the same connection that still wait. */
export function ackNow(conn: ConnectionRef | null, ack: Ack): void {
  const q = conn?.sgAcks;
  if (q === undefined || q.size === 0) return ack(null);
  q.complete(q.push(ack), null);
}

/**
 * A protobuf ScanRead (`.../read/pb`) as a read envelope; a string is the reason it is MALFORMED.
 * proto3 has no presence: seq 0, ts_ms 0 and empty strings mean "not sent".
 */
export function scanReadEnvelope(payload: Buffer): ReadEnvelope | string {
  if (payload.length === 0) return { code: '', raw: payload }; // an empty ScanRead: no read
  let r: ReturnType<typeof decodeScanRead>;
  try {
    r = decodeScanRead(payload);
  } catch (err) {
    return `payload on read/pb is not a scangate.v1.ScanRead protobuf: ${(err as Error).message}`;
  }
  const env: ReadEnvelope = { code: r.code, raw: payload };
  if (r.code === '' && r.raw.length > 0) env.code = Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.length).toString('latin1');
  if (r.codes.length > 0) {
    if (env.code !== '') return 'a ScanRead carries either code or codes, not both';
    if (r.codes.length > MAX_CODES) return `"codes" must be a list of 1-${MAX_CODES} strings`;
    withCodes(env, [...r.codes], r.parent !== '' ? r.parent : undefined);
  } else if (r.parent !== '') {
    if (env.code !== '') return 'parent goes with codes (a camera read): set codes and parent';
    env.parent = r.parent;
  }
  if (r.seq !== 0) env.seq = Number(r.seq);
  if (r.device !== '') env.device = r.device;
  if (r.tsMs !== 0) env.tsMs = Number(r.tsMs);
  if (env.code === '' && env.codes === undefined && env.seq === undefined && env.device === undefined && env.tsMs === undefined && env.parent === undefined) {
    return 'payload on read/pb holds no ScanRead field (code, codes, raw, seq, device, ts_ms)';
  }
  return env;
}

