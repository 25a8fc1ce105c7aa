/**
 * The two consumers that keep the cache in step with the world: central's status stream (durable consumer
 * `scangate-{gatewayId}` on `scangate.v1.status.{site}`) and, when peer sync is on, the site's other gateways'
 * event batches (durable consumer `scangate-{gatewayId}-peers` on `scangate.v1.events.{site}.*`). Decoding
 * and ordering live here; what a message does to the cache lives in gateway/sync (no sockets there).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Cache } from '../../gateway/cache/cache.js';
import { GatewayError } from '../../gateway/errors.js';
import { LogLimit } from '../../gateway/log-limit.js';
import type { Store } from '../../gateway/store.js';
import {
  META_PEER_SEQ,
  META_STATUS_SEQ,
  addCounts,
  appliedSeq,
  applyPeerBatch,
  applyStatusBatch,
  emptyCounts,
  type ApplyCounts,
  type ApplyResult,
} from '../../gateway/sync/index.js';
import { decodeEventBatch, decodeStatusUpdateBatch } from '../../protocol/index.js';
import { DurableApplier, type ConsumerStats } from './consumer.js';
import type { NatsLink } from './link.js';
import { ensureEventsStream, ensureStatusStream, eventsSubject, siteEventsSubject, statusSubject } from './streams.js';

export interface SyncOptions {
  gatewayId: string;
  site: string;
  ensureStreams: boolean;
  ackWaitMs: number;
  retryDelayMs: number;
  durability: 'sync' | 'commit';
  /** Whether the store may be written now, and when it may again (disk-guard.ts); messages wait for it. */
  writable?: { now: () => boolean; when: () => Promise<void> };
}

export interface SyncStats extends ConsumerStats {
  /** What the applied messages did to the cache. */
  effects: ApplyCounts;
  lagMessages: number;
  lagSeconds: number;
}

abstract class CacheSync {
  protected readonly cache: Cache;
  protected readonly store: Store;
  protected readonly opts: SyncOptions;
  protected readonly log: Logger;
  protected consumer!: DurableApplier;
  readonly effects: ApplyCounts = emptyCounts();

  constructor(cache: Cache, store: Store, opts: SyncOptions, log: Logger) {
    this.cache = cache;
    this.store = store;
    this.opts = opts;
    this.log = log;
  }

  /** Refused entries, other sites' messages, clocks ahead: each one line per 10 s, the rest counted in it. */
  private readonly logs = { invalid: new LogLimit(), otherSite: new LogLimit(), clock: new LogLimit() };

  /** Log what a message held that was not applied as given (SG_ERR_STATUS_SYNC). */
  protected report(seq: number, r: ApplyResult, entries: number): void {
    let extra: Record<string, number> | null;
    if (r.invalid > 0 && (extra = this.logs.invalid.take()) !== null) {
      this.log.warn(
        { code: 'SG_ERR_STATUS_SYNC', seq, refused: r.invalid, of: entries, problems: r.problems, ...extra },
        'entries refused as not valid (nothing of them written but the hold/recall flags named; the rest of the message applied): fix them at the source and send them again',
      );
    }
    if (r.otherSite !== null && (extra = this.logs.otherSite.take()) !== null) {
      this.log.warn({ code: 'SG_ERR_STATUS_SYNC', seq, site: r.otherSite, ...extra }, `a message for site ${r.otherSite} on this site's subject was ignored (this gateway is site ${this.opts.site})`);
    }
    if (r.clockAheadMs > 0 && (extra = this.logs.clock.take()) !== null) {
      this.log.warn(
        { code: 'SG_ERR_STATUS_SYNC', seq, aheadMinutes: Math.round(r.clockAheadMs / 60_000), ...extra },
        "updated_ms more than an hour ahead of this gateway's clock, taken as now: the clocks of central and this gateway disagree (NTP)",
      );
    }
  }

  /** Wait until the writes of one message are committed (and flushed with durability sync). */
  protected async settle(r: ApplyResult): Promise<void> {
    addCounts(this.effects, r);
    try {
      await r.written;
      if (this.opts.durability === 'sync') await this.store.root.flushed;
    } catch (err) {
      throw new GatewayError('SG_ERR_STORE', `cache update could not be stored: ${(err as Error).message}`, { cause: err });
    }
  }

  start(): void {
    this.consumer.start();
  }

  close(): Promise<void> {
    return this.consumer.close();
  }

  stats(): SyncStats {
    return { ...this.consumer.stats, effects: { ...this.effects }, lagMessages: this.consumer.stats.pending, lagSeconds: this.consumer.lagSeconds() };
  }
}

/** Central -> gateway: StatusUpdateBatch messages applied to the cache exactly once, in stream order. */
export class StatusSync extends CacheSync {
  constructor(link: NatsLink, cache: Cache, store: Store, opts: SyncOptions & { stream: string }, log: Logger) {
    super(cache, store, opts, log);
    const subject = statusSubject(opts.site);
    this.consumer = new DurableApplier(
      link,
      {
        stream: opts.stream,
        name: `scangate-${opts.gatewayId}`,
        filter: subject,
        fromStart: true, // a new gateway bootstraps its cache by replaying the whole stream
        ackWaitMs: opts.ackWaitMs,
        retryDelayMs: opts.retryDelayMs,
        ...(opts.writable !== undefined ? { writable: opts.writable } : {}),
        ensureStream: (nc: NatsConnection) => ensureStatusStream(nc, opts.stream, subject, opts.ensureStreams),
      },
      () => appliedSeq(store, META_STATUS_SEQ),
      (m) => this.applyMsg(m),
      log,
    );
  }

  private async applyMsg(m: JsMsg): Promise<void> {
    let batch;
    try {
      batch = decodeStatusUpdateBatch(m.data);
    } catch (err) {
      throw new GatewayError('SG_ERR_STATUS_SYNC', `status message ${m.seq} is not a StatusUpdateBatch: ${(err as Error).message}`, { cause: err });
    }
    const r = applyStatusBatch(this.cache, this.store, batch, m.seq, this.opts.site);
    this.report(m.seq, r, batch.updates.length + batch.lots.length);
    await this.settle(r);
  }
}

/** Peer gateways -> this gateway: their accepted transitions, applied exactly once; our own batches skipped. */
export class PeerSync extends CacheSync {
  private readonly ownSubject: string;
  /** Our own batches are skipped without a write; redeliveries of them are recognised in memory. */
  private skippedThrough = 0;

  constructor(link: NatsLink, cache: Cache, store: Store, opts: SyncOptions & { stream: string; duplicateWindowMs: number }, log: Logger) {
    super(cache, store, opts, log);
    this.ownSubject = eventsSubject(opts.site, opts.gatewayId);
    this.consumer = new DurableApplier(
      link,
      {
        stream: opts.stream,
        name: `scangate-${opts.gatewayId}-peers`,
        filter: siteEventsSubject(opts.site),
        fromStart: false, // the cache was bootstrapped from the status stream; peers' news start now
        ackWaitMs: opts.ackWaitMs,
        retryDelayMs: opts.retryDelayMs,
        ...(opts.writable !== undefined ? { writable: opts.writable } : {}),
        ensureStream: (nc: NatsConnection) => ensureEventsStream(nc, opts.stream, opts.duplicateWindowMs, this.ownSubject, opts.ensureStreams),
      },
      () => Math.max(this.skippedThrough, appliedSeq(store, META_PEER_SEQ)),
      (m) => this.applyMsg(m),
      log,
    );
  }

  private async applyMsg(m: JsMsg): Promise<void> {
    if (m.subject === this.ownSubject) {
      this.skippedThrough = m.seq;
      this.effects.ignored++;
      return;
    }
    let batch;
    try {
      batch = decodeEventBatch(m.data);
    } catch (err) {
      throw new GatewayError('SG_ERR_STATUS_SYNC', `peer message ${m.seq} on ${m.subject} is not an EventBatch: ${(err as Error).message}`, { cause: err });
    }
    const r = applyPeerBatch(this.cache, this.store, batch, m.seq, this.opts.site, this.opts.gatewayId);
    this.report(m.seq, r, batch.events.length + batch.aggregations.length);
    if (r.conflicts > 0) {
      this.log.warn(
        { peer: batch.gatewayId, batch: batch.batchSeq, serials: r.conflictKeys.slice(0, 10), count: r.conflicts },
        'a peer gateway accepted the same transition this gateway accepted (double decision); central must resolve it',
      );
    }
    await this.settle(r);
  }
}
