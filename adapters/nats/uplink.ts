/**
 * The uplink: one NATS connection and what runs on it (forwarder, status sync, peer sync, queries), started
 * and stopped together. Start order: link (background, retried for ever), forwarder, consumers, queries.
 * Stop order: queries and consumers (they stop changing the cache), then the forwarder drains what it can
 * within the budget, then the connection closes.
 */
import type { Logger } from 'pino';
import type { Cache } from '../../gateway/cache/cache.js';
import type { Config } from '../../gateway/config/index.js';
import type { Outbox } from '../../gateway/outbox/outbox.js';
import type { Store } from '../../gateway/store.js';
import { Forwarder, type ForwarderStats } from './forwarder.js';
import { NatsLink, type LinkStats } from './link.js';
import { lockUplink } from './lock.js';
import { QueryResponder, type QueryLookups, type QueryStats } from './query.js';
import { querySubject } from './streams.js';
import { PeerSync, StatusSync, type SyncStats } from './sync.js';

export interface UplinkDeps {
  outbox: Outbox;
  cache: Cache;
  store: Store;
  log: Logger;
  /** Lookups for the query responder (serial, container, status). */
  lookups: Omit<QueryLookups, 'status'> & { status?: () => unknown };
}

export interface UplinkStats {
  link: LinkStats;
  forwarder: ForwarderStats;
  status: SyncStats | null;
  peers: SyncStats | null;
  query: QueryStats | null;
}

export class Uplink {
  readonly link: NatsLink;
  readonly forwarder: Forwarder;
  readonly status: StatusSync | null;
  readonly peers: PeerSync | null;
  readonly query: QueryResponder | null;
  private readonly dataDir: string;
  private release: (() => void) | null = null;

  constructor(config: Config, deps: UplinkDeps) {
    const n = config.nats;
    const log = deps.log;
    this.dataDir = config.dataDir;
    this.link = new NatsLink(n, config.gatewayId, log);
    this.forwarder = new Forwarder(
      deps.outbox,
      this.link,
      {
        gatewayId: config.gatewayId,
        site: config.site.id,
        eventsStream: n.eventsStream,
        ensureStreams: n.ensureStreams,
        duplicateWindowMs: n.duplicateWindowMs,
        publishTimeoutMs: n.publishTimeoutMs,
        publishWindow: n.publishWindow,
        retryDelayMs: n.retryDelayMs,
        batchMaxBytes: config.batch.maxBytes,
      },
      log,
    );
    const syncOpts = {
      gatewayId: config.gatewayId,
      site: config.site.id,
      ensureStreams: n.ensureStreams,
      ackWaitMs: n.syncAckWaitMs,
      retryDelayMs: n.retryDelayMs,
      durability: config.outbox.durability,
      writable: { now: () => !deps.outbox.diskIsLow, when: () => deps.outbox.whenDiskOk() },
    };
    this.status = n.statusSync ? new StatusSync(this.link, deps.cache, deps.store, { ...syncOpts, stream: n.statusStream }, log.child({ sync: 'status' })) : null;
    this.peers = n.peerSync
      ? new PeerSync(this.link, deps.cache, deps.store, { ...syncOpts, stream: n.eventsStream, duplicateWindowMs: n.duplicateWindowMs }, log.child({ sync: 'peers' }))
      : null;
    this.query = n.query
      ? new QueryResponder(
          this.link,
          querySubject(config.site.id, config.gatewayId),
          { ...deps.lookups, status: deps.lookups.status ?? (() => ({ gatewayId: config.gatewayId, site: config.site.id, outbox: deps.outbox.stats(), uplink: this.stats() })) },
          log,
        )
      : null;
  }

  /** Start everything in the background (an unreachable NATS never blocks). Throws SG_ERR_UPLINK_LOCKED. */
  start(): void {
    this.release ??= lockUplink(this.dataDir, 'daemon');
    this.forwarder.start();
    this.status?.start();
    this.peers?.start();
    this.query?.start();
    this.link.start();
  }

  /** Stop changing the cache and answering, send what can be sent within `budgetMs`, close the connection. */
  async drain(budgetMs: number): Promise<void> {
    const t0 = Date.now();
    this.query?.close();
    await Promise.all([this.status?.close(), this.peers?.close()]);
    await this.forwarder.drain(Math.max(0, budgetMs - (Date.now() - t0)));
    await this.link.close();
    this.release?.();
    this.release = null;
  }

  /** Stop at once (nothing is lost: unsent batches stay in the outbox). */
  async close(): Promise<void> {
    this.query?.close();
    await Promise.all([this.status?.close(), this.peers?.close(), this.forwarder.close()]);
    await this.link.close();
    this.release?.();
    this.release = null;
  }

  stats(): UplinkStats {
    return {
      link: { ...this.link.stats },
      forwarder: { ...this.forwarder.stats, failuresByKind: { ...this.forwarder.stats.failuresByKind } },
      status: this.status?.stats() ?? null,
      peers: this.peers?.stats() ?? null,
      query: this.query ? { ...this.query.stats } : null,
    };
  }
}
