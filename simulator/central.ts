/**
 * The simulator as the central system: it consumes the gateway's event batches from JetStream (an ordered
 * consumer starting after the last message already in the stream) and checks that every read that was
 * acknowledged arrives exactly once, with the verdict, reason, station and item the line was told about and
 * the very event id its verdict carried. Events of other devices (other runs, real scanners) are ignored.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { decodeEventBatch } from '../protocol/index.js';
import { eventIdSeq, histogram, type Checker } from './checker.js';
import { Kind } from './workload.js';

export const EVENTS_STREAM = 'SCANGATE_EVENTS';
export const STATUS_STREAM = 'SCANGATE_STATUS';

/** nanoseconds, as JetStream configs count. */
const NS_PER_MS = 1_000_000;

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}

/** Create the events and status streams as central would, when missing (DESIGN.md "NATS"). */
export async function ensureStreams(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const want = [
    { name: EVENTS_STREAM, subjects: ['scangate.v1.events.>'], duplicate_window: 120_000 * NS_PER_MS },
    { name: STATUS_STREAM, subjects: ['scangate.v1.status.>'] },
  ];
  for (const s of want) {
    try {
      await jsm.streams.info(s.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
      try {
        await jsm.streams.add({ ...s, retention: RetentionPolicy.Limits, storage: StorageType.File, discard: DiscardPolicy.New });
      } catch (e) {
        if (!(e instanceof JetStreamApiError && e.code === 10058)) throw e; // created meanwhile
      }
    }
  }
}

export class Central {
  private readonly nc: NatsConnection;
  private readonly chk: Checker;
  private readonly ssccPrefix: string;
  private iter: ConsumerMessages | null = null;
  private done: Promise<void> = Promise.resolve();
  batches = 0;
  /** Events of this run's devices. */
  events = 0;
  foreignEvents = 0;
  /** Events that match no read, or a read that must not produce one (a duplicate read). */
  unexpectedEvents = 0;
  /** Aggregation children added to this run's containers. */
  aggregationChildren = 0;
  lastArrivalMs = 0;
  /** Read scheduled -> its event consumed from the stream, in us. */
  readonly latency = histogram();

  constructor(nc: NatsConnection, chk: Checker, ssccPrefix: string) {
    this.nc = nc;
    this.chk = chk;
    this.ssccPrefix = ssccPrefix;
  }

  /** Start consuming `subject` after the stream's current last message. */
  async start(subject: string): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(EVENTS_STREAM);
    const c = await jetstream(this.nc).consumers.get(EVENTS_STREAM, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    const iter = await c.consume({ max_messages: 256 });
    this.iter = iter;
    this.done = (async () => {
      for await (const m of iter) {
        try {
          this.onBatch(m.data);
        } catch {
          this.unexpectedEvents++;
        }
      }
    })();
  }

  private onBatch(data: Uint8Array): void {
    const b = decodeEventBatch(data);
    this.batches++;
    const now = performance.now();
    this.lastArrivalMs = now;
    const chk = this.chk;
    const w = chk.w;
    for (const ev of b.events) {
      const st = chk.devices.get(ev.device);
      if (st === undefined) {
        this.foreignEvents++;
        continue;
      }
      this.events++;
      const i = ev.readSeq - 1;
      if (i < 0 || i >= w.n || w.station[i] !== st || !w.expectsEvent(i)) {
        this.unexpectedEvents++;
        if (i >= 0 && i < w.n) chk.mismatch(i, 'central', `an event for a read that must produce none: ${ev.eventId}`);
        continue;
      }
      const n = chk.events[i]!;
      chk.events[i] = Math.min(255, n + 1);
      if (n > 0) continue; // a duplicate: counted at the end
      this.latency.recordValue(Math.max(1, Math.round((now - chk.scheduled(i)) * 1000)));
      const why = this.disagrees(i, ev);
      if (why !== '') chk.mismatch(i, 'central', why);
    }
    for (const ag of b.aggregations) {
      if (ag.action === 1 && ag.parentSscc.startsWith(this.ssccPrefix)) this.aggregationChildren += ag.children.length;
    }
  }

  private disagrees(i: number, ev: ReturnType<typeof decodeEventBatch>['events'][number]): string {
    const w = this.chk.w;
    const s = w.stations[w.station[i]!]!;
    const exp = w.expReason[i]!;
    if (ev.reason !== exp) return `reason ${ev.reason}, expected ${exp} (${ev.eventId})`;
    if ((ev.verdict === 1) !== (exp === 0)) return `verdict ${ev.verdict} (${ev.eventId})`;
    if (ev.line !== s.line || ev.station !== s.id) return `station ${ev.line}/${ev.station}, expected ${s.line}/${s.id}`;
    if (w.isContainerRead(i)) {
      const sscc = w.containers[w.ref[i]!]!;
      if (ev.sscc !== sscc) return `SSCC ${ev.sscc}, expected ${sscc}`;
    } else {
      const sr = w.serialOf(i);
      if (sr >= 0 && (ev.serial !== w.population.serials[sr] || ev.gtin !== w.population.gtin(sr))) {
        return `item ${ev.gtin}/${ev.serial}, expected ${w.population.gtin(sr)}/${w.population.serials[sr]}`;
      }
    }
    const vs = this.chk.eventSeq[i]!;
    if (vs !== 0 && vs !== eventIdSeq(ev.eventId)) {
      // Decided, then the gateway died before that decision was durable; the scanner sent the read again and
      // it was decided again (same verdict, new event). Not a wrong answer, but counted.
      if (this.chk.resentFlag[i] === 1) this.chk.redecided++;
      else return `event id ${ev.eventId}, but the verdict said ...:${vs}`;
    }
    return '';
  }

  /** Children the gateway must have added to this run's cases and pallets (accepted aggregation reads). */
  expectedAggregationChildren(): number {
    const w = this.chk.w;
    let n = 0;
    for (let i = 0; i < w.n; i++) {
      const k = w.kind[i];
      if ((k === Kind.PackItem || k === Kind.CaseOnPallet) && this.chk.events[i]! > 0) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    await this.iter?.close().catch(() => undefined);
    await this.done.catch(() => undefined);
  }
}
