/**
 * A durable pull consumer whose messages are applied one at a time, in stream order, and acknowledged only
 * after what they changed is committed (so an acknowledged message is never lost to a crash). The applied
 * stream sequence is kept by the caller in the same LMDB transaction as the changes; a redelivery (an ack
 * lost, a crash between commit and ack) is therefore recognised and applied once. On every (re)connection
 * the consumer is checked against that sequence: a consumer ahead of the cache (a new or replaced data
 * directory) is recreated from the cache's sequence, so a new gateway bootstraps by replaying the stream.
 */
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { GatewayError, describeError } from '../../gateway/errors.js';
import type { NatsLink } from './link.js';

export interface DurableSpec {
  stream: string;
  /** Durable consumer name. */
  name: string;
  filter: string;
  /** Where a consumer created from nothing starts: every message, or only new ones. */
  fromStart: boolean;
  ackWaitMs: number;
  retryDelayMs: number;
  /** Make sure the stream exists (or fail with a clear error) before using it. */
  ensureStream: (nc: NatsConnection) => Promise<void>;
  /**
   * The store may be written now (the disk is not low, disk-guard.ts), and the promise of when it may again.
   * While it may not, the consumer stops taking messages (none pile up in memory) and starts again after.
   */
  writable?: { now: () => boolean; when: () => Promise<void> };
}

export interface ConsumerStats {
  connected: boolean;
  /** Messages applied, and redeliveries of messages applied before (skipped). */
  applied: number;
  redelivered: number;
  /** Messages that could not be decoded or applied (acknowledged and counted, never retried forever). */
  bad: number;
  /** Last applied stream sequence and the time central published it (ms since the epoch). */
  lastSeq: number;
  lastPublishedMs: number | null;
  /** Messages in the stream not yet delivered to this gateway (from the last message or consumer info). */
  pending: number;
  /** Times the consumer was (re)created because the cache was behind it, or it was missing. */
  recreated: number;
  lastError: string | null;
}

/** Returns a promise that resolves when the message's effects are committed; throws when it cannot apply. */
export type ApplyFn = (msg: JsMsg) => Promise<void>;

export class DurableApplier {
  private readonly link: NatsLink;
  private readonly spec: DurableSpec;
  private readonly apply: ApplyFn;
  private readonly appliedSeq: () => number;
  private readonly log: Logger;
  private running = false;
  private iter: ConsumerMessages | null = null;
  private session = 0;
  private current: Promise<void> = Promise.resolve();
  private infoTimer: NodeJS.Timeout | null = null;
  private readonly unsubs: (() => void)[] = [];
  /** Resolves when close() is called (a wait for the disk ends with it). */
  private stopped: Promise<void> = new Promise(() => undefined);
  private stop: () => void = () => undefined;
  readonly stats: ConsumerStats = { connected: false, applied: 0, redelivered: 0, bad: 0, lastSeq: 0, lastPublishedMs: null, pending: 0, recreated: 0, lastError: null };

  constructor(link: NatsLink, spec: DurableSpec, appliedSeq: () => number, apply: ApplyFn, log: Logger) {
    this.link = link;
    this.spec = spec;
    this.appliedSeq = appliedSeq;
    this.apply = apply;
    this.log = log;
    this.stats.lastSeq = appliedSeq();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = new Promise((r) => (this.stop = r));
    this.unsubs.push(
      this.link.onUp((nc) => {
        this.stats.connected = true;
        const session = ++this.session;
        this.current = this.current.then(() => this.run(nc, session));
      }),
      this.link.onDown(() => {
        this.stats.connected = false;
        this.session++;
        void this.iter?.close().catch(() => undefined);
      }),
    );
  }

  /** Lag in seconds: how old the newest applied message is while more are waiting (0 when caught up). */
  lagSeconds(now = Date.now()): number {
    if (this.stats.pending === 0 || this.stats.lastPublishedMs === null) return 0;
    return Math.max(0, (now - this.stats.lastPublishedMs) / 1000);
  }

  private async run(nc: NatsConnection, session: number): Promise<void> {
    const w = this.spec.writable;
    while (this.running && session === this.session) {
      if (w !== undefined && !w.now()) {
        // Not now: no consumer open, so JetStream keeps the messages; then start over from the cache's position.
        await Promise.race([w.when(), this.stopped]);
        continue;
      }
      try {
        await this.spec.ensureStream(nc);
        await this.ensureConsumer(nc);
        const consumer = await jetstream(nc).consumers.get(this.spec.stream, this.spec.name);
        const iter = await consumer.consume({ max_messages: 64, expires: 5_000 });
        this.iter = iter;
        if (session !== this.session || !this.running) {
          await iter.close();
          return;
        }
        this.startInfo(nc);
        let paused = false;
        for await (const m of iter) {
          if (w !== undefined && !w.now()) {
            // Neither applied nor acknowledged: this one and those delivered after it come again in order,
            // from a consumer recreated at the cache's position (ensureConsumer) once the store is writable.
            paused = true;
            break;
          }
          await this.handle(m);
          if (session !== this.session || !this.running) break;
        }
        // The iterator ended by itself (consumer or stream deleted, heartbeats lost): start over.
        if (!paused && session === this.session && this.running) await new Promise((r) => setTimeout(r, this.spec.retryDelayMs));
      } catch (err) {
        const msg = describeError(err);
        if (this.stats.lastError !== msg) this.log.warn({ consumer: this.spec.name, stream: this.spec.stream }, `consumer failed, retrying: ${msg}`);
        this.stats.lastError = msg;
        await new Promise((r) => setTimeout(r, this.spec.retryDelayMs));
      } finally {
        this.stopInfo();
        const it = this.iter;
        this.iter = null;
        if (it !== null) await it.close().catch(() => undefined);
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    this.stats.pending = m.info.pending;
    if (m.seq <= this.appliedSeq()) {
      this.stats.redelivered++;
      m.ack();
      return;
    }
    try {
      await this.apply(m);
      this.stats.applied++;
    } catch (err) {
      // The store failing is not the message's fault: no ack, the session restarts and the message comes again.
      if (err instanceof GatewayError && err.code === 'SG_ERR_STORE') throw err;
      // A message that cannot be decoded must not stop the stream for ever: count it, log it, move on.
      this.stats.bad++;
      this.log.error({ code: 'SG_ERR_STATUS_SYNC', stream: this.spec.stream, seq: m.seq, err: describeError(err) }, 'message could not be applied; skipped');
    }
    this.stats.lastSeq = m.seq;
    this.stats.lastPublishedMs = Math.floor(m.info.timestampNanos / 1e6);
    m.ack();
  }

  /**
   * Create the consumer, or recreate it from the cache's position when it delivered past what the cache applied:
   * messages delivered and never applied (a session ended by a dead link, a store failure, a low disk) would
   * otherwise come again only after ack_wait, behind newer ones, and be taken for redeliveries of applied ones.
   */
  private async ensureConsumer(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const applied = this.appliedSeq();
    const cfg: Partial<ConsumerConfig> = {
      durable_name: this.spec.name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.spec.ackWaitMs),
      filter_subject: this.spec.filter,
      max_ack_pending: 1000,
    };
    if (applied > 0) Object.assign(cfg, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: applied + 1 });
    else cfg.deliver_policy = this.spec.fromStart ? DeliverPolicy.All : DeliverPolicy.New;
    try {
      const info = await jsm.consumers.info(this.spec.stream, this.spec.name);
      const floor = info.ack_floor.stream_seq;
      const delivered = info.delivered.stream_seq;
      this.stats.pending = info.num_pending + info.num_ack_pending;
      if (delivered <= applied && info.config.filter_subject === this.spec.filter) return;
      const why =
        info.config.filter_subject !== this.spec.filter
          ? 'consumer filter changed: recreating it'
          : floor > applied
            ? 'consumer is ahead of the cache: recreating it from the cache\'s position'
            : 'consumer delivered messages the cache has not applied: recreating it from the cache\'s position, so they come again in order';
      this.log.info({ consumer: this.spec.name, consumerAt: floor, deliveredTo: delivered, cacheAt: applied, filter: info.config.filter_subject }, why);
      await jsm.consumers.delete(this.spec.stream, this.spec.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
    }
    await jsm.consumers.add(this.spec.stream, cfg);
    this.stats.recreated++;
  }

  private startInfo(nc: NatsConnection): void {
    this.stopInfo();
    this.infoTimer = setInterval(() => {
      void jetstreamManager(nc)
        .then((jsm) => jsm.consumers.info(this.spec.stream, this.spec.name))
        .then(
          (info) => (this.stats.pending = info.num_pending + info.num_ack_pending),
          () => undefined,
        );
    }, 5_000);
    this.infoTimer.unref();
  }

  private stopInfo(): void {
    if (this.infoTimer) clearInterval(this.infoTimer);
    this.infoTimer = null;
  }

  /** Stop taking messages; waits for the message being applied (its ack is sent). */
  async close(): Promise<void> {
    this.running = false;
    this.session++;
    this.stop();
    for (const u of this.unsubs.splice(0)) u();
    const it = this.iter;
    if (it !== null) await it.close().catch(() => undefined);
    // A message being applied finishes (its ack is sent); a request stuck on a dead link does not hold the
    // shutdown (the session sees it is over and stops).
    await Promise.race([this.current.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.stopInfo();
    this.stats.connected = false;
  }
}
