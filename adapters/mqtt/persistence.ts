/**
 * aedes's in-memory persistence with indexed outgoing queues. The stock one keeps each persistent session's
 * QoS 1 deliveries in an array and scans it on every send (outgoingUpdate) and every PUBACK
 * (outgoingClearMessageId): with thousands of verdicts in flight to a line controller that keeps its session,
 * every message costs a scan of all the others and the broker's rate halves. Here each session's queue is a Map
 * in delivery order (slot -> packet) with two indexes, by (brokerId, brokerCounter) and by packet id, so both
 * are O(1); the order, the results and the errors are those of the stock implementation (the aedes-persistence
 * conformance suite runs against this class in test/integration/mqtt-persistence.test.ts).
 *
 * Every publish asks which persistent sessions subscribe to its topic (subscriptionsByTopic: a trie walk that
 * splits the topic and builds a fresh list): a gateway publishes to a few hundred topics at most (a verdict and a
 * reject topic per station), so the answers are kept per topic until any subscription changes. (With the
 * `broadcastSubscriptions` option other brokers' subscriptions would change the trie behind these methods:
 * this class is built without it, for one broker.)
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { TopicMemo } from './topic-memo.js';

const require = createRequire(import.meta.url);

interface OutPacket {
  brokerId: string;
  brokerCounter: number;
  messageId?: number | undefined;
  [k: string]: unknown;
}
type PacketCtor = new (original: unknown, broker?: unknown) => OutPacket;
interface MemoryPersistenceBase {
  setup(broker: unknown): Promise<void>;
  addSubscriptions(client: { id: string }, subs: unknown[]): Promise<void>;
  removeSubscriptions(client: { id: string }, subs: string[]): Promise<void>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
  subscriptionsByTopic(topic: string): Promise<unknown[]>;
  destroy(): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: OutPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<OutPacket | undefined>;
  outgoingStream(client: { id: string }): Readable;
}

const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new (opts?: object) => MemoryPersistenceBase;
const Packet = require('aedes-packet') as PacketCtor;

/**
 * One session's deliveries in order, indexed. Both indexes point at the first packet in order holding their key
 * (what the stock linear scans find) and count the packets holding it, so a lookup is O(1) and a scan is needed
 * only when a key is held twice (the same message queued for two overlapping subscriptions, a packet id reused
 * while an old packet still holds it).
 */
class OutQueue {
  readonly order = new Map<number, OutPacket>();
  /** By broker id (one, unless brokers share the persistence), then by broker counter: no key to build. */
  private readonly byCounter = new Map<string, CounterIndex>();
  private readonly byId = new Index<number>();
  private next = 0;

  private counters(brokerId: string): CounterIndex {
    let c = this.byCounter.get(brokerId);
    if (c === undefined) this.byCounter.set(brokerId, (c = new CounterIndex(brokerId)));
    return c;
  }

  add(p: OutPacket): void {
    const slot = this.next++;
    this.order.set(slot, p);
    this.counters(p.brokerId).index.add(p.brokerCounter, slot);
    if (p.messageId !== undefined) this.byId.add(p.messageId, slot);
  }

  private forgetCounter(p: OutPacket, slot: number): void {
    const c = this.counters(p.brokerId);
    c.index.remove(p.brokerCounter, slot, c.keyOf, this.order);
  }

  /**
   * outgoingUpdate, as the stock scan: the first packet in order that is this one (same broker and counter) gets
   * its id, unless a packet of another broker holding that id comes first, which is replaced by it.
   */
  update(packet: OutPacket): boolean {
    const c = this.byCounter.get(packet.brokerId);
    const a = c === undefined ? undefined : c.index.first(packet.brokerCounter, c.keyOf, this.order);
    // A packet of another broker with this id before it? Only possible when some packet holds the id (or the id
    // is unset, which aedes never sends): then the stock scan, up to `a`.
    if (packet.messageId === undefined || this.byId.count(packet.messageId) > 0) {
      for (const [slot, p] of this.order) {
        if (a !== undefined && slot >= a) break;
        if (p.brokerId !== packet.brokerId && p.messageId === packet.messageId) {
          this.forgetCounter(p, slot);
          this.order.set(slot, packet);
          this.counters(packet.brokerId).index.add(packet.brokerCounter, slot);
          return true;
        }
      }
    }
    if (a === undefined) return false;
    const temp = this.order.get(a)!;
    if (temp.messageId !== packet.messageId) {
      if (temp.messageId !== undefined) this.byId.remove(temp.messageId, a, idOf, this.order);
      temp.messageId = packet.messageId;
      if (packet.messageId !== undefined) this.byId.add(packet.messageId, a);
    }
    return true;
  }

  /** outgoingClearMessageId: remove and return the first packet in order with this id. */
  clear(messageId: number | undefined): OutPacket | undefined {
    let slot: number | undefined;
    if (messageId !== undefined) slot = this.byId.first(messageId, idOf, this.order);
    else {
      for (const [s, p] of this.order) {
        if (p.messageId === undefined) {
          slot = s;
          break;
        }
      }
    }
    if (slot === undefined) return undefined;
    const temp = this.order.get(slot)!;
    this.order.delete(slot);
    this.forgetCounter(temp, slot);
    if (temp.messageId !== undefined) this.byId.remove(temp.messageId, slot, idOf, this.order);
    return temp;
  }

  get size(): number {
    return this.order.size;
  }
}

/** key -> first slot in order holding it, and how many packets hold it. */
class Index<K> {
  private readonly firstSlot = new Map<K, number>();
  private readonly counts = new Map<K, number>();

  count(key: K | undefined): number {
    return key === undefined ? 0 : (this.counts.get(key) ?? 0);
  }

  add(key: K, slot: number): void {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    const f = this.firstSlot.get(key);
    if (f === undefined || slot < f) this.firstSlot.set(key, slot);
  }

  first(key: K, keyOf: (p: OutPacket) => K | undefined, order: Map<number, OutPacket>): number | undefined {
    const f = this.firstSlot.get(key);
    if (f === undefined) return undefined;
    const p = order.get(f);
    if (p !== undefined && keyOf(p) === key) return f;
    return this.rescan(key, keyOf, order);
  }

  /** `slot` no longer holds `key` (removed from the queue, or about to hold another key). */
  remove(key: K, slot: number, keyOf: (p: OutPacket) => K | undefined, order: Map<number, OutPacket>): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) {
      this.counts.delete(key);
      this.firstSlot.delete(key);
      return;
    }
    this.counts.set(key, n);
    if (this.firstSlot.get(key) !== slot) return;
    this.firstSlot.delete(key);
    for (const [s, p] of order) {
      if (s !== slot && keyOf(p) === key) {
        this.firstSlot.set(key, s);
        return;
      }
    }
  }

  private rescan(key: K, keyOf: (p: OutPacket) => K | undefined, order: Map<number, OutPacket>): number | undefined {
    for (const [s, p] of order) {
      if (keyOf(p) === key) {
        this.firstSlot.set(key, s);
        return s;
      }
    }
    this.firstSlot.delete(key);
    this.counts.delete(key);
    return undefined;
  }
}

/** One broker's packets by counter; keyOf answers no key for another broker's packet. */
class CounterIndex {
  readonly index = new Index<number>();
  readonly keyOf: (p: OutPacket) => number;
  constructor(brokerId: string) {
    this.keyOf = (p) => (p.brokerId === brokerId ? p.brokerCounter : Number.NaN); // NaN equals no key
  }
}

const idOf = (p: OutPacket) => p.messageId;

export class IndexedMemoryPersistence extends MemoryPersistence {
  private readonly queues = new Map<string, OutQueue>();
  /** topic -> the sessions subscribing to it, as the trie answered; shared by callers, who only read it. */
  private readonly matches = new TopicMemo<unknown[]>();

  override async subscriptionsByTopic(topic: string): Promise<unknown[]> {
    const kept = this.matches.get(topic);
    if (kept !== undefined) return kept;
    const generation = this.matches.generation;
    const subs = await super.subscriptionsByTopic(topic);
    this.matches.set(topic, subs, generation);
    return subs;
  }

  /** A change of subscriptions: the memo is cleared before it starts and after it is done. */
  private async changing(work: () => Promise<void>): Promise<void> {
    this.matches.clear();
    await work();
    this.matches.clear();
  }

  // async: aedes checks that setup() is an async function.
  override async setup(broker: unknown): Promise<void> {
    return this.changing(() => super.setup(broker));
  }

  override async addSubscriptions(client: { id: string }, subs: unknown[]): Promise<void> {
    return this.changing(() => super.addSubscriptions(client, subs));
  }

  override async removeSubscriptions(client: { id: string }, subs: string[]): Promise<void> {
    return this.changing(() => super.removeSubscriptions(client, subs));
  }

  override async cleanSubscriptions(client: { id: string }): Promise<void> {
    return this.changing(() => super.cleanSubscriptions(client));
  }

  override async destroy(): Promise<void> {
    return this.changing(() => super.destroy());
  }

  private queue(id: string, create: boolean): OutQueue | undefined {
    let q = this.queues.get(id);
    if (q === undefined && create) this.queues.set(id, (q = new OutQueue()));
    return q;
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void> {
    this.queue(sub.clientId, true)!.add(new Packet(packet));
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void> {
    for (const sub of subs) this.queue(sub.clientId, true)!.add(new Packet(packet));
  }

  override async outgoingUpdate(client: { id: string }, packet: OutPacket): Promise<void> {
    if (this.queue(client.id, false)?.update(packet) !== true) throw new Error('no such packet');
  }

  override async outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<OutPacket | undefined> {
    const q = this.queue(client.id, false);
    if (q === undefined) return undefined;
    const removed = q.clear(packet.messageId);
    if (q.size === 0) this.queues.delete(client.id);
    return removed;
  }

  override outgoingStream(client: { id: string }): Readable {
    // A copy: the queue changes while the stream is read.
    return Readable.from([...(this.queue(client.id, false)?.order.values() ?? [])]);
  }
}
