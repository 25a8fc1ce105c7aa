/**
 * aedes's in-memory persistence with indexed outgoing queues. The stock one keeps each persistent session's
 * QoS 1 deliveries in an array and scans it on every send (outgoingUpdate) and every PUBACK
 * (outgoingClearMessageId): with thousands of verdicts in flight to a line controller that keeps its session,
 * every message costs a scan of all the others and the broker's rate halves. Here each session's queue is a Map
 * in delivery order (slot -> packet) with two indexes, by (brokerId, brokerCounter) and by packet id, so both
 * are O(1); the order, the results and the errors are those of the stock implementation (the aedes-persistence
 * conformance suite runs against this class in test/integration/mqtt-persistence.test.ts).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

interface OutPacket {
  brokerId: string;
  brokerCounter: number;
  messageId?: number | undefined;
  [k: string]: unknown;
}
type PacketCtor = new (original: unknown, broker?: unknown) => OutPacket;
interface MemoryPersistenceBase {
  outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: OutPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<OutPacket | undefined>;
  outgoingStream(client: { id: string }): Readable;
}

const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new (opts?: object) => MemoryPersistenceBase;
const Packet = require('aedes-packet') as PacketCtor;

/** One session's deliveries in order, indexed. */
class OutQueue {
  readonly order = new Map<number, OutPacket>();
  private readonly byCounter = new Map<string, number>();
  private readonly byId = new Map<number, number>();
  private next = 0;

  add(p: OutPacket): void {
    const slot = this.next++;
    this.order.set(slot, p);
    this.byCounter.set(counterKey(p), slot);
    if (p.messageId !== undefined) this.indexId(p.messageId, slot);
  }

  /** outgoingUpdate: the first packet in order that is this one (same broker and counter) gets its id; or
   * the first from another broker with the same id is replaced by it. */
  update(packet: OutPacket): boolean {
    const a = this.byCounter.get(counterKey(packet));
    const slotA = a !== undefined && this.order.has(a) ? a : undefined;
    const slotB = packet.messageId !== undefined ? this.slotOfId(packet.messageId) : undefined;
    const b = slotB !== undefined && this.order.get(slotB)!.brokerId !== packet.brokerId ? slotB : undefined;
    if (slotA !== undefined && (b === undefined || slotA < b)) {
      const temp = this.order.get(slotA)!;
      temp.messageId = packet.messageId;
      if (packet.messageId !== undefined) this.indexId(packet.messageId, slotA);
      return true;
    }
    if (b !== undefined) {
      const old = this.order.get(b)!;
      this.byCounter.delete(counterKey(old));
      this.order.set(b, packet);
      this.byCounter.set(counterKey(packet), b);
      return true;
    }
    return false;
  }

  /** outgoingClearMessageId: remove and return the first packet in order with this id. */
  clear(messageId: number | undefined): OutPacket | undefined {
    let slot = messageId !== undefined ? this.slotOfId(messageId) : undefined;
    if (slot === undefined) {
      // An id no index entry holds (e.g. undefined): the stock scan, first match in order.
      for (const [s, p] of this.order) {
        if (p.messageId === messageId) {
          slot = s;
          break;
        }
      }
      if (slot === undefined) return undefined;
    }
    const temp = this.order.get(slot)!;
    this.order.delete(slot);
    if (this.byCounter.get(counterKey(temp)) === slot) this.byCounter.delete(counterKey(temp));
    if (temp.messageId !== undefined && this.byId.get(temp.messageId) === slot) {
      this.byId.delete(temp.messageId);
      // Another queued packet may carry the same id (ids wrap at 65535): index the first of them.
      for (const [s, p] of this.order) {
        if (p.messageId === temp.messageId) {
          this.byId.set(temp.messageId, s);
          break;
        }
      }
    }
    return temp;
  }

  get size(): number {
    return this.order.size;
  }

  /** The slot of the first packet in order holding this id now (the index may be stale after an update). */
  private slotOfId(id: number): number | undefined {
    const s = this.byId.get(id);
    if (s !== undefined && this.order.get(s)?.messageId === id) return s;
    for (const [slot, p] of this.order) {
      if (p.messageId === id) {
        this.byId.set(id, slot);
        return slot;
      }
    }
    if (s !== undefined) this.byId.delete(id);
    return undefined;
  }

  /** Index `id` at `slot` unless an earlier packet in order already holds it. */
  private indexId(id: number, slot: number): void {
    const s = this.byId.get(id);
    if (s !== undefined && s < slot && this.order.get(s)?.messageId === id) return;
    this.byId.set(id, slot);
  }
}

const counterKey = (p: OutPacket) => `${p.brokerId}\u0000${p.brokerCounter}`;

export class IndexedMemoryPersistence extends MemoryPersistence {
  private readonly queues = new Map<string, OutQueue>();

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
