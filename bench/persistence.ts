/**
 * Session store bench: one persistent session receiving QoS 1 messages with a window of them in flight (sent,
 * not yet acknowledged), through aedes-persistence's in-memory store and the gateway's indexed one, in the same
 * run. Each message: enqueue, update (its packet id on send), clear (its PUBACK). `npm run bench -- persistence`.
 */
import { createRequire } from 'node:module';
import { IndexedMemoryPersistence } from '../adapters/mqtt/persistence.js';

type Store = Pick<IndexedMemoryPersistence, 'outgoingEnqueue' | 'outgoingUpdate' | 'outgoingClearMessageId'>;
const Stock = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as new () => Store;
const N = 20_000;

async function run1(p: Store, window: number): Promise<number> {
  const c = { id: 'controller' };
  const id = (i: number) => (i % 65535) + 1;
  const t = performance.now();
  let acked = 0;
  for (let i = 1; i <= N; i++) {
    await p.outgoingEnqueue({ clientId: c.id }, { cmd: 'publish', topic: 'v', payload: Buffer.from('x'), qos: 1, brokerId: 'b', brokerCounter: i });
    await p.outgoingUpdate(c, { cmd: 'publish', topic: 'v', brokerId: 'b', brokerCounter: i, messageId: id(i) } as never);
    if (i - acked > window) await p.outgoingClearMessageId(c, { messageId: id(++acked) });
  }
  while (acked < N) await p.outgoingClearMessageId(c, { messageId: id(++acked) });
  return performance.now() - t;
}

export async function run(): Promise<void> {
  for (const window of [10, 1000, 3000, 20_000]) {
    const stock = await run1(new Stock(), window);
    const indexed = await run1(new IndexedMemoryPersistence(), window);
    console.log(`${N.toLocaleString('en-US')} messages, ${window.toLocaleString('en-US')} in flight: stock ${stock.toFixed(0)} ms, indexed ${indexed.toFixed(0)} ms (${(stock / indexed).toFixed(1)}x)`);
  }
}
