/**
 * The durable outbox. Every event is appended to the journal in the same LMDB write transaction as the
 * cache change it records (lmdb-js batches all async writes of one event turn into one transaction), so a
 * transition and its event are stored together or not at all. Events are then grouped into batches: a
 * batch is sealed by writing a small marker {first, last, createdMs} once it holds batch.maxEvents events,
 * batch.maxBytes bytes, or its first event is batch.maxDelayMs old. The bytes published for a batch are
 * rebuilt from the journal range and the marker, so every retry of a batch carries identical bytes.
 * A batch is deleted (marker and journal range together) only when JetStream acknowledges it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { BatchMarker, Store } from '../store.js';
import { encodeBatch, type EventKind } from './encode.js';

export interface OutboxOptions {
  gatewayId: string;
  site: string;
  maxEvents: number;
  maxBytes: number;
  maxDelayMs: number;
  /** Upper bound of journal bytes (unsent events). */
  outboxMaxBytes: number;
  /** 'sync': durable promises resolve after the commit is flushed to disk; 'commit': after the commit. */
  durability: 'sync' | 'commit';
}

export interface OutboxStats {
  events: number;
  bytes: number;
  sealedBatches: number;
  openEvents: number;
  oldestEventSeq: number | null;
  nextEventSeq: number;
  nextBatchSeq: number;
  full: boolean;
}

export interface SealedBatch {
  seq: number;
  marker: BatchMarker;
}

const HEADER = 1; // kind byte before the protobuf bytes in a journal value

export class Outbox {
  readonly epoch: string;
  private readonly store: Store;
  private readonly opts: OutboxOptions;
  private readonly log: Logger;
  private nextEventSeq = 1;
  private nextBatchSeq = 1;
  private bytes = 0;
  private events = 0;
  private sealed = 0;
  /** The open (unsealed) batch: first event seq, count, bytes, time of first event. */
  private openFirst = 0;
  private openCount = 0;
  private openBytes = 0;
  private openSince = 0;
  private timer: NodeJS.Timeout | null = null;
  private metaScheduled = false;
  private closed = false;
  private readonly sealedListeners = new Set<() => void>();
  private spaceWaiters: (() => void)[] = [];

  constructor(store: Store, opts: OutboxOptions, log: Logger) {
    this.store = store;
    this.opts = opts;
    this.log = log;
    const meta = store.meta;
    let epoch = meta.get('epoch') as string | undefined;
    if (epoch === undefined) {
      epoch = randomBytes(4).toString('hex');
      meta.putSync('epoch', epoch);
    }
    this.epoch = epoch;
    this.recover();
  }

  /** Rebuild counters from disk; events past the last sealed batch form the open batch again. */
  private recover(): void {
    const { journal, batches, meta } = this.store;
    let lastSealed = 0;
    for (const { key, value } of batches.getRange()) {
      this.sealed++;
      lastSealed = Math.max(lastSealed, value.last);
      this.nextBatchSeq = Math.max(this.nextBatchSeq, key + 1);
    }
    this.nextBatchSeq = Math.max(this.nextBatchSeq, ((meta.get('batchSeq') as number | undefined) ?? 0) + 1);
    let last = 0;
    for (const { key, value } of journal.getRange()) {
      this.events++;
      this.bytes += value.length;
      last = key;
      if (key > lastSealed) {
        if (this.openCount === 0) this.openFirst = key;
        this.openCount++;
        this.openBytes += value.length;
      }
    }
    this.nextEventSeq = Math.max(last, (meta.get('eventSeq') as number | undefined) ?? 0) + 1;
    if (this.openCount > 0) {
      this.openSince = Date.now();
      this.log.info({ events: this.openCount }, 'recovered unsealed events; sealing them into a batch');
      this.seal();
    }
    if (this.events > 0) this.log.info({ events: this.events, bytes: this.bytes, batches: this.sealed }, 'outbox recovered from disk');
  }

  /** True when the journal has reached outbox.maxBytes: reads must not be acknowledged. */
  get full(): boolean {
    return this.bytes >= this.opts.outboxMaxBytes;
  }

  /** The stable id of the event with this seq. */
  eventId(seq: number): string {
    return `${this.opts.gatewayId}:${this.epoch}:${seq}`;
  }

  /** Reserve the next event seq (to put its id into the event before encoding). */
  reserveSeq(): number {
    return this.nextEventSeq++;
  }

  /**
   * Append an encoded event. Must be called in the same event turn as the cache writes it belongs with.
   * Returns a promise that resolves when the event is durable (per outbox.durability).
   */
  append(seq: number, kind: EventKind, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new GatewayError('SG_ERR_CLOSED', 'outbox is closed'));
    const value = Buffer.allocUnsafe(bytes.length + HEADER);
    value[0] = kind;
    value.set(bytes, HEADER);
    const written = this.store.journal.put(seq, value);
    this.events++;
    this.bytes += value.length;
    if (!this.metaScheduled) {
      // One meta write per event turn keeps the seq high-water mark durable even after every event is sent.
      this.metaScheduled = true;
      queueMicrotask(() => {
        this.metaScheduled = false;
        void this.store.meta.put('eventSeq', this.nextEventSeq - 1);
      });
    }
    if (this.openCount === 0) {
      this.openFirst = seq;
      this.openSince = Date.now();
      this.timer = setTimeout(() => this.seal(), this.opts.maxDelayMs);
    }
    this.openCount++;
    this.openBytes += value.length;
    if (this.openCount >= this.opts.maxEvents || this.openBytes >= this.opts.maxBytes) this.seal();
    return this.durable(written);
  }

  private durable(written: Promise<boolean>): Promise<void> {
    if (this.opts.durability === 'commit') return written.then(() => undefined);
    return written.then(() => this.store.root.flushed).then(() => undefined);
  }

  /** Seal the open batch now (size, age, shutdown). */
  seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.openCount === 0) return;
    const seq = this.nextBatchSeq++;
    const marker: BatchMarker = {
      first: this.openFirst,
      last: this.openFirst + this.openCount - 1,
      createdMs: Date.now(),
      count: this.openCount,
      bytes: this.openBytes,
    };
    void this.store.batches.put(seq, marker);
    void this.store.meta.put('batchSeq', seq);
    this.sealed++;
    this.openCount = 0;
    this.openBytes = 0;
    for (const l of this.sealedListeners) l();
  }

  /** Be told when a batch is sealed. */
  onSealed(listener: () => void): () => void {
    this.sealedListeners.add(listener);
    return () => this.sealedListeners.delete(listener);
  }

  /** Sealed batches in order, starting after `afterSeq`. Only committed markers are visible. */
  *sealedBatches(afterSeq = 0, limit = Infinity): Generator<SealedBatch> {
    let n = 0;
    for (const { key, value } of this.store.batches.getRange({ start: afterSeq + 1 })) {
      if (n++ >= limit) return;
      yield { seq: key, marker: value };
    }
  }

  /** The exact bytes to publish for a sealed batch: an EventBatch rebuilt from the journal. */
  batchBytes(b: SealedBatch): Uint8Array {
    const parts: Buffer[] = [];
    for (const { value } of this.store.journal.getRange({ start: b.marker.first, end: b.marker.last + 1 })) parts.push(value);
    if (parts.length !== b.marker.count) {
      throw new GatewayError('SG_ERR_STORE', `batch ${b.seq}: journal holds ${parts.length} of its ${b.marker.count} events`);
    }
    return encodeBatch(this.opts.gatewayId, this.opts.site, b.seq, b.marker.createdMs, parts);
  }

  /** The batch is stored at central: delete it and its events in one transaction. */
  async ack(b: SealedBatch): Promise<void> {
    const { journal, batches } = this.store;
    let freed = 0;
    await this.store.root.transaction(() => {
      for (const { key, value } of journal.getRange({ start: b.marker.first, end: b.marker.last + 1 })) {
        freed += value.length;
        void journal.remove(key);
      }
      void batches.remove(b.seq);
    });
    this.events -= b.marker.count;
    this.bytes -= freed;
    this.sealed--;
    if (!this.full && this.spaceWaiters.length > 0) {
      const waiters = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of waiters) w();
    }
  }

  stats(): OutboxStats {
    let oldest: number | null = null;
    if (!this.closed) for (const key of this.store.journal.getKeys({ limit: 1 })) oldest = key;
    return {
      events: this.events,
      bytes: this.bytes,
      sealedBatches: this.sealed,
      openEvents: this.openCount,
      oldestEventSeq: oldest,
      nextEventSeq: this.nextEventSeq,
      nextBatchSeq: this.nextBatchSeq,
      full: this.full,
    };
  }

  /** Resolves when every write issued so far is committed (and so visible to reads). */
  async committed(): Promise<void> {
    await this.store.root.committed;
  }

  /** Resolves when the outbox has room again (after acknowledged batches are deleted). */
  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Seal what is open and wait until every write so far is durable. */
  async flush(): Promise<void> {
    this.seal();
    await this.store.root.committed;
    await this.store.root.flushed;
  }

  /** Stop taking events (after flush). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
  }
}
