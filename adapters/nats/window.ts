/**
 * The ordering rules of the forwarder, without sockets (unit-tested on their own).
 *
 * Goal: batches of one gateway land in the stream in batch order, exactly once, while up to `max` publishes
 * are outstanding. A window alone cannot promise that: if batch k is refused or lost (a stream at its byte
 * limit refuses a large batch and takes the smaller next one; a message lost on a route in a cluster; a
 * publish dropped in transit) while k+1 is stored, a retry of k lands after k+1. So every publish carries a
 * *fence* that the server checks before storing it:
 *   - the first outstanding batch (its predecessor is known stored at stream sequence S):
 *     `Nats-Expected-Last-Subject-Sequence: S` (our subject's last message must be that predecessor);
 *   - every later one: `Nats-Expected-Last-Msg-Id: {gatewayId}.{k-1}` (the stream's last message must be its
 *     predecessor, which is still outstanding).
 * Invariant: a batch is stored only right after its predecessor, so the stored batches of a gateway are always
 * a prefix of its sequence. Once one batch of the window is refused or lost, every later one is refused too
 * (its fence names a message that is not the last), and the window is re-sent from the first unacknowledged
 * batch. Corollaries: a PubAck for batch k proves every earlier batch stored (acks are cumulative); a retry of
 * a stored batch is answered `duplicate` (the server checks the message id before the fences); a retry of a
 * stored batch after the duplicate window fails its subject-sequence fence, and a resync reads the last
 * stored batch from the stream instead of storing it twice.
 * The message-id fence is stream-wide: another gateway's message landing between two of ours refuses the
 * second (safely). The window then halves; with one outstanding publish only the subject fence is used,
 * which other gateways never disturb. It grows back by one per window of acknowledged batches.
 */

/** What the server must find before storing a batch. */
export type Fence = { lastSubjectSequence: number } | { lastMsgID: string };

/** The last batch known stored: its numbers and stream sequence (0 when our subject is empty). */
export interface Base {
  /** Local batch number (outbox key). */
  local: number;
  streamSeq: number;
}

export interface Slot {
  local: number;
  msgId: string;
  fence: Fence;
  round: number;
  events: number;
  bytes: number;
  /** When the batch was sealed in the outbox (ms since the epoch; 0: unknown). */
  sealedMs: number;
}

/** Why a publish failed, as the forwarder classifies it. */
export type FailureKind =
  | 'fence-subject' // 10071: our subject's last message is not the predecessor: resync from the stream
  | 'fence-msgid' // 10070: the stream's last message is not the predecessor (interleaving or loss): re-send
  | 'stream-full' // 10077 (discard new) or account storage exhausted: hold and retry
  | 'timeout' // no PubAck in time (lost request, lost PubAck or dead link): re-send; duplicates are answered as such
  | 'unavailable' // no responders, stream missing, connection closed: retry after a delay
  | 'error'; // anything else: retry after a delay

export interface Failure {
  slot: Slot;
  kind: FailureKind;
  message: string;
}

export class OrderedWindow {
  /** Last batch known stored; null until a resync has told where the stream stands. */
  base: Base | null = null;
  /** Outstanding publishes of the current round, in batch order. */
  private slots: Slot[] = [];
  /** A round ends at the first failure; results of older rounds are ignored. */
  round = 0;
  failure: Failure | null = null;
  /** Current window (halved on interleaving, grown back by one per window of acks), 1..max. */
  cwnd: number;
  private acksSinceGrowth = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = Math.max(1, max);
    this.cwnd = this.max;
  }

  get outstanding(): number {
    return this.slots.length;
  }

  /** Local number of the last batch handed out in this round (or of the base). */
  get lastIssued(): number {
    const last = this.slots[this.slots.length - 1];
    return last !== undefined ? last.local : (this.base?.local ?? 0);
  }

  /** How many more publishes may start now. */
  room(): number {
    if (this.base === null || this.failure !== null) return 0;
    return Math.max(0, this.cwnd - this.slots.length);
  }

  /** Take a batch into the window and say which fence it carries. Call in batch order only. */
  issue(local: number, msgId: string, events: number, bytes: number, sealedMs = 0): Slot {
    if (this.base === null) throw new Error('window has no base: resync first');
    const prev = this.slots[this.slots.length - 1];
    if (local !== this.lastIssued + 1) throw new Error(`batch ${local} issued out of order (last ${this.lastIssued})`);
    const fence: Fence = prev === undefined ? { lastSubjectSequence: this.base.streamSeq } : { lastMsgID: prev.msgId };
    const slot: Slot = { local, msgId, fence, round: this.round, events, bytes, sealedMs };
    this.slots.push(slot);
    return slot;
  }

  /**
   * A PubAck (stored or duplicate) for `slot` at stream sequence `streamSeq`. Returns the slots now known
   * stored (this one and every earlier one of the round), in order; empty when the ack is stale.
   */
  acked(slot: Slot, streamSeq: number): Slot[] {
    if (slot.round !== this.round) return [];
    const i = this.slots.indexOf(slot);
    if (i < 0) return [];
    const done = this.slots.splice(0, i + 1);
    this.base = { local: slot.local, streamSeq };
    if (this.failure !== null && this.failure.slot.local <= slot.local) this.failure = null; // it was stored after all
    if (this.cwnd < this.max && ++this.acksSinceGrowth >= this.cwnd) {
      this.cwnd++;
      this.acksSinceGrowth = 0;
    }
    return done;
  }

  /** A publish failed. The round stops taking new batches; returns false when the result is stale. */
  failed(slot: Slot, kind: FailureKind, message: string): boolean {
    if (slot.round !== this.round || !this.slots.includes(slot)) return false;
    if (this.failure === null || slot.local < this.failure.slot.local) this.failure = { slot, kind, message };
    return true;
  }

  /**
   * End the round after a failure (or a lost connection): forget every outstanding publish (late results
   * are ignored) and start again after the base. Returns the failure that ended it, if any.
   */
  restart(): Failure | null {
    const f = this.failure;
    if (f?.kind === 'fence-msgid') {
      this.cwnd = Math.max(1, this.cwnd >> 1);
      this.acksSinceGrowth = 0;
    }
    // Our subject moved under us, or the stream went away: read the stream again before sending.
    if (f?.kind === 'fence-subject' || f?.kind === 'unavailable') this.base = null;
    this.slots = [];
    this.failure = null;
    this.round++;
    return f;
  }

  /** The connection changed: outstanding publishes are void and the base must be read from the stream again. */
  reset(): void {
    this.slots = [];
    this.failure = null;
    this.base = null;
    this.round++;
  }
}
