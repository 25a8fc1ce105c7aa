/**
 * The embedded broker's write coalescing: the deliveries of one loop turn to one subscriber go out in one write,
 * also while messages keep arriving every turn, with aedes' timing (a delivery is written in a setImmediate of
 * its own, after the session store's promise); a PUBACK's flush is never held back; and a real socket whose reader
 * keeps up, in bursts, still drains (aedes disconnects a subscriber that does not drain within its timeout).
 */
import net from 'node:net';
import { Corker, type Corkable } from '../../adapters/mqtt/flow.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-corker');

/** A stream as far as corking goes (Node's semantics: a counter; the last uncork writes what waits, in one go). */
class FakeConn implements Corkable {
  corks = 0;
  /** uncork() calls that found nothing corked: each would release someone else's cork on a real socket. */
  strayUncorks = 0;
  waiting: string[] = [];
  /** Each element: the messages of one write to the socket. */
  writes: string[][] = [];
  writableLength = 0;
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    if (this.corks === 0) {
      this.strayUncorks++;
      return;
    }
    this.corks--;
    if (this.corks === 0 && this.waiting.length > 0) {
      this.writes.push(this.waiting);
      this.waiting = [];
    }
  }
  /** As mqtt-packet's writeToStream: corks the stream itself and uncorks it on the next tick. */
  write(m: string): void {
    this.cork();
    this.waiting.push(m);
    process.nextTick(() => this.uncork());
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
  assert.is(conn.strayUncorks, 0, 'every uncork matched a cork');
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
  // Forwarded again in the same turn after the early flush: corked anew, written a turn later.
  deliver(corker, conn, 'c');
  for (let i = 0; i < 3; i++) await turn();
  assert.equal(conn.writes, [['a'], ['b'], ['c']]);
  assert.is(conn.corks, 0, 'the early flush leaves nothing corked');
  assert.is(conn.strayUncorks, 0, 'every uncork matched a cork');
});

test('mqtt-corker - a subscriber that keeps up in bursts drains within the timeout under continuous load', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const reader = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const conn = await accepted;
  let received = 0;
  reader.on('data', (d) => (received += d.length));
  // The reader takes what comes for 5 ms, then looks away for 5 ms: it keeps up, but the socket fills at times.
  const blink = setInterval(() => (reader.isPaused() ? reader.resume() : reader.pause()), 5);
  const corker = new Corker();
  const msg = Buffer.alloc(300, 1);
  let sent = 0;
  let waiting: NodeJS.Timeout | null = null;
  let timeouts = 0;
  let longestWaitMs = 0;
  let waitStart = 0;
  // aedes' write(): a false return means waiting for 'drain', with one timer per client (drainTimeout 500 ms here).
  const write = () => {
    sent += msg.length;
    if (conn.write(msg) || waiting !== null) return;
    waitStart = performance.now();
    waiting = setTimeout(() => {
      timeouts++;
      waiting = null;
    }, 500);
    conn.once('drain', () => {
      if (waiting === null) return;
      clearTimeout(waiting);
      waiting = null;
      longestWaitMs = Math.max(longestWaitMs, performance.now() - waitStart);
    });
  };
  const end = performance.now() + 1500;
  while (performance.now() < end) {
    // 12 KB a turn: under the socket's high-water mark, so it stays corked from turn to turn.
    for (let i = 0; i < 40; i++) {
      corker.cork(conn);
      setImmediate(() => void Promise.resolve().then(write));
    }
    const next = turn();
    busy(2);
    await next;
  }
  clearInterval(blink);
  reader.resume();
  for (let i = 0; i < 100 && received < sent; i++) await new Promise((r) => setTimeout(r, 20));
  reader.destroy();
  conn.destroy();
  server.close();
  assert.is(received, sent, 'everything written arrived');
  assert.is(timeouts, 0, `no drain wait ran out (the longest took ${longestWaitMs.toFixed(0)} ms)`);
});

test.run();
