/**
 * Forwards sealed batches from the outbox to JetStream: in order, exactly once, with a window of outstanding
 * publishes. Each batch goes out with `Nats-Msg-Id: {gatewayId}.{batchSeq}`, identical bytes on every retry,
 * and a fence that keeps the stream in batch order (window.ts explains the rules); it is deleted from the
 * outbox only once JetStream has stored it. On every (re)connection the forwarder first reads the last batch
 * of its subject from the stream (resync), so a batch stored before a crash or a long outage is recognised
 * even after the server's duplicate window has passed, and never stored twice.
 * A full stream (discard new, error 10077) holds the batches in the outbox, raises an alarm and retries.
 */
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { GatewayError, describeError } from '../../gateway/errors.js';
import { LatencyHistogram } from '../../gateway/latency.js';
import type { Outbox, SealedBatch } from '../../gateway/outbox/outbox.js';
import { decodeEventBatch } from '../../protocol/index.js';
import type { NatsLink } from './link.js';
import { EPOCH_HEADER, ensureEventsStream, eventsSubject } from './streams.js';
import { OrderedWindow, type Failure, type FailureKind, type Slot } from './window.js';

export interface ForwarderOptions {
  gatewayId: string;
  site: string;
  eventsStream: string;
  ensureStreams: boolean;
  duplicateWindowMs: number;
  publishTimeoutMs: number;
  publishWindow: number;
  retryDelayMs: number;
  /** batch.maxBytes, to warn when the server's max_payload is smaller. */
  batchMaxBytes?: number;
}

export interface ForwarderStats {
  connected: boolean;
  /** Batches stored at central (acknowledged, including `duplicate` answers and batches found by a resync). */
  published: number;
  /** Events and bytes of those batches. */
  events: number;
  bytes: number;
  /** PubAcks that said `duplicate` (a retry of a batch the server already had). */
  duplicates: number;
  /** Publishes that failed (each is retried), in total and by kind. */
  failures: number;
  failuresByKind: Record<FailureKind, number>;
  /** Publishes outstanding now, and the current window (it shrinks when other gateways interleave). */
  inFlight: number;
  window: number;
  /** Resyncs from the stream, and batches they found already stored (deleted without sending). */
  resyncs: number;
  resyncStored: number;
  /** Alarm: the events stream refuses new messages (10077); batches wait in the outbox. */
  streamFull: boolean;
  streamFullSinceMs: number | null;
  streamFullRejects: number;
  /** Times another publisher was found on our subject (SG_ERR_NATS_SUBJECT_CONFLICT). */
  subjectConflicts: number;
  /** Published number of the last batch stored, and when (ms since the epoch). */
  lastBatchSeq: number;
  lastAckMs: number | null;
  lastError: string | null;
  /** From a batch sealed in the outbox to its PubAck (ms; one observation per batch, outages included). */
  readonly batchDelay: LatencyHistogram;
}

const FAILURE_KINDS: FailureKind[] = ['fence-subject', 'fence-msgid', 'stream-full', 'timeout', 'unavailable', 'error'];
/** JetStream error codes (nats-server errors.json) beyond JetStreamApiCodes. */
const ERR_WRONG_LAST_MSG_ID = 10070;
const ERR_STORE_FAILED = 10077; // "maximum bytes/messages exceeded" with discard new
const ERR_INSUFFICIENT_RESOURCES = 10023;
const ERR_ACCOUNT_RESOURCES = 10047;
/** Longest stretch of batch building before the forwarder lets other work (reads) run, in ms. */
const YIELD_AFTER_MS = 3;

/** created_ms of an EventBatch, or null when the bytes are not one. */
function createdMsOf(data: Uint8Array): number | null {
  try {
    return decodeEventBatch(data).createdMs;
  } catch {
    return null;
  }
}

/** Map a publish error to what the forwarder does about it. */
export function classify(err: unknown): FailureKind {
  if (err instanceof JetStreamApiError) {
    if (err.code === 10071 || err.code === 10164) return 'fence-subject';
    if (err.code === ERR_WRONG_LAST_MSG_ID) return 'fence-msgid';
    if (err.code === ERR_STORE_FAILED || err.code === ERR_INSUFFICIENT_RESOURCES || err.code === ERR_ACCOUNT_RESOURCES) return 'stream-full';
    if (err.code === 10059) return 'unavailable';
    return 'error';
  }
  const name = (err as Error | undefined)?.name ?? '';
  const msg = (err as Error | undefined)?.message ?? '';
  if (name === 'TimeoutError' || /timeout/i.test(msg)) return 'timeout';
  if (/no responders|not enabled|closed|disconnect/i.test(`${name} ${msg}`)) return 'unavailable';
  return 'error';
}

export class Forwarder {
  private readonly outbox: Outbox;
  private readonly link: NatsLink;
  private readonly opts: ForwarderOptions;
  private readonly log: Logger;
  readonly subject: string;
  private readonly window: OrderedWindow;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private nc: NatsConnection | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeFn: (() => void) | null = null;
  private woken = false;
  private readonly unsubs: (() => void)[] = [];
  readonly stats: ForwarderStats;

  constructor(outbox: Outbox, link: NatsLink, opts: ForwarderOptions, log: Logger) {
    this.outbox = outbox;
    this.link = link;
    this.opts = opts;
    this.log = log;
    this.subject = eventsSubject(opts.site, opts.gatewayId);
    this.window = new OrderedWindow(opts.publishWindow);
    this.stats = {
      connected: false,
      published: 0,
      events: 0,
      bytes: 0,
      duplicates: 0,
      failures: 0,
      failuresByKind: Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>,
      inFlight: 0,
      window: this.window.cwnd,
      resyncs: 0,
      resyncStored: 0,
      streamFull: false,
      streamFullSinceMs: null,
      streamFullRejects: 0,
      subjectConflicts: 0,
      lastBatchSeq: 0,
      lastAckMs: null,
      lastError: null,
      batchDelay: new LatencyHistogram(),
    };
  }

  /** Start in the background; resolves at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubs.push(
      this.outbox.onSealed(() => this.wake()),
      this.link.onUp((nc) => {
        this.nc = nc;
        this.js = jetstream(nc, { timeout: this.opts.publishTimeoutMs });
        this.jsm = null;
        this.window.reset(); // resync first: what happened while we were away is read from the stream
        this.stats.connected = true;
        this.checkMaxPayload(nc);
        this.wake();
      }),
      this.link.onDown(() => {
        this.window.reset();
        this.stats.connected = false;
        this.stats.inFlight = 0;
        this.wake();
      }),
    );
    this.loopDone = this.loop();
  }

  private wake(): void {
    this.woken = true;
    const w = this.wakeFn;
    this.wakeFn = null;
    w?.();
  }

  /** Wait for an event (a result, a sealed batch, the link) or `ms`. */
  private waitEvent(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeFn = null;
        resolve();
      }, ms);
      this.wakeFn = () => {
        clearTimeout(t);
        this.woken = false;
        resolve();
      };
    });
  }

  /** Sleep that only a stop interrupts (holding after a failure must not spin on every sealed batch). */
  private hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopWaiters.delete(done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.stopWaiters.add(done);
    });
  }
  private readonly stopWaiters = new Set<() => void>();

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        // Nothing here may stop the uplink for good (a batch that cannot be rebuilt is logged and retried).
        const msg = describeError(err);
        if (this.stats.lastError !== msg) this.log.error({ code: 'SG_ERR_PUBLISH', err: msg }, 'forwarder step failed; retrying');
        this.stats.lastError = msg;
        this.window.reset();
        await this.hold(this.opts.retryDelayMs);
      }
    }
  }

  /** One turn of the forwarder: resync, restart a failed round, or send what the window allows. */
  private async step(): Promise<void> {
    if (this.js === null || !this.link.stats.connected) {
      await this.waitEvent(1000);
      return;
    }
    if (this.window.base === null) {
      if (!(await this.resync())) await this.hold(this.opts.retryDelayMs);
      return;
    }
    if (this.window.failure !== null) {
      const f = this.window.restart()!;
      const delay = this.onRoundFailed(f);
      if (delay > 0) await this.hold(delay);
      return;
    }
    const room = this.window.room();
    let yielded = false;
    if (room > 0) {
      const t0 = performance.now();
      for (const b of this.outbox.sealedBatches(this.window.lastIssued, room)) {
        if (b.seq !== this.window.lastIssued + 1) {
          // A gap cannot happen (batches are dense and deleted in order); if the table says otherwise, resync.
          this.log.error({ expected: this.window.lastIssued + 1, found: b.seq }, 'outbox batches are not contiguous; resyncing');
          this.window.reset();
          break;
        }
        this.issue(b);
        // Building a batch reads its events from LMDB (~0.5 ms per 500): give reads a turn every few ms so a
        // backlog drain never delays a decision by more than that.
        if (performance.now() - t0 > YIELD_AFTER_MS) {
          yielded = true;
          break;
        }
      }
    }
    this.stats.inFlight = this.window.outstanding;
    this.stats.window = this.window.cwnd;
    if (yielded) await new Promise((r) => setImmediate(r));
    else await this.waitEvent(1000);

  }

  private issue(b: SealedBatch): void {
    const js = this.js!;
    let bytes: Uint8Array;
    try {
      bytes = this.outbox.batchBytes(b);
    } catch (err) {
      this.log.error({ code: 'SG_ERR_STORE', batch: b.seq, err: describeError(err) }, 'cannot rebuild a batch from the outbox');
      throw err;
    }
    const pub = this.outbox.publishedSeq(b.seq);
    const msgId = `${this.opts.gatewayId}.${pub}`;
    const slot = this.window.issue(b.seq, msgId, b.marker.count, bytes.length, b.marker.createdMs);
    const h = headers();
    h.set(EPOCH_HEADER, this.outbox.epoch);
    js.publish(this.subject, bytes, { msgID: msgId, expect: slot.fence, timeout: this.opts.publishTimeoutMs, headers: h }).then(
      (ack) => this.onAck(slot, ack, pub),
      (err: unknown) => this.onFail(slot, err),
    );
  }

  private onAck(slot: Slot, ack: PubAck, pub: number): void {
    const done = this.window.acked(slot, ack.seq);
    if (done.length === 0) return;
    if (ack.duplicate) this.stats.duplicates++;
    const now = Date.now();
    for (const s of done) {
      if (s.sealedMs > 0) this.stats.batchDelay.observe(Math.max(0, now - s.sealedMs));
      this.stats.published++;
      this.stats.events += s.events;
      this.stats.bytes += s.bytes;
    }
    this.stats.lastBatchSeq = pub;
    this.stats.lastAckMs = now;
    this.stats.lastError = null;
    if (this.stats.streamFull) {
      this.log.info({ heldMs: Date.now() - (this.stats.streamFullSinceMs ?? Date.now()) }, 'events stream takes batches again');
      this.stats.streamFull = false;
      this.stats.streamFullSinceMs = null;
    }
    this.outbox.ackThrough(slot.local);
    this.wake();
  }

  private onFail(slot: Slot, err: unknown): void {
    const kind = classify(err);
    if (!this.window.failed(slot, kind, describeError(err))) return;
    this.stats.failures++;
    this.stats.failuresByKind[kind]++;
    this.wake();
  }

  /** After the round that failed: alarms and logs; returns how long to hold before sending again. */
  private onRoundFailed(f: Failure): number {
    const batch = this.outbox.publishedSeq(f.slot.local);
    const msg = `publish of batch ${batch} failed (${f.kind}): ${f.message}`;
    const changed = this.stats.lastError !== msg.replace(/batch \d+/, 'batch');
    this.stats.lastError = msg.replace(/batch \d+/, 'batch');
    switch (f.kind) {
      case 'stream-full':
        this.stats.streamFullRejects++;
        if (!this.stats.streamFull) {
          this.stats.streamFull = true;
          this.stats.streamFullSinceMs = Date.now();
          this.log.warn(
            { code: 'SG_ERR_STREAM_FULL', stream: this.opts.eventsStream, batch, hint: 'central must consume and free the stream, or raise its limits; events wait in the outbox' },
            `events stream ${this.opts.eventsStream} is full: batches are held in the outbox and retried`,
          );
        }
        return this.opts.retryDelayMs;
      case 'fence-subject':
        // Our subject moved: a batch we retried was stored long ago (past the duplicate window), or another
        // publisher uses our gatewayId. The next resync tells which.
        if (changed) this.log.info({ batch }, 'subject fence refused a batch; resyncing from the stream');
        return 0;
      case 'fence-msgid':
      case 'timeout':
        if (changed) this.log.info({ code: 'SG_ERR_PUBLISH', batch, kind: f.kind, window: this.window.cwnd }, `${msg}; re-sending from the first unacknowledged batch`);
        return 0;
      default:
        if (changed) this.log.warn({ code: 'SG_ERR_PUBLISH', batch }, `${msg}; retrying`);
        return this.opts.retryDelayMs;
    }
  }

  /**
   * Read where the stream stands for our subject and set the window's base: batches found stored are
   * deleted from the outbox; another incarnation's batches move our numbering above theirs. True on success.
   */
  private async resync(): Promise<boolean> {
    const nc = this.nc;
    if (nc === null) return false;
    const round = this.window.round;
    try {
      await ensureEventsStream(nc, this.opts.eventsStream, this.opts.duplicateWindowMs, this.subject, this.opts.ensureStreams);
      this.jsm ??= await jetstreamManager(nc, { timeout: this.opts.publishTimeoutMs });
      const last = await this.jsm.streams.getMessage(this.opts.eventsStream, { last_by_subj: this.subject });
      // Every batch numbered below this is committed once committed() returns, so it is read below if not yet
      // stored. A batch sealed while we wait numbers from here on and is sent after: its marker may not be
      // readable yet, and the in-memory counter (already past it) would skip it, for good (the next batch's
      // PubAck deletes everything through it).
      const sealedBefore = this.outbox.stats().nextBatchSeq;
      await this.outbox.committed(); // markers of batches sealed before now are readable
      if (round !== this.window.round || !this.link.stats.connected) return true; // the link changed meanwhile: resync again at once
      this.stats.resyncs++;
      const first = this.outbox.firstSealed();
      const nextLocal = first?.seq ?? sealedBefore;
      if (last === null) {
        this.window.base = { local: nextLocal - 1, streamSeq: 0 };
        return true;
      }
      const id = last.header?.get('Nats-Msg-Id') ?? '';
      const epoch = last.header?.get(EPOCH_HEADER) ?? '';
      const m = new RegExp(`^${this.opts.gatewayId.replace(/[-]/g, '\\-')}\\.(\\d+)$`).exec(id);
      const pub = m ? Number(m[1]) : null;
      const local = pub === null ? null : this.outbox.localSeq(pub);
      let ours = false;
      if (local !== null && local >= 1 && local < this.outbox.stats().nextBatchSeq) {
        let held: SealedBatch | undefined;
        if (first !== undefined && local >= first.seq) for (const b of this.outbox.sealedBatches(local - 1, 1)) if (b.seq === local) held = b;
        // A batch we still hold must be the very one stored (same creation time, whatever the headers say);
        // one we deleted already is ours when it carries our epoch.
        ours = held !== undefined ? createdMsOf(last.data) === held.marker.createdMs : epoch === this.outbox.epoch;
      }
      if (ours) {
        const { batches } = this.outbox.ackThrough(local!);
        if (batches > 0) {
          this.stats.resyncStored += batches;
          this.stats.published += batches;
          this.log.info({ batches, through: pub }, 'batches found stored at central by the resync; deleted from the outbox without sending');
        }
        this.window.base = { local: Math.max(local!, nextLocal - 1), streamSeq: last.seq };
        return true;
      }
      this.stats.subjectConflicts++;
      const err = new GatewayError(
        'SG_ERR_NATS_SUBJECT_CONFLICT',
        `the last batch on ${this.subject} (${id || 'no message id'}, epoch ${epoch || 'unknown'}) was not published from this data directory (epoch ${this.outbox.epoch})`,
        { hint: 'gatewayId must be unique per gateway; after replacing a data directory this is expected once' },
      );
      this.log.warn({ code: err.code, hint: err.hint }, err.message);
      if (pub !== null) this.outbox.raisePublishedFloor(pub);
      const after = this.outbox.firstSealed()?.seq ?? sealedBefore;
      this.window.base = { local: after - 1, streamSeq: last.seq };
      return true;
    } catch (err) {
      const msg = describeError(err);
      if (this.stats.lastError !== msg) this.log.warn({ code: err instanceof GatewayError ? err.code : 'SG_ERR_PUBLISH' }, `resync with ${this.opts.eventsStream} failed: ${msg}`);
      this.stats.lastError = msg;
      return false;
    }
  }

  private checkMaxPayload(nc: NatsConnection): void {
    const max = nc.info?.max_payload;
    const want = this.opts.batchMaxBytes;
    if (max !== undefined && want !== undefined && want + 8192 > max) {
      this.log.warn({ maxPayload: max, batchMaxBytes: want }, 'the server\'s max_payload is below batch.maxBytes: large batches will be refused; lower batch.maxBytes');
    }
  }

  /** True when nothing is waiting to be sent (no sealed batch). */
  idle(): boolean {
    return this.outbox.stats().sealedBatches === 0;
  }

  /**
   * Keep sending for at most `budgetMs` or until no sealed batch is left, then stop. What is not sent stays
   * in the outbox and is sent after the next start.
   */
  async drain(budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    while (this.running && this.link.stats.connected && !this.idle() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.running = false;
    for (const u of this.unsubs.splice(0)) u();
    for (const w of this.stopWaiters) w();
    this.stopWaiters.clear();
    this.wake();
    // A resync stuck on a dead link must not hold the shutdown: the loop ends by itself once it returns.
    await Promise.race([this.loopDone, new Promise((r) => setTimeout(r, 1000).unref())]);
    this.js = null;
    this.stats.connected = false;
  }
}
