/**
 * Decisions back to the PLC, per session: `{seq, decision, reasonCode}` as one structure, as three nodes (seq
 * last) or as a method call, echoing the read's seq so the PLC can match its shift-register slot. Decisions are
 * queued (bounded), sent at once in as few requests as a burst allows with a few requests outstanding, kept
 * while the session is down and dropped, counted, once older than decisionMaxAgeMs: a PLC default-rejects a
 * read whose decision does not come in time (DOMAIN "PLCs over OPC UA").
 */
import type { Logger } from 'pino';
import { AttributeIds, DataType, Variant, VariantArrayType, type ClientSession, type NodeId, type StatusCode } from 'node-opcua';
import type { LatencyHistogram } from '../../gateway/latency.js';
import type { VerdictMessage } from '../../gateway/pipeline.js';
import { numericVariantValue } from './nodes.js';
import type { ReaderRuntime } from './reader.js';

/** How one reader's decisions are written, as resolved on the current session. */
export type DecisionPlan =
  | { kind: 'structure'; nodeId: NodeId; make: (seq: number, value: number, reason: number) => unknown }
  | { kind: 'nodes'; seq: Target; value: Target; reason: Target | null }
  | { kind: 'method'; objectId: NodeId; methodId: NodeId; types: [DataType, DataType, DataType | null] };

export interface Target {
  nodeId: NodeId;
  type: DataType;
}

interface Op {
  reader: ReaderRuntime;
  plan: DecisionPlan;
  seq: number;
  value: number;
  reason: number;
  atMs: number;
}

/** Decisions waiting at most (a PLC down for long stops producing reads long before). */
const MAX_QUEUE = 20_000;
/** Decisions per request. */
const MAX_BATCH = 200;
/** Retry after a failed request when the session did not say it is down, in ms. */
const RETRY_MS = 500;

export interface WriterStats {
  written: number;
  errors: number;
  expired: number;
  dropped: number;
  queued: number;
}

export class DecisionWriter {
  readonly stats: WriterStats = { written: 0, errors: 0, expired: 0, dropped: 0, queued: 0 };
  private queue: Op[] = [];
  private inFlight = 0;
  private session: ClientSession | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private lastErrorLogMs = 0;
  private readonly maxInFlight: number;
  private readonly maxAgeMs: number;
  private readonly log: Logger;
  private readonly latency: LatencyHistogram | null;

  /** `latency`: where to record each decision's time from its decision to the PLC confirming it (ms). */
  constructor(opts: { maxInFlight: number; maxAgeMs: number; log: Logger; latency?: LatencyHistogram }) {
    this.maxInFlight = opts.maxInFlight;
    this.maxAgeMs = opts.maxAgeMs;
    this.log = opts.log;
    this.latency = opts.latency ?? null;
  }

  /** The session to write on; null while it is down (decisions wait). */
  setSession(s: ClientSession | null): void {
    this.session = s;
    if (s !== null) this.schedule();
  }

  enqueue(reader: ReaderRuntime, seq: number, v: VerdictMessage, acceptValue: number, rejectValue: number): void {
    const plan = reader.binding?.plan ?? null;
    if (plan === null) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.stats.dropped++;
      reader.stats.decisionsExpired++;
      return;
    }
    this.queue.push({ reader, plan, seq, value: v.verdict === 'accept' ? acceptValue : rejectValue, reason: v.reasonCode, atMs: Date.now() });
    this.stats.queued = this.queue.length;
    this.schedule();
  }

  /**
   * Decisions queued for more than decisionMaxAgeMs are dropped and counted, also while the session is down (they
   * used to be counted only once it was back). Called every second by the endpoint.
   */
  expireOld(): void {
    const now = Date.now();
    let n = 0;
    while (this.queue.length > 0 && now - this.queue[0]!.atMs > this.maxAgeMs) {
      const op = this.queue.shift()!;
      this.stats.expired++;
      op.reader.stats.decisionsExpired++;
      n++;
    }
    if (n > 0) this.stats.queued = this.queue.length;
  }

  /**
   * The PLC restarted: decisions queued for reads of its last run are dropped, never written to the new run, where
   * their seqs name other products (a PLC keeping decisions by seq would apply an old accept to a new pack).
   * Returns how many were dropped (counted as expired).
   */
  dropQueued(): number {
    const n = this.queue.length;
    for (const op of this.queue) {
      this.stats.expired++;
      op.reader.stats.decisionsExpired++;
    }
    this.queue = [];
    this.stats.queued = 0;
    if (n > 0) this.checkIdle();
    return n;
  }

  /** Every decision of one burst of notifications goes in the same request: flush after the current turn. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const s = this.session;
    while (s !== null && this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const now = Date.now();
      const batch: Op[] = [];
      while (batch.length < MAX_BATCH && this.queue.length > 0) {
        const op = this.queue.shift()!;
        if (now - op.atMs > this.maxAgeMs) {
          this.stats.expired++;
          op.reader.stats.decisionsExpired++;
          continue;
        }
        batch.push(op);
      }
      this.stats.queued = this.queue.length;
      if (batch.length === 0) break;
      this.send(s, batch);
    }
    this.checkIdle();
  }

  private send(s: ClientSession, batch: Op[]): void {
    const writes: Op[] = [];
    const calls: Op[] = [];
    for (const op of batch) (op.plan.kind === 'method' ? calls : writes).push(op);
    // Each decision's values are made into Variants on their own: one that its node cannot hold is that
    // decision's write error, never a request node-opcua refuses whole (which would hold back every reader's).
    const okWrites: Op[] = [];
    const nodesToWrite: WriteValueLike[] = [];
    const counts: number[] = [];
    for (const op of writes) {
      let entries: WriteValueLike[];
      try {
        entries = writeValues(op);
      } catch (err) {
        this.unwritable(op, err);
        continue;
      }
      okWrites.push(op);
      nodesToWrite.push(...entries);
      counts.push(entries.length);
    }
    if (okWrites.length > 0) {
      this.inFlight++;
      s.write(nodesToWrite as Parameters<ClientSession['write']>[0] & unknown[]).then(
        (results: StatusCode[]) => this.done(okWrites, counts, results),
        (err: unknown) => this.failed(okWrites, err),
      );
    }
    const okCalls: Op[] = [];
    const methodsToCall: { objectId: NodeId; methodId: NodeId; inputArguments: Variant[] }[] = [];
    for (const op of calls) {
      const p = op.plan as Extract<DecisionPlan, { kind: 'method' }>;
      try {
        const args = [variant(p.types[0], op.seq), variant(p.types[1], op.value)];
        if (p.types[2] !== null) args.push(variant(p.types[2], op.reason));
        methodsToCall.push({ objectId: p.objectId, methodId: p.methodId, inputArguments: args });
        okCalls.push(op);
      } catch (err) {
        this.unwritable(op, err);
      }
    }
    if (okCalls.length > 0) {
      this.inFlight++;
      s.call(methodsToCall).then(
        (results) => this.done(okCalls, okCalls.map(() => 1), results.map((r) => r.statusCode)),
        (err: unknown) => this.failed(okCalls, err),
      );
    }
  }

  /** A decision whose values its nodes cannot hold: counted as that reader's write error, logged, not retried. */
  private unwritable(op: Op, err: unknown): void {
    this.stats.errors++;
    op.reader.stats.decisionWriteErrors++;
    this.warn(op, `its values do not fit the decision nodes' data types: ${(err as Error).message ?? String(err)}`);
  }

  private done(ops: Op[], counts: number[], results: StatusCode[]): void {
    this.inFlight--;
    const now = Date.now();
    let i = 0;
    ops.forEach((op, k) => {
      let ok = true;
      for (let j = 0; j < counts[k]!; j++) if (results[i + j]?.value !== 0) ok = false;
      if (ok) {
        this.latency?.observe(now - op.atMs);
        this.stats.written++;
        op.reader.stats.decisionsWritten++;
      } else {
        this.stats.errors++;
        op.reader.stats.decisionWriteErrors++;
        this.warn(op, results.slice(i, i + counts[k]!).map(String).join(', '));
      }
      i += counts[k]!;
    });
    this.flush();
  }

  /** The request failed as a whole (session down, timeout): keep the decisions, in order, and try again. */
  private failed(ops: Op[], err: unknown): void {
    this.inFlight--;
    this.queue.unshift(...ops);
    if (this.queue.length > MAX_QUEUE) {
      const extra = this.queue.splice(MAX_QUEUE);
      this.stats.dropped += extra.length;
      for (const op of extra) op.reader.stats.decisionsExpired++;
    }
    this.stats.queued = this.queue.length;
    const first = ops[0];
    if (first !== undefined) this.warn(first, (err as Error).message ?? String(err));
    if (this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush();
      }, RETRY_MS);
      this.retryTimer.unref();
    }
    this.checkIdle();
  }

  private warn(op: Op, why: string): void {
    const now = Date.now();
    if (now - this.lastErrorLogMs < 10_000) return;
    this.lastErrorLogMs = now;
    this.log.warn({ code: 'SG_ERR_OPCUA_WRITE', reader: op.reader.cfg.id, seq: op.seq, why, errors: this.stats.errors, queued: this.queue.length }, 'decision write-back failed');
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && (this.queue.length === 0 || this.session === null) && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves when every queued decision is written (or the session is down), or after `budgetMs`. */
  idle(budgetMs: number): Promise<void> {
    if (this.inFlight === 0 && (this.queue.length === 0 || this.session === null)) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, budgetMs);
      t.unref();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.session = null;
    this.queue = [];
    this.checkIdle();
  }
}

type WriteValueLike = { nodeId: NodeId; attributeId: number; value: { value: Variant } };

/** A scalar Variant of this type (node-opcua takes an Int64's [high, low] for an array unless told it is scalar). */
function variant(dataType: DataType, n: number): Variant {
  return new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: numericVariantValue(dataType, n) });
}

/** The node writes of one decision (plan structure or nodes), built now: a value a node cannot hold throws here. */
function writeValues(op: Op): WriteValueLike[] {
  const p = op.plan;
  if (p.kind === 'structure') return [wv(p.nodeId, new Variant({ dataType: DataType.ExtensionObject, value: p.make(op.seq, op.value, op.reason) }))];
  if (p.kind !== 'nodes') return [];
  // Value and reason first, seq last: when the PLC sees the seq, the rest is there (Part 4 5.10.4 leaves the order
  // inside one request to the server; PLCs apply it in order).
  const out = [wv(p.value.nodeId, variant(p.value.type, op.value))];
  if (p.reason !== null) out.push(wv(p.reason.nodeId, variant(p.reason.type, op.reason)));
  out.push(wv(p.seq.nodeId, variant(p.seq.type, op.seq)));
  return out;
}

function wv(nodeId: NodeId, value: Variant): WriteValueLike {
  return { nodeId, attributeId: AttributeIds.Value, value: { value } };
}
