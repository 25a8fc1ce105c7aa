/**
 * Readers whose node the PLC deleted. A program download deletes a PLC's variables and creates them again under
 * the same node ids; the monitored item of such a node reports Bad_NodeIdUnknown (Bad_NodeIdInvalid from a
 * node-opcua server) once, then stays bound to the deleted node and reports nothing more, on a subscription that
 * is otherwise fine. Such a reader is bound again on its own, with backoff, until its node is back: its nodes
 * resolved and checked again (bindReader) and its monitored item created anew. The other readers go on untouched.
 */
import type { Logger } from 'pino';
import { StatusCodes, type StatusCode } from 'node-opcua';
import type { ReaderRuntime } from './reader.js';

/** Statuses of a monitored value that say its node is gone, not that its value is bad (Part 4 7.39). */
const GONE = new Set<number>([StatusCodes.BadNodeIdUnknown.value, StatusCodes.BadNodeIdInvalid.value, StatusCodes.BadObjectDeleted.value]);

export function nodeGone(sc: StatusCode | undefined): boolean {
  return sc !== undefined && GONE.has(sc.value);
}

/** The node a reader monitors, as configured (for logs and the status). */
export function monitoredNode(r: ReaderRuntime): string {
  const c = r.cfg;
  return (c.way === 'data' ? c.dataNode : c.way === 'counter' ? c.counterNode : c.way === 'scan' ? c.triggerNode : c.device) ?? '';
}

interface Pending {
  timer: NodeJS.Timeout | null;
  attempts: number;
  sinceMs: number;
}

export interface RebinderOptions {
  /** The endpoint's id, for the log. */
  endpoint: string;
  initialDelayMs: number;
  maxDelayMs: number;
  log: Logger;
  /** Bind the reader again on the current session and create its monitored item; throws while it cannot. */
  attempt: (r: ReaderRuntime) => Promise<void>;
}

export class Rebinder {
  private readonly pending = new Map<ReaderRuntime, Pending>();
  private readonly o: RebinderOptions;

  constructor(o: RebinderOptions) {
    this.o = o;
  }

  has(r: ReaderRuntime): boolean {
    return this.pending.has(r);
  }

  /**
   * The PLC deleted `r`'s node (its monitored item said so): say it once, and bind the reader again with backoff
   * until the node is back. Its reads meanwhile are not seen: the seq shows them as lost. Its binding stays, so
   * the decisions of reads already taken are still written (the decision nodes keep their ids).
   */
  gone(r: ReaderRuntime, status: StatusCode): void {
    if (this.pending.has(r)) return;
    const node = monitoredNode(r);
    r.error = { code: 'SG_ERR_OPCUA_NODE', message: `node ${node} is gone on the PLC (${status.toString()}); the reader is bound again when it is back` };
    this.o.log.warn(
      { code: 'SG_ERR_OPCUA_NODE', endpoint: this.o.endpoint, reader: r.cfg.id, node, status: status.toString() },
      `the PLC deleted the node of reader ${r.cfg.id} (a program download?): its reads are not seen until the node is back; binding it again`,
    );
    this.start(r);
  }

  /** Bind `r` again until it works (nothing when it is already waiting to be). */
  start(r: ReaderRuntime): void {
    if (this.pending.has(r)) return;
    const p: Pending = { timer: null, attempts: 0, sinceMs: Date.now() };
    this.pending.set(r, p);
    this.schedule(r, p);
  }

  private schedule(r: ReaderRuntime, p: Pending): void {
    const base = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * 2 ** Math.min(p.attempts, 20));
    p.timer = setTimeout(() => void this.run(r, p), base * (0.9 + Math.random() * 0.2));
    p.timer.unref();
  }

  private async run(r: ReaderRuntime, p: Pending): Promise<void> {
    p.timer = null;
    p.attempts++;
    try {
      await this.o.attempt(r);
    } catch (err) {
      if (this.pending.get(r) !== p) return; // cancelled meanwhile (a new session binds every reader)
      this.o.log.debug({ reader: r.cfg.id, node: monitoredNode(r), attempts: p.attempts, err: (err as Error).message }, 'reader not bound again yet');
      this.schedule(r, p);
      return;
    }
    if (this.pending.get(r) !== p) return;
    this.pending.delete(r);
    r.stats.rebinds++;
    this.o.log.info({ reader: r.cfg.id, node: monitoredNode(r), attempts: p.attempts, downMs: Date.now() - p.sinceMs }, 'reader bound again: its node is back on the PLC');
  }

  /** Forget every reader waiting (the session is gone: the next one binds every reader). */
  cancelAll(): void {
    for (const p of this.pending.values()) if (p.timer !== null) clearTimeout(p.timer);
    this.pending.clear();
  }
}
