/**
 * The embedded broker's session persistence: the aedes-persistence conformance suite passes against the indexed
 * outgoing queues, and a persistent-session subscriber with thousands of QoS 1 messages in flight gets every
 * message once, in order, with none left queued after its PUBACKs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IndexedMemoryPersistence } from '../../adapters/mqtt/persistence.js';
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

test.run();
