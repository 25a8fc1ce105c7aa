/**
 * The embedded broker's session persistence: the aedes-persistence conformance suite passes against the indexed
 * outgoing queues, and a persistent-session subscriber with thousands of QoS 1 messages in flight gets every
 * message once, in order, with none left queued after its PUBACKs.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IndexedMemoryPersistence } from '../../adapters/mqtt/persistence.js';
import { prng } from '../../bench/prng.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-persistence', {}, 120_000);
const FIXTURE = fileURLToPath(new URL('../fixtures/persistence-conformance.ts', import.meta.url));

test('mqtt persistence - the aedes-persistence conformance suite passes', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', FIXTURE], { encoding: 'utf8', timeout: 100_000 });
  const pass = Number(/^# pass (\d+)/m.exec(r.stdout)?.[1] ?? -1);
  const fail = Number(/^# fail (\d+)/m.exec(r.stdout)?.[1] ?? -1);
  assert.ok(pass >= 40, `the suite ran (${pass} passed)\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  assert.is(fail, 0, r.stdout.split('\n').filter((l) => /^not ok/.test(l)).join('\n'));
  assert.is(r.status, 0);
});

test('mqtt persistence - 20,000 deliveries in flight to one session: sent, acknowledged in any order, queue empty', async () => {
  const p = new IndexedMemoryPersistence();
  const client = { id: 'controller-1' };
  const n = 20_000;
  for (let i = 1; i <= n; i++) await p.outgoingEnqueue({ clientId: client.id }, { cmd: 'publish', topic: 't', payload: Buffer.from(String(i)), qos: 1, brokerId: 'b', brokerCounter: i });
  // As aedes sends each one: a packet id (wrapping at 65535 would not happen here), recorded by outgoingUpdate.
  for (let i = 1; i <= n; i++) await p.outgoingUpdate(client, { cmd: 'publish', topic: 't', brokerId: 'b', brokerCounter: i, messageId: i } as never);
  const ids: number[] = [];
  for await (const pkt of p.outgoingStream(client)) ids.push((pkt as { messageId: number }).messageId);
  assert.equal(ids, Array.from({ length: n }, (_, i) => i + 1), 'stream in enqueue order, with the ids given');
  // PUBACKs out of order: odd ids first, then even ones backwards.
  const order = [...ids.filter((i) => i % 2 === 1), ...ids.filter((i) => i % 2 === 0).reverse()];
  for (const id of order) {
    const got = (await p.outgoingClearMessageId(client, { messageId: id })) as { payload: Buffer } | undefined;
    assert.is(got?.payload.toString(), String(id));
  }
  assert.is(await p.outgoingClearMessageId(client, { messageId: 1 }), undefined, 'a second PUBACK finds nothing');
  const left: unknown[] = [];
  for await (const pkt of p.outgoingStream(client)) left.push(pkt);
  assert.is(left.length, 0);
  let err: Error | null = null;
  await p.outgoingUpdate(client, { brokerId: 'b', brokerCounter: 1, messageId: 1 } as never).catch((e: Error) => (err = e));
  assert.match(String(err), /no such packet/, 'an update for a packet no longer queued is refused, as in aedes-persistence');
});

type Persistence = Pick<IndexedMemoryPersistence, 'outgoingEnqueueCombi' | 'outgoingUpdate' | 'outgoingClearMessageId' | 'outgoingStream'>;
const StockPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as new () => Persistence;

async function snapshot(p: Persistence, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const pkt of p.outgoingStream({ id })) {
    const x = pkt as { brokerId: string; brokerCounter: number; messageId?: number; payload: Buffer };
    out.push(`${x.brokerId}/${x.brokerCounter}/${x.messageId}/${x.payload.toString()}`);
  }
  return out;
}

test('mqtt persistence - 12,000 random operations give the same results as the stock in-memory persistence', async () => {
  // Small key spaces on purpose: the same message queued twice (overlapping subscriptions), packet ids reused
  // while an old packet still holds them, two brokers, updates and acknowledgements for unknown packets.
  const r = prng(7);
  const int = (n: number) => Math.floor(r() * n);
  const stock = new StockPersistence();
  const ours = new IndexedMemoryPersistence();
  const clients = ['c1', 'c2'];
  for (let i = 0; i < 12_000; i++) {
    const id = clients[int(2)]!;
    const op = r();
    const brokerId = r() < 0.8 ? 'b1' : 'b2';
    const brokerCounter = 1 + int(40);
    const messageId = r() < 0.05 ? undefined : 1 + int(30);
    let a: string;
    let b: string;
    if (op < 0.3) {
      const subs = Array.from({ length: 1 + int(2) }, () => ({ clientId: id }));
      const packet = { cmd: 'publish', topic: 't', payload: Buffer.from(String(i)), qos: 1, brokerId, brokerCounter };
      await stock.outgoingEnqueueCombi(subs, packet);
      await ours.outgoingEnqueueCombi(subs, packet);
      a = b = 'enqueued';
    } else if (op < 0.65) {
      const packet = { cmd: 'publish', topic: 't', payload: Buffer.from(`u${i}`), qos: 1, brokerId, brokerCounter, messageId };
      a = await stock.outgoingUpdate({ id }, { ...packet } as never).then(() => 'ok', (e: Error) => e.message);
      b = await ours.outgoingUpdate({ id }, { ...packet } as never).then(() => 'ok', (e: Error) => e.message);
    } else {
      const pa = (await stock.outgoingClearMessageId({ id }, { messageId })) as { brokerCounter: number; payload: Buffer } | undefined;
      const pb = (await ours.outgoingClearMessageId({ id }, { messageId })) as { brokerCounter: number; payload: Buffer } | undefined;
      a = pa === undefined ? 'none' : `${pa.brokerCounter}/${pa.payload.toString()}`;
      b = pb === undefined ? 'none' : `${pb.brokerCounter}/${pb.payload.toString()}`;
    }
    if (a !== b) assert.unreachable(`operation ${i}: stock ${a}, indexed ${b}`);
    if (i % 25 === 0) {
      const sa = await snapshot(stock, id);
      const sb = await snapshot(ours, id);
      if (sa.join() !== sb.join()) assert.fixture(sb.join('\n'), sa.join('\n'), `queue of ${id} after operation ${i}`);
    }
  }
});

test.run();
