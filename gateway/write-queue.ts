/**
 * Group commit: every write of the daemon to the LMDB store is queued here and issued to lmdb-js in one event
 * turn when the group closes, so the writes of many reads share one LMDB transaction whatever the reads' turns.
 *
 * lmdb-js commits the async writes of one event turn in one transaction. At a few reads per turn (many scanners,
 * each sending one read at a time) every turn paid a transaction of its own: the instruction batch, the write
 * thread's wake-up, the commit promise, the disk flush. A group closes `delayMs` after its first write (0: at
 * the end of the turn), or as soon as it holds `maxOps` writes (at the end of the current synchronous work, never
 * in the middle of one read's writes). Order is kept: writes are issued in the order they were queued, so a
 * transition and its event, queued in one synchronous call, are stored in the same transaction.
 *
 * Each write returns the promise of its group: it settles as lmdb-js's promise for the group's transaction does
 * (transactions commit in order, whole or not at all).
 */
import type { Database, Key } from 'lmdb';
import { GatewayError } from './errors.js';

function noop(): void {}

/** What a write queued after close() gets (a handled rejection: a stray timer must not crash the daemon). */
const CLOSED: Promise<boolean> = Promise.reject(new GatewayError('SG_ERR_CLOSED', 'the store is closed'));
CLOSED.catch(noop);

const PUT = 0;
const REMOVE = 1;
/** A put whose key is built from two strings when it is issued (WriteQueueOptions.compoundKey). */
const PUT_COMPOUND = 2;

// Any lmdb-js database: the queue only stores references and hands them back to the database they came with.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Database<any, any>;

export interface WriteQueueOptions {
  /** A group closes this long after its first write, in ms; 0 closes it at the end of the event turn. */
  delayMs: number;
  /** A group closes once it holds this many writes. */
  maxOps: number;
  /**
   * The key of putSerial(): built when the write is issued, into a scratch buffer that lmdb-js copies at once,
   * so a queued write holds two strings instead of a key buffer of its own.
   */
  compoundKey?: (a: string, b: string) => Key;
}

interface Group {
  promise: Promise<boolean>;
  settle: (p: Promise<boolean>) => void;
}

export class WriteQueue {
  private readonly opts: WriteQueueOptions;
  private kinds: number[] = [];
  private dbs: AnyDb[] = [];
  private keys: unknown[] = [];
  private keys2: string[] = [];
  private values: unknown[] = [];
  /** Writes queued: the arrays keep their capacity from group to group (slots are cleared when issued). */
  private n = 0;
  private group: Group | null = null;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private soon = false;
  private closed = false;
  private readonly hooks: (() => void)[] = [];
  /**
   * Per database, the slot of each putLast() key queued in the open group. Any other write to that database drops
   * its map: a later putLast() of the same key then queues a write of its own, after the other one, as put() would.
   */
  private lastPuts: Map<AnyDb, Map<string, number>> | null = null;
  /** Groups issued, and writes issued (observability). */
  groups = 0;
  writes = 0;
  /** Puts that replaced the value of a put of the same key queued in the same group (putLast). */
  coalesced = 0;

  constructor(opts: WriteQueueOptions) {
    this.opts = opts;
  }

  /** Writes queued and not yet issued. */
  get pending(): number {
    return this.n;
  }

  /** Queue a put; the promise settles when its group's transaction does. */
  put<V, K extends Key>(db: Database<V, K>, key: K, value: V): Promise<boolean> {
    return this.push(PUT, db, key, value);
  }

  /**
   * Queue a put that replaces the value of an earlier putLast() of the same key still queued in this group: both
   * would land in the same transaction, where only the last value stays. For records rewritten whole at every
   * change (a container at every child): encoded and written once per group. Keys are compared by their bytes
   * (a Buffer) or their text (a string); a key of another type is queued as put() would.
   */
  putLast<V, K extends Key>(db: Database<V, K>, key: K, value: V): Promise<boolean> {
    const id = typeof key === 'string' ? `s${key}` : Buffer.isBuffer(key) ? `b${key.toString('latin1')}` : null;
    if (id === null) return this.push(PUT, db, key, value);
    const byKey = this.lastPuts?.get(db);
    const i = byKey?.get(id);
    if (i !== undefined && !this.closed) {
      this.values[i] = value;
      this.coalesced++;
      return this.group!.promise;
    }
    const p = this.push(PUT, db, key, value, true);
    if (this.closed) return p;
    if (byKey !== undefined) byKey.set(id, this.n - 1);
    else (this.lastPuts ??= new Map()).set(db, new Map([[id, this.n - 1]]));
    return p;
  }

  /** Queue a put keyed by compoundKey(a, b) (a serial: GTIN and serial). */
  putSerial<V, K extends Key>(db: Database<V, K>, a: string, b: string, value: V): Promise<boolean> {
    const p = this.push(PUT_COMPOUND, db, a, value);
    this.keys2[this.n - 1] = b;
    return p;
  }

  /** Queue a delete; the promise settles when its group's transaction does. */
  remove<V, K extends Key>(db: Database<V, K>, key: K): Promise<boolean> {
    return this.push(REMOVE, db, key, undefined);
  }

  /** The promise of the group being filled (a fresh group when none is open). */
  current(): Promise<boolean> {
    return (this.group ??= this.openGroup()).promise;
  }

  /** Called at the start of each flush of a group, before its writes are issued; it may queue writes of its own. */
  beforeFlush(hook: () => void): void {
    this.hooks.push(hook);
  }

  /** `coalescable`: a putLast() write (it keeps the database's putLast() keys; any other write drops them). */
  private push(kind: number, db: AnyDb, key: unknown, value: unknown, coalescable = false): Promise<boolean> {
    if (this.closed) return CLOSED;
    // Another write to a database with putLast() keys: those keys may be among its own, so none is replaced later.
    if (!coalescable && this.lastPuts !== null) this.lastPuts.delete(db);
    const i = this.n++;
    this.kinds[i] = kind;
    this.dbs[i] = db;
    this.keys[i] = key;
    this.values[i] = value;
    const g = (this.group ??= this.openGroup());
    if (this.n >= this.opts.maxOps && !this.soon) {
      // Not now: the caller may be between the writes of one transition. After the current synchronous work.
      this.soon = true;
      queueMicrotask(this.flushNow);
    }
    return g.promise;
  }

  private openGroup(): Group {
    let settle!: (p: Promise<boolean>) => void;
    const promise = new Promise<boolean>((resolve) => (settle = resolve));
    // Writers that do not wait on their writes must not turn a failed transaction into an unhandled rejection:
    // those that wait see the failure through their own reactions; failures are counted where they are awaited.
    promise.catch(noop);
    if (this.opts.delayMs > 0) this.timer = setTimeout(this.flushNow, this.opts.delayMs);
    else this.immediate = setImmediate(this.flushNow);
    return { promise, settle };
  }

  private readonly flushNow = (): void => {
    this.flush();
  };

  /** Issue every queued write now, in this event turn (one lmdb-js transaction). Returns the group's promise. */
  flush(): Promise<boolean> {
    this.soon = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    const g = this.group;
    if (g === null) return Promise.resolve(true);
    // Hooks queue into this group (it is still the open one while they run); they run for every group, also one
    // that holds no write yet: the outbox's events wait for this moment to be queued.
    for (const h of this.hooks) h();
    this.group = null;
    this.lastPuts = null;
    const { kinds, dbs, keys, keys2, values } = this;
    const n = this.n;
    const compound = this.opts.compoundKey;
    let last: Promise<boolean> = Promise.resolve(true);
    try {
      for (let i = 0; i < n; i++) {
        const k = kinds[i];
        if (k === PUT) last = dbs[i]!.put(keys[i], values[i]);
        else if (k === PUT_COMPOUND) last = dbs[i]!.put(compound!(keys[i] as string, keys2[i]!), values[i]);
        else last = dbs[i]!.remove(keys[i]);
        // lmdb-js holds what it needs now: the queue lets go of it.
        keys[i] = undefined;
        values[i] = undefined;
      }
    } catch (err) {
      // A write lmdb-js refuses at once (a closed store; a key or value out of bounds, which no write of the daemon
      // has): the group fails, so none of its reads is acknowledged. The writes issued before it are in lmdb-js's
      // batch already and may still commit.
      last = Promise.reject(err);
      // Let go of the writes never issued too (their slots are reused, not cleared, by the next group).
      for (let i = 0; i < n; i++) {
        keys[i] = undefined;
        values[i] = undefined;
      }
    }
    this.n = 0;
    if (kinds.length > 4096 && n < 1024) {
      // A burst grew the arrays: let the memory go.
      this.kinds = [];
      this.dbs = [];
      this.keys = [];
      this.keys2 = [];
      this.values = [];
    }
    if (n > 0) {
      this.groups++;
      this.writes += n;
    }
    g.settle(last);
    return g.promise;
  }

  /**
   * Issue what is queued, then take no more writes (each is refused with SG_ERR_CLOSED, never issued); resolves
   * when that last group is committed (so the store may close).
   */
  close(): Promise<boolean> {
    // Flush first: its hooks (the outbox's open block) still queue into this last group.
    const last = this.flush();
    this.closed = true;
    return last;
  }
}
