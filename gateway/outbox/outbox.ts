/**
 * The durable outbox. Every event is appended to the journal in the same LMDB write transaction as the
 * cache change it records (both go through the store's write queue in one synchronous call, and a group of
 * queued writes is one transaction), so a transition and its event are stored together or not at all. The
 * events of one write group are stored as one journal block (block.ts): one put per group, not per event. Events are then grouped into batches: a
 * batch is sealed by writing a small marker {first, last, createdMs} once it holds batch.maxEvents events,
 * batch.maxBytes bytes, or its first event is batch.maxDelayMs old. The bytes published for a batch are
 * rebuilt from the journal range and the marker, so every retry of a batch carries identical bytes.
 * A batch is deleted (marker and journal range together) only when JetStream acknowledges it.
 *
 * Batch numbers: a batch has a local number (its key in the `batches` table, dense and increasing) and a
 * published number (`batch_seq` and the `Nats-Msg-Id`), which is the local one plus a persisted offset. The
 * offset is 0 unless the uplink found that another incarnation of this gatewayId (a replaced data directory)
 * already used the numbers ahead of ours: then it is raised once so that our ids never collide with theirs in
 * the server's duplicate window (a collision there would be answered `duplicate` and silently lost).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { GatewayError } from '../errors.js';
import type { BatchMarker, Store } from '../store.js';
import { encodeBatchInto, KIND_SCAN, type EventKind } from './encode.js';
import { BLOCK, encodeBlock, eventBytes, eventCount, forEachEvent } from './block.js';

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

/** The outbox's options from the configuration (the daemon and `scangate outbox replay` open it alike). */
export function outboxOptions(config: Config): OutboxOptions {
  return {
    gatewayId: config.gatewayId,
    site: config.site.id,
    maxEvents: config.batch.maxEvents,
    maxBytes: config.batch.maxBytes,
    maxDelayMs: config.batch.maxDelayMs,
    outboxMaxBytes: config.outbox.maxBytes,
    durability: config.outbox.durability,
  };
}

export interface OutboxStats {
  events: number;
  bytes: number;
  sealedBatches: number;
  openEvents: number;
  oldestEventSeq: number | null;
  nextEventSeq: number;
  nextBatchSeq: number;
  /** Published batch number = local batch number + this. */
  batchSeqOffset: number;
  full: boolean;
  /** Times the outbox became full since start (alarm raised). */
  fullEpisodes: number;
  /** ms since the epoch when the current full episode began, null when not full. */
  fullSinceMs: number | null;
  /** The data directory's disk is below outbox.minFreeDiskBytes (disk-guard.ts): reads are held as when full. */
  diskLow: boolean;
  /** Times the disk became low since start, and since when it is (null: not low). */
  diskLowEpisodes: number;
  diskLowSinceMs: number | null;
  /** Batches deleted after a PubAck or a resync, and their events. */
  ackedBatches: number;
  ackedEvents: number;
}

export interface SealedBatch {
  seq: number;
  marker: BatchMarker;
}

const HEADER = 1; // kind byte before the protobuf bytes in a journal value

/**
 * Scan events stored at central are moved from the journal to the `recent` table, newest this many kept: after
 * a restart, a read whose PUBACK was lost (the sender redelivers it) is recognised from there even when its event
 * has already left the outbox (adapters/mqtt/redelivery.ts reads the journal and this table). Only reads in
 * flight at a crash can need it: this covers the in-flight windows of many scanners several times over.
 */
export const RECENT_EVENTS = 20_000;

/** A `recent` value: when central acknowledged the events (ms since the epoch, 8 bytes), then their journal value. */
function recentValue(ackedAtMs: number, journalValue: Buffer): Buffer {
  const n = journalValue.length;
  const v = Buffer.allocUnsafe(8 + n);
  v.writeDoubleBE(ackedAtMs, 0);
  // lmdb-js's getBinaryFast gives a view whose length is set to the value's size over a larger shared buffer:
  // take exactly that many bytes.
  v.set(journalValue.subarray(0, n), 8);
  return v;
}

/** The parts of a `recent` value; null when it is too short to be one. */
export function recentEvent(v: Buffer): { ackedAtMs: number; value: Buffer } | null {
  if (v.length < 9) return null;
  return { ackedAtMs: v.readDoubleBE(0), value: v.subarray(8) };
}

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
  /** The write group the last append went into, and the promise that it is durable. */
  private group: Promise<boolean> | null = null;
  private groupDurable: Promise<void> = Promise.resolve();
  /** Events appended since the event seq high-water mark was last queued. */
  private seqDirty = false;
  /** The block being filled: the first event's seq, the next one's, the events' journal values and bytes. */
  private blockFirst = 0;
  private blockNext = 0;
  private blockValues: Uint8Array[] = [];
  private blockBytes = 0;
  private closed = false;
  private readonly sealedListeners = new Set<() => void>();
  private spaceWaiters: (() => void)[] = [];
  private offset = 0;
  private fullEpisodes = 0;
  private fullSinceMs: number | null = null;
  private diskLow = false;
  private diskLowEpisodes = 0;
  private diskLowSinceMs: number | null = null;
  private diskWaiters: (() => void)[] = [];
  private ackedBatches = 0;
  private ackedEvents = 0;
  /** Highest local batch number deleted; its removal may not be committed yet, so reads skip up to it. */
  private ackedThroughSeq = 0;
  /** Highest event seq in the `recent` table (0: empty). */
  private recentTop = 0;

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
    this.offset = (meta.get('batchSeqOffset') as number | undefined) ?? 0;
    for (const { key, value } of store.recent.getRange({ reverse: true, limit: 1 })) this.recentTop = key + eventCount(value.subarray(8)) - 1;
    this.recover();
    // Each group that holds events gets its block and the event seq high-water mark (kept so seqs never go back
    // even after every event is sent): when the mark is durable, so is every write of the group before it.
    store.writes.beforeFlush(() => {
      this.closeBlock();
      if (!this.seqDirty) return;
      this.seqDirty = false;
      void store.writes.put(store.meta, 'eventSeq', this.nextEventSeq - 1);
    });
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
      forEachEvent(value, (ev, i) => {
        const seq = key + i;
        this.events++;
        this.bytes += ev.length;
        last = seq;
        if (seq > lastSealed) {
          if (this.openCount === 0) this.openFirst = seq;
          this.openCount++;
          this.openBytes += ev.length;
        }
      });
    }
    this.nextEventSeq = Math.max(last, (meta.get('eventSeq') as number | undefined) ?? 0) + 1;
    if (this.openCount > 0) {
      this.openSince = Date.now();
      this.log.info({ events: this.openCount }, 'recovered unsealed events; sealing them into a batch');
      this.seal();
    }
    if (this.events > 0) this.log.info({ events: this.events, bytes: this.bytes, batches: this.sealed }, 'outbox recovered from disk');
  }

  /** True when the journal has reached outbox.maxBytes, or the disk is low: reads must not be acknowledged. */
  get full(): boolean {
    return this.diskLow || this.bytes >= this.opts.outboxMaxBytes;
  }

  /**
   * The data directory's filesystem went below (or back above) outbox.minFreeDiskBytes free (disk-guard.ts).
   * While low the outbox counts as full, so the adapters hold reads unacknowledged, and whenDiskOk() waits.
   */
  setDiskLow(low: boolean, freeBytes: number, minFreeBytes: number): void {
    if (low === this.diskLow) return;
    this.diskLow = low;
    if (low) {
      this.diskLowSinceMs = Date.now();
      this.diskLowEpisodes++;
      this.log.warn(
        { code: 'SG_ERR_DISK_LOW', freeBytes, minFreeBytes },
        'disk space low on the data directory: reads are held unacknowledged, control commands refused and the syncs wait until space is freed on its filesystem (outbox.minFreeDiskBytes; the LMDB file never shrinks)',
      );
      return;
    }
    this.log.info({ heldMs: Date.now() - (this.diskLowSinceMs ?? Date.now()), freeBytes, minFreeBytes }, 'disk space is back on the data directory: reads are taken again');
    this.diskLowSinceMs = null;
    const waiters = this.diskWaiters;
    this.diskWaiters = [];
    for (const w of waiters) w();
    this.freed();
  }

  /** The data directory's disk is below outbox.minFreeDiskBytes: nothing should be written. */
  get diskIsLow(): boolean {
    return this.diskLow;
  }

  /** Why reads are held while full(): the disk or the outbox's own bound. */
  get fullCode(): 'SG_ERR_DISK_LOW' | 'SG_ERR_OUTBOX_FULL' {
    return this.diskLow ? 'SG_ERR_DISK_LOW' : 'SG_ERR_OUTBOX_FULL';
  }

  /** A sentence saying why and until when: `heldBecause('PLC reads are held')`. */
  heldBecause(what: string): string {
    return this.diskLow ? `disk space low on the gateway: ${what} until space is freed` : `the outbox is full: ${what} until the uplink frees space`;
  }

  /** Resolves when the disk is not low (at once when it is not). */
  whenDiskOk(): Promise<void> {
    if (!this.diskLow) return Promise.resolve();
    return new Promise((resolve) => this.diskWaiters.push(resolve));
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
    const value = Buffer.allocUnsafe(bytes.length + HEADER);
    value[0] = kind;
    value.set(bytes, HEADER);
    return this.appendValue(seq, value);
  }

  /** append() for a value that already starts with its kind byte (see journal.ts journalValue). */
  appendValue(seq: number, value: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new GatewayError('SG_ERR_CLOSED', 'outbox is closed'));
    // Into the open block (written when the group closes); a seq that does not follow starts a new one.
    if (this.blockValues.length > 0 && seq !== this.blockNext) this.closeBlock();
    if (this.blockValues.length === 0) this.blockFirst = seq;
    this.blockValues.push(value);
    this.blockNext = seq + 1;
    this.blockBytes += value.length;
    this.seqDirty = true;
    const group = this.store.writes.current();
    this.events++;
    this.bytes += value.length;
    if (this.fullSinceMs === null && this.bytes >= this.opts.outboxMaxBytes) this.raiseFull();
    if (this.openCount === 0) {
      this.openFirst = seq;
      this.openSince = Date.now();
      this.timer = setTimeout(() => this.seal(), this.opts.maxDelayMs);
    }
    this.openCount++;
    this.openBytes += value.length;
    if (this.openCount >= this.opts.maxEvents || this.openBytes >= this.opts.maxBytes) this.seal();
    // Every append of one write group shares one durable promise: one reaction per group, not per read.
    if (group !== this.group) {
      this.group = group;
      this.groupDurable = this.durable(group);
    }
    return this.groupDurable;
  }

  /** Queue the open block's put (in the current write group). */
  private closeBlock(): void {
    const values = this.blockValues;
    if (values.length === 0) return;
    const v = values.length === 1 ? values[0]! : encodeBlock(values, this.blockBytes);
    void this.store.writes.put(this.store.journal, this.blockFirst, v as Buffer);
    this.blockValues = [];
    this.blockBytes = 0;
  }

  /** The outbox reached outbox.maxBytes: an alarm, once per episode (reads are held by the adapters). */
  private raiseFull(): void {
    this.fullSinceMs = Date.now();
    this.fullEpisodes++;
    this.log.warn(
      { code: 'SG_ERR_OUTBOX_FULL', bytes: this.bytes, maxBytes: this.opts.outboxMaxBytes, events: this.events },
      'outbox is full: reads are held unacknowledged until the uplink frees space (nothing unsent is ever deleted)',
    );
  }

  private freed(): void {
    if (this.full) return;
    if (this.fullSinceMs !== null) {
      this.log.info({ heldMs: Date.now() - this.fullSinceMs, bytes: this.bytes }, 'outbox has room again: reads are acknowledged');
      this.fullSinceMs = null;
    }
    if (this.spaceWaiters.length > 0) {
      const waiters = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of waiters) w();
    }
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
    // A block never holds events of two batches.
    this.closeBlock();
    const seq = this.nextBatchSeq++;
    const marker: BatchMarker = {
      first: this.openFirst,
      last: this.openFirst + this.openCount - 1,
      createdMs: Date.now(),
      count: this.openCount,
      bytes: this.openBytes,
    };
    const writes = this.store.writes;
    const written = writes.put(this.store.batches, seq, marker);
    void writes.put(this.store.meta, 'batchSeq', seq);
    this.sealed++;
    this.openCount = 0;
    this.openBytes = 0;
    // Listeners (the uplink) hear of the batch once its marker is committed, so they can read it, and in
    // `sync` mode once it is on disk too: a batch is never published before its events are durable here.
    const ready = this.opts.durability === 'sync' ? written.then(() => this.store.root.flushed) : written;
    ready.then(
      () => {
        for (const l of this.sealedListeners) l();
      },
      () => undefined,
    );
  }

  /** Be told when a sealed batch can be read (its marker is committed; in `sync` mode, flushed). */
  onSealed(listener: () => void): () => void {
    this.sealedListeners.add(listener);
    return () => this.sealedListeners.delete(listener);
  }

  /** Sealed batches in order, starting after `afterSeq`. Only committed markers are visible. */
  *sealedBatches(afterSeq = 0, limit = Infinity): Generator<SealedBatch> {
    let n = 0;
    for (const { key, value } of this.store.batches.getRange({ start: Math.max(afterSeq, this.ackedThroughSeq) + 1 })) {
      if (n++ >= limit) return;
      yield { seq: key, marker: value };
    }
  }

  /** The exact bytes to publish for a sealed batch: an EventBatch rebuilt from the journal. */
  batchBytes(b: SealedBatch): Uint8Array {
    const { journal } = this.store;
    const { first, last, count, bytes } = b.marker;
    const events: Buffer[] = [];
    for (const { key, value } of journal.getRange({ start: first, end: last + 1 })) {
      forEachEvent(value, (ev, i) => {
        if (key + i <= last) events.push(ev);
      });
    }
    if (events.length !== count) throw new GatewayError('SG_ERR_STORE', `batch ${b.seq}: journal holds ${events.length} of its ${count} events`);
    return encodeBatchInto(this.opts.gatewayId, this.opts.site, b.seq + this.offset, b.marker.createdMs, count, bytes, events);
  }

  /** The batch is stored at central: delete it and its events (one transaction). */
  async ack(b: SealedBatch): Promise<void> {
    if (b.seq <= this.ackedThroughSeq) return;
    if (b.seq === this.ackedThroughSeq + 1) this.ackedThroughSeq = b.seq;
    await this.remove([b]);
  }

  /**
   * Every sealed batch with a local number up to `seq` is stored at central: delete them and their events.
   * Returns how many batches were deleted; the promise resolves when the deletion is committed. The
   * in-memory accounting (and so `full`) changes at once. A crash before the commit only means those batches
   * are found again at the next start, where the uplink's resync recognises them as stored.
   */
  ackThrough(seq: number): { batches: number; done: Promise<void> } {
    const gone: SealedBatch[] = [];
    if (seq <= this.ackedThroughSeq) return { batches: 0, done: Promise.resolve() };
    for (const { key, value } of this.store.batches.getRange({ start: this.ackedThroughSeq + 1, end: seq + 1 })) gone.push({ seq: key, marker: value });
    this.ackedThroughSeq = seq;
    return { batches: gone.length, done: this.remove(gone) };
  }

  private remove(gone: readonly SealedBatch[]): Promise<void> {
    if (gone.length === 0) return Promise.resolve();
    const { journal, batches, recent, writes } = this.store;
    let last: Promise<boolean> = Promise.resolve(true);
    const nowMs = Date.now();
    // Only the newest RECENT_EVENTS are kept: after a long outage an acknowledgement may cover far more.
    let top = 0;
    for (const b of gone) if (b.marker.last > top) top = b.marker.last;
    const keepFrom = top - RECENT_EVENTS + 1;
    // Writes queued in one synchronous call commit in one LMDB transaction: the batch leaves the outbox and its
    // events enter `recent` together, a block (or an event of a journal written before blocks) at a time.
    for (const b of gone) {
      for (const { key, value } of journal.getRange({ start: b.marker.first, end: b.marker.last + 1 })) {
        const n = eventCount(value);
        if (key + n - 1 >= keepFrom && (value[0] === BLOCK || value[0] === KIND_SCAN)) {
          void writes.put(recent, key, recentValue(nowMs, value));
          if (key + n - 1 > this.recentTop) this.recentTop = key + n - 1;
        }
        void writes.remove(journal, key);
      }
      last = writes.remove(batches, b.seq);
      this.events -= b.marker.count;
      this.bytes -= b.marker.bytes;
      this.sealed--;
      this.ackedBatches++;
      this.ackedEvents += b.marker.count;
    }
    this.pruneRecent();
    this.freed();
    return last.then(() => undefined);
  }

  /** Keep the newest RECENT_EVENTS event seqs in `recent` (in the current group's transaction). */
  private pruneRecent(): void {
    const below = this.recentTop - RECENT_EVENTS + 1;
    if (below <= 1) return;
    // Committed entries only: one put in this very group is pruned next time.
    for (const { key, value } of this.store.recent.getRange({ end: below })) {
      if (key + eventCount(value.subarray(8)) - 1 < below) void this.store.writes.remove(this.store.recent, key);
    }
  }

  /** The first sealed batch not yet acknowledged (committed markers only), or undefined. */
  firstSealed(): SealedBatch | undefined {
    for (const b of this.sealedBatches(0, 1)) return b;
    return undefined;
  }

  /**
   * When the oldest event not yet acknowledged by JetStream came, epoch ms, near enough (its batch's seal time, or
   * the open batch's start); null when the outbox is empty. Its age is what an alert wants: the age of the last
   * PubAck grows on an idle line too.
   */
  oldestUnsentMs(): number | null {
    const b = this.firstSealed();
    if (b !== undefined) return Math.min(b.marker.createdMs, this.openCount > 0 ? this.openSince : Infinity);
    return this.openCount > 0 ? this.openSince : null;
  }

  /** The published number of a local batch number (`batch_seq`, and the `Nats-Msg-Id` suffix). */
  publishedSeq(localSeq: number): number {
    return localSeq + this.offset;
  }

  /** The local number of a published batch number. */
  localSeq(publishedSeq: number): number {
    return publishedSeq - this.offset;
  }

  /**
   * Make every batch not yet acknowledged, and every later one, publish with a number above `floor`
   * (another incarnation of this gatewayId already used the numbers up to it). Persisted at once, before
   * anything is published under the new numbers. Returns true when the numbering changed.
   */
  raisePublishedFloor(floor: number): boolean {
    const first = this.firstSealed()?.seq ?? this.nextBatchSeq;
    if (first + this.offset > floor) return false;
    this.offset = floor - first + 1;
    this.store.meta.putSync('batchSeqOffset', this.offset);
    this.log.warn({ offset: this.offset, floor }, 'published batch numbers moved above those another incarnation of this gatewayId used');
    return true;
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
      batchSeqOffset: this.offset,
      full: this.full,
      fullEpisodes: this.fullEpisodes,
      fullSinceMs: this.fullSinceMs,
      diskLow: this.diskLow,
      diskLowEpisodes: this.diskLowEpisodes,
      diskLowSinceMs: this.diskLowSinceMs,
      ackedBatches: this.ackedBatches,
      ackedEvents: this.ackedEvents,
    };
  }

  /** Resolves when every write queued so far is durable (per outbox.durability), events or not. */
  settled(): Promise<void> {
    return this.durable(this.store.writes.current().then(() => this.store.root.committed).then(() => true));
  }

  /** Issues the queued writes and resolves when every write so far is committed (and so visible to reads). */
  async committed(): Promise<void> {
    await this.store.writes.flush();
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
    await this.store.writes.flush();
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
