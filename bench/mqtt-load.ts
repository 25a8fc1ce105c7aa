/**
 * A lean MQTT 3.1.1 load generator for the MQTT benchmark, run in its own process so that it never competes
 * with the broker for the broker's thread: raw TCP, packets built in place, a window of unacknowledged QoS 1
 * publishes per connection, and optionally a verdict subscriber that acknowledges what it receives.
 * Started by bench/mqtt.ts with `fork`; the plan comes in as JSON in argv[2] and the result goes back over IPC.
 */
import { connect, type Socket } from 'node:net';
import { Framer, connectPacket, publishPacket, subscribePacket } from '../simulator/wire.js';

export interface LoadPlan {
  host: string;
  port: number;
  /** Publishing connections. */
  clients: number;
  /** Unacknowledged QoS 1 publishes per connection. */
  window: number;
  warmupMs: number;
  measureMs: number;
  /** One read topic per connection, used round-robin. */
  topics: string[];
  /** Payload template: `{n}` is replaced by a unique number (zero-padded to 10 digits). */
  payload: string;
  /** Subscribe to this filter (QoS 1) and count what arrives. */
  subscribe?: string;
  username?: string;
  password?: string;
  clientIdPrefix?: string;
  /** Offered reads per second over all connections (absent: as fast as the window allows). */
  ratePerS?: number;
  /** Verdict latency: payload numbers are send times; the subscriber measures receive - send (ms). */
  measureLatency?: boolean;
}

export interface LoadResult {
  sent: number;
  acked: number;
  /** Acknowledged during the measuring window only. */
  measuredAcks: number;
  measuredMs: number;
  received: number;
  measuredReceived: number;
  errors: string[];
  /** Publish-to-verdict latency percentiles in ms (measureLatency). */
  latencyMs?: { p50: number; p90: number; p99: number; max: number; count: number };
}

const N_DIGITS = 10;

/** A PUBLISH QoS 1 template whose message id and number are written in place for each message. */
class PublishTemplate {
  readonly buf: Buffer;
  private readonly idOffset: number;
  private readonly numOffset: number;

  constructor(topic: string, payload: string) {
    const at = payload.indexOf('{n}');
    if (at < 0) throw new Error('payload template needs {n}');
    const p = Buffer.from(payload.replace('{n}', '0'.repeat(N_DIGITS)), 'latin1');
    this.buf = publishPacket(topic, p, 1, 0);
    // A PUBLISH ends with the packet id (2 bytes) and the payload.
    this.idOffset = this.buf.length - p.length - 2;
    this.numOffset = this.idOffset + 2 + Buffer.byteLength(payload.slice(0, at), 'latin1');
  }

  /** A fresh copy with this id and number. */
  make(id: number, n: number): Buffer {
    const b = Buffer.allocUnsafe(this.buf.length);
    this.buf.copy(b);
    b.writeUInt16BE(id, this.idOffset);
    let x = n;
    for (let i = N_DIGITS - 1; i >= 0; i--) {
      b[this.numOffset + i] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    }
    return b;
  }
}

function openSocket(plan: LoadPlan, clientId: string, onPacket: (type: number, body: Buffer) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: plan.host, port: plan.port, noDelay: true });
    let connected = false;
    const framer = new Framer((type, body) => {
      if (!connected && type === 0x20) {
        connected = true;
        if (body[1] !== 0) return reject(new Error(`CONNACK return code ${body[1]}`));
        return resolve(s);
      }
      onPacket(type, body);
    });
    s.on('data', (d: Buffer) => framer.push(d));
    s.once('error', (err) => (connected ? undefined : reject(err)));
    s.write(connectPacket(clientId, true, 0, plan.username, plan.password)); // keepalive 0: no pings
  });
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const res: LoadResult = { sent: 0, acked: 0, measuredAcks: 0, measuredMs: plan.measureMs, received: 0, measuredReceived: 0, errors: [] };
  let measuring = false;
  let stopping = false;
  let next = 0;
  const prefix = plan.clientIdPrefix ?? `load-${process.pid}`;
  const tStart = performance.now();
  const rate = plan.ratePerS;
  const capacity = rate !== undefined ? Math.ceil((rate * (plan.warmupMs + plan.measureMs + 6000)) / 1000) : 0;
  const sentAt = plan.measureLatency ? new Float64Array(Math.max(capacity, 1)) : null;
  const lat: number[] = [];
  const at = plan.payload.indexOf('{n}');
  const marker = Buffer.from(plan.payload.slice(Math.max(0, at - 3), at), 'latin1');
  /** Messages the rate allows to have been sent by now. */
  const allowed = () => (rate === undefined ? Infinity : Math.floor(((performance.now() - tStart) * rate) / 1000));

  if (plan.subscribe !== undefined) {
    let sub: Socket | null = null;
    sub = await openSocket(plan, `${prefix}-sub`, (type, body) => {
      if ((type & 0xf0) !== 0x30) return;
      res.received++;
      if (measuring) res.measuredReceived++;
      if (sentAt !== null && measuring) {
        const i = body.indexOf(marker);
        if (i >= 0) {
          let n = 0;
          for (let j = i + marker.length; j < i + marker.length + N_DIGITS; j++) n = n * 10 + (body[j]! - 0x30);
          if (n < sentAt.length && sentAt[n]! > 0) lat.push(performance.now() - sentAt[n]!);
        }
      }
      const qos = (type >> 1) & 3;
      if (qos > 0) {
        const tlen = body.readUInt16BE(0);
        const id = body.readUInt16BE(2 + tlen);
        sub!.write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
      }
    });
    sub.write(subscribePacket(1, [plan.subscribe], 1));
    sub.on('error', (err) => res.errors.push(`subscriber: ${err.message}`));
    await new Promise((r) => setTimeout(r, 100));
  }

  const sockets: Socket[] = [];
  const fillers: (() => void)[] = [];
  for (let c = 0; c < plan.clients; c++) {
    const tpl = new PublishTemplate(plan.topics[c % plan.topics.length]!, plan.payload);
    const busy = new Uint8Array(65536);
    let nextId = 1;
    let outstanding = 0;
    let sock: Socket | null = null;
    const fill = () => {
      if (stopping || sock === null) return;
      const parts: Buffer[] = [];
      const limit = allowed();
      while (outstanding < plan.window && next < limit) {
        while (busy[nextId] === 1) nextId = nextId === 65535 ? 1 : nextId + 1;
        busy[nextId] = 1;
        if (sentAt !== null && next < sentAt.length) sentAt[next] = performance.now();
        parts.push(tpl.make(nextId, next++));
        nextId = nextId === 65535 ? 1 : nextId + 1;
        outstanding++;
        res.sent++;
      }
      if (parts.length > 0) sock.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    };
    let pendingFill = false;
    sock = await openSocket(plan, `${prefix}-${c}`, (type, body) => {
      if (type !== 0x40) return;
      const id = body.readUInt16BE(0);
      if (busy[id] !== 1) return;
      busy[id] = 0;
      outstanding--;
      res.acked++;
      if (measuring) res.measuredAcks++;
      if (!pendingFill) {
        // Refill once per socket read, not once per PUBACK: fewer, larger writes.
        pendingFill = true;
        setImmediate(() => {
          pendingFill = false;
          fill();
        });
      }
    });
    sock.on('error', (err) => res.errors.push(`publisher ${c}: ${err.message}`));
    sockets.push(sock);
    fillers.push(fill);
    fill();
  }
  // With a rate, publish on a 1 ms clock as well as on acknowledgements.
  const clock = rate !== undefined ? setInterval(() => fillers.forEach((f) => f()), 1) : null;
  await new Promise((r) => setTimeout(r, plan.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, plan.measureMs));
  measuring = false;
  res.measuredMs = performance.now() - t0;
  stopping = true;
  if (clock !== null) clearInterval(clock);
  if (lat.length > 0) {
    lat.sort((a, b) => a - b);
    const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]! * 1000) / 1000;
    res.latencyMs = { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1), count: lat.length };
  }
  const end = Date.now() + 5000;
  while (res.acked < res.sent && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  for (const s of sockets) s.destroy();
  return res;
}

// Entry point when forked by the benchmark.
if (process.send !== undefined && process.argv[2] !== undefined) {
  const plan = JSON.parse(process.argv[2]) as LoadPlan;
  runLoad(plan).then(
    (r) => process.send!(r, () => process.exit(0)),
    (err: unknown) => process.send!({ error: (err as Error).message }, () => process.exit(1)),
  );
}
