/**
 * The embedded broker's write coalescing: the deliveries of one loop turn to one subscriber go out in one write,
 * also while messages keep arriving every turn, with aedes' timing (a delivery is written in a setImmediate of
 * its own, after the session store's promise); and a PUBACK's flush is never held back.
 */
import { Corker, type Corkable } from '../../adapters/mqtt/flow.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-corker');

/** A stream as far as corking goes (Node's semantics: a counter; the last uncork writes what waits, in one go). */
class FakeConn implements Corkable {
  corks = 0;
  waiting: string[] = [];
  /** Each element: the messages of one write to the socket. */
  writes: string[][] = [];
  writableLength = 0;
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    if (this.corks === 0) return;
    this.corks--;
    if (this.corks === 0 && this.waiting.length > 0) {
      this.writes.push(this.waiting);
      this.waiting = [];
    }
  }
  write(m: string): void {
    if (this.corks > 0) this.waiting.push(m);
    else this.writes.push([m]);
  }
}

/** aedes' deliverQoS for a persistent session: forwarded now (authorizeForward), written in a later check phase. */
function deliver(corker: Corker, conn: FakeConn, m: string): void {
  corker.cork(conn);
  setImmediate(() => void Promise.resolve().then(() => conn.write(m)));
}

const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/** A busy loop: the next turn's timer is due at once, as I/O is under load (reads arrive every turn). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('mqtt-corker - messages forwarded every turn: one write per turn, none lost, in order', async () => {
  const corker = new Corker();
  const conn = new FakeConn();
  const sent: string[] = [];
  const turns = 20;
  for (let t = 0; t < turns; t++) {
    for (let i = 0; i < 5; i++) {
      const m = `${t}.${i}`;
      sent.push(m);
      deliver(corker, conn, m);
    }
    const next = turn();
    busy(2);
    await next;
  }
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(conn.writes.flat(), sent, 'every message written once, in order');
  assert.is(conn.corks, 0, 'left uncorked');
  assert.ok(conn.writes.length <= turns + 1, `${conn.writes.length} writes for ${turns} turns of 5 messages`);
});

test('mqtt-corker - a quiet subscriber is uncorked after its last message; a flush goes out at once', async () => {
  const corker = new Corker();
  const conn = new FakeConn();
  deliver(corker, conn, 'a');
  for (let i = 0; i < 4; i++) await turn();
  assert.equal(conn.writes, [['a']]);
  assert.is(conn.corks, 0);
  // A PUBACK to a connection that also has deliveries waiting: flushNow writes them now, not a turn later.
  deliver(corker, conn, 'b');
  await new Promise((r) => setImmediate(r));
  await Promise.resolve();
  assert.equal(conn.waiting, ['b'], 'corked until the turn ends');
  corker.flushNow(conn);
  assert.equal(conn.writes, [['a'], ['b']]);
  for (let i = 0; i < 3; i++) await turn();
  assert.is(conn.corks, 0, 'the early flush leaves nothing corked');
});

test.run();
