/**
 * The forwarder's ordering rules (adapters/nats/window.ts) against a model of a JetStream stream that checks
 * message ids and fences the way nats-server does (duplicate id first, then Nats-Expected-Last-Subject-Sequence,
 * then Nats-Expected-Last-Msg-Id), under every fault the uplink meets: a publish lost in transit, a PubAck lost
 * after the store, a stream full for the large batches only, other gateways interleaving, and random mixes.
 * The property: our batches land in the stream exactly once, in batch order, with no gap, and all of them.
 */
import { OrderedWindow, type FailureKind, type Slot } from '../../adapters/nats/window.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('outbox-forward-order');

interface Stored {
  seq: number;
  subject: string;
  msgId: string;
}

/** A stream as nats-server keeps it, reduced to what the fences look at. */
class ModelStream {
  readonly msgs: Stored[] = [];
  private readonly dedup = new Map<string, number>();
  maxBytes = Infinity;
  bytes = 0;

  get lastSeq(): number {
    return this.msgs.length;
  }

  lastOn(subject: string): Stored | undefined {
    for (let i = this.msgs.length - 1; i >= 0; i--) if (this.msgs[i]!.subject === subject) return this.msgs[i];
    return undefined;
  }

  /** Returns the PubAck or the error kind, as the server answers. */
  publish(subject: string, msgId: string, fence: Slot['fence'], size: number): { seq: number; duplicate: boolean } | FailureKind {
    const dup = this.dedup.get(msgId);
    if (dup !== undefined) return { seq: dup, duplicate: true };
    if ('lastSubjectSequence' in fence && (this.lastOn(subject)?.seq ?? 0) !== fence.lastSubjectSequence) return 'fence-subject';
    if ('lastMsgID' in fence && this.msgs[this.msgs.length - 1]?.msgId !== fence.lastMsgID) return 'fence-msgid';
    if (this.bytes + size > this.maxBytes) return 'stream-full';
    const seq = this.msgs.length + 1;
    this.msgs.push({ seq, subject, msgId });
    this.bytes += size;
    this.dedup.set(msgId, seq);
    return { seq, duplicate: false };
  }
}

const SUBJECT = 'scangate.v1.events.s.gw';

interface Faults {
  /** Drop this publish before the server sees it (by attempt number, 0-based). */
  dropPublish?: (attempt: number, batch: number) => boolean;
  /** Drop the PubAck of a stored publish. */
  dropAck?: (attempt: number, batch: number) => boolean;
  /** Another gateway publishes before this attempt. */
  interleave?: (attempt: number) => boolean;
  /** Size of a batch (bytes); with stream.maxBytes models a stream at its limit. */
  size?: (batch: number) => number;
  /** Called each round; may change the stream (e.g. free space). */
  onRound?: (round: number, s: ModelStream) => void;
}

/** Drive the window like the forwarder does until `n` batches are stored; returns what the stream holds. */
function forward(n: number, window: number, faults: Faults, maxRounds = 10_000): { stream: ModelStream; w: OrderedWindow; rounds: number; duplicates: number } {
  const s = new ModelStream();
  const w = new OrderedWindow(window);
  let acked = 0; // local batches 1..acked are deleted from the outbox
  let attempt = 0;
  let duplicates = 0;
  let rounds = 0;
  const resync = () => {
    const last = s.lastOn(SUBJECT);
    const stored = last ? Number(last.msgId.split('.')[1]) : 0;
    acked = Math.max(acked, stored);
    w.base = { local: acked, streamSeq: last?.seq ?? 0 };
  };
  for (; rounds < maxRounds && acked < n; rounds++) {
    faults.onRound?.(rounds, s);
    if (w.base === null) resync();
    if (w.failure !== null) w.restart();
    const sent: Slot[] = [];
    while (w.room() > 0 && w.lastIssued < n) {
      const b = w.lastIssued + 1;
      sent.push(w.issue(b, `gw.${b}`, 1, faults.size?.(b) ?? 100));
    }
    // The server takes the messages in the order they were sent, then answers them in that order.
    const answers: [Slot, ReturnType<ModelStream['publish']> | 'lost'][] = [];
    for (const slot of sent) {
      const a = attempt++;
      if (faults.interleave?.(a)) s.publish('scangate.v1.events.s.other', `other.${a}`, { lastMsgID: s.msgs[s.msgs.length - 1]?.msgId ?? '' }, 1);
      if (faults.dropPublish?.(a, slot.local)) {
        answers.push([slot, 'lost']);
        continue;
      }
      const r = s.publish(SUBJECT, slot.msgId, slot.fence, faults.size?.(slot.local) ?? 100);
      answers.push([slot, typeof r === 'object' && faults.dropAck?.(a, slot.local) ? 'lost' : r]);
    }
    for (const [slot, r] of answers) {
      if (r === 'lost') w.failed(slot, 'timeout', 'no PubAck');
      else if (typeof r === 'string') w.failed(slot, r, r);
      else {
        if (r.duplicate) duplicates++;
        const done = w.acked(slot, r.seq);
        if (done.length > 0) acked = Math.max(acked, done[done.length - 1]!.local);
      }
    }
  }
  return { stream: s, w, rounds, duplicates };
}

function ours(s: ModelStream): number[] {
  return s.msgs.filter((m) => m.subject === SUBJECT).map((m) => Number(m.msgId.split('.')[1]));
}

function assertExactlyInOrder(s: ModelStream, n: number, what: string): void {
  assert.equal(ours(s), Array.from({ length: n }, (_, i) => i + 1), `${what}: batches 1..${n} stored once each, in order`);
}

test('outbox-forward-order - fences: the head carries the subject sequence, the rest the message id of their predecessor', () => {
  const w = new OrderedWindow(4);
  assert.is(w.room(), 0, 'no publish before a resync set the base');
  w.base = { local: 7, streamSeq: 120 };
  const a = w.issue(8, 'gw.8', 1, 1);
  const b = w.issue(9, 'gw.9', 1, 1);
  assert.equal(a.fence, { lastSubjectSequence: 120 });
  assert.equal(b.fence, { lastMsgID: 'gw.8' });
  assert.throws(() => w.issue(11, 'gw.11', 1, 1), /out of order/);
  assert.equal(w.acked(b, 130).map((x) => x.local), [8, 9], 'an ack is cumulative: batch 9 stored proves batch 8 stored');
  assert.equal(w.base, { local: 9, streamSeq: 130 });
  const c = w.issue(10, 'gw.10', 1, 1);
  assert.equal(c.fence, { lastSubjectSequence: 130 }, 'a window that emptied starts again from the subject sequence');
});

test('outbox-forward-order - no fault: every batch once, in order, with the whole window in use', () => {
  const { stream, rounds } = forward(200, 32, {});
  assertExactlyInOrder(stream, 200, 'no fault');
  assert.ok(rounds <= 8, `pipelined (${rounds} rounds)`);
});

test('outbox-forward-order - one publish lost in transit: the later ones of its window are refused, then all land in order', () => {
  const { stream, w } = forward(100, 16, { dropPublish: (a) => a === 5 });
  assertExactlyInOrder(stream, 100, 'lost publish');
  assert.is(w.cwnd, 16, 'a loss is not interleaving: the window keeps its size');
});

test('outbox-forward-order - one PubAck lost inside a window: the next PubAck covers it (acks are cumulative), nothing re-sent', () => {
  const { stream, duplicates } = forward(50, 8, { dropAck: (a) => a === 3 });
  assertExactlyInOrder(stream, 50, 'lost PubAck');
  assert.is(duplicates, 0, 'batch 4 stored proves batch 3 stored');
});

test('outbox-forward-order - the last PubAck of a window lost: re-sent after the window, answered duplicate', () => {
  const { stream, duplicates } = forward(8, 8, { dropAck: (a) => a === 7 });
  assertExactlyInOrder(stream, 8, 'last PubAck lost');
  assert.is(duplicates, 1);
});

test('outbox-forward-order - stream full for large batches only: a smaller later batch never jumps the queue', () => {
  // Without fences the server would store batch 7 (small) while refusing 6 (large): the reorder the fences prevent.
  const size = (b: number) => (b % 3 === 0 ? 1000 : 10);
  const s = { freed: false };
  const { stream } = forward(30, 8, {
    size,
    onRound: (round, st) => {
      if (round === 0) st.maxBytes = 80; // room for a few small ones, not for batch 3
      if (round === 6 && !s.freed) {
        s.freed = true;
        st.maxBytes = Infinity; // central consumed, or the limit was raised
      }
    },
  });
  assertExactlyInOrder(stream, 30, 'stream full');
});

test('outbox-forward-order - other gateways interleaving: refused safely, the window halves, all land in order', () => {
  const { stream, w } = forward(300, 32, { interleave: (a) => a % 7 === 0 });
  assertExactlyInOrder(stream, 300, 'interleaving');
  assert.ok(w.cwnd < 32, `window shrank to ${w.cwnd}`);
});

test('outbox-forward-order - a retry after the duplicate window is refused by its subject fence and found by the resync', () => {
  const s = new ModelStream();
  const w = new OrderedWindow(4);
  w.base = { local: 0, streamSeq: 0 };
  const a = w.issue(1, 'gw.1', 1, 1);
  const r = s.publish(SUBJECT, a.msgId, a.fence, 1); // stored, but its PubAck is lost
  assert.equal(r, { seq: 1, duplicate: false });
  w.failed(a, 'timeout', 'no PubAck');
  w.restart();
  (s as unknown as { dedup: Map<string, number> }).dedup.clear(); // two minutes later: the server forgot the id
  const again = w.issue(1, 'gw.1', 1, 1);
  assert.is(s.publish(SUBJECT, again.msgId, again.fence, 1), 'fence-subject', 'not stored twice');
  w.failed(again, 'fence-subject', '');
  w.restart();
  assert.is(w.base, null, 'the next step is a resync, which reads gw.1 as the last stored batch');
  assert.is(s.msgs.length, 1);
});

test('outbox-forward-order - a late result of an abandoned round changes nothing', () => {
  const w = new OrderedWindow(4);
  w.base = { local: 0, streamSeq: 0 };
  const a = w.issue(1, 'gw.1', 1, 1);
  w.failed(a, 'timeout', '');
  w.restart();
  assert.equal(w.acked(a, 5), [], 'stale ack ignored');
  assert.is(w.failed(a, 'error', ''), false, 'stale failure ignored');
  assert.equal(w.base, { local: 0, streamSeq: 0 });
});

test('outbox-forward-order - random faults (seeded): exactly once, in order, no gap, every time', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let run = 0; run < 200; run++) {
    const n = 20 + Math.floor(rnd() * 60);
    const window = 1 + Math.floor(rnd() * 16);
    const pDrop = rnd() * 0.1;
    const pAck = rnd() * 0.1;
    const pOther = rnd() * 0.2;
    const sizes = Array.from({ length: n + 1 }, () => (rnd() < 0.3 ? 500 : 20));
    let limitUntil = Math.floor(rnd() * 5);
    const { stream, rounds } = forward(n, window, {
      dropPublish: () => rnd() < pDrop,
      dropAck: () => rnd() < pAck,
      interleave: () => rnd() < pOther,
      size: (b) => sizes[b]!,
      onRound: (round, st) => {
        st.maxBytes = round < limitUntil ? st.bytes + 300 : Infinity;
        if (round === limitUntil) limitUntil = 0;
      },
    });
    assert.ok(rounds < 10_000, `run ${run} finished`);
    assertExactlyInOrder(stream, n, `run ${run} (window ${window}, drop ${pDrop.toFixed(2)}, ack ${pAck.toFixed(2)}, other ${pOther.toFixed(2)})`);
  }
});

test.run();
