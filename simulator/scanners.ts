/**
 * The scanners and the line controller, over the lean MQTT client.
 *
 * A scanner is one MQTT connection per station with a persistent session (clean session 0), publishing its
 * station's reads at QoS 1 in order. Reads are released on a fixed schedule (open loop): read i is due at
 * t0 + i / rate whatever the gateway does; a due read is sent at once unless the read it depends on is not
 * acknowledged yet (a product does not reach the next station before it left the last), in which case the
 * station waits, as a conveyor would. After a reconnect every unacknowledged read is sent again, in order,
 * with the DUP flag (MQTT 3.1.1, 4.4).
 *
 * The line controllers are in controller.ts.
 */
import type { Checker } from './checker.js';
import type { LineController } from './controller.js';
import { PacketType, WireConnection, publishPacket, varintLength, writeVarint } from './wire.js';
import type { Workload } from './workload.js';
import type { SimStation } from './site.js';

export interface Endpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

/**
 * Most unacknowledged reads per scanner. A scanner holding more than this waits (the reads stay due, their
 * latency grows): a gateway that falls behind is shown by latency, not buried under an unbounded backlog.
 */
const WINDOW = 1024;
export const RECONNECT_MS = 100;

/**
 * Connect, retrying for a while: a broker limits new connections per address and second (mqtt.limits
 * .maxConnectsPerAddressPerS), and a whole fleet starting from one address meets that limit.
 */
export async function openWithRetry(conn: WireConnection, attempts = 40): Promise<void> {
  for (let k = 1; ; k++) {
    try {
      await conn.open();
      return;
    } catch (err) {
      if (k >= attempts) throw new Error(`cannot connect ${conn.opts.clientId} to ${conn.opts.host}:${conn.opts.port}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
    }
  }
}

export class Scanner {
  readonly st: SimStation;
  readonly conn: WireConnection;
  private readonly w: Workload;
  private readonly chk: Checker;
  private readonly fleet: Fleet;
  private readonly queue: Int32Array;
  private readonly topic: Buffer;
  /** Next position of the queue to send; reads before it were sent. */
  pos = 0;
  /** Reads of the queue whose time has come. */
  released = 0;
  /** First position that may still be unacknowledged. */
  private floor = 0;
  private inflight = 0;
  private readonly pidToRead = new Int32Array(65536).fill(-1);
  /** Packet id of each unacknowledged read of this station, by queue position. */
  private readonly pidAt: Uint16Array;
  private nextPid = 1;
  blockedOn = -1;
  private closing = false;
  reconnects = 0;
  /** The line's controller: after a gateway restart the line starts again only once it hears verdicts. */
  controller: LineController | null = null;

  constructor(st: SimStation, ep: Endpoint, clientId: string, w: Workload, chk: Checker, fleet: Fleet) {
    this.st = st;
    this.w = w;
    this.chk = chk;
    this.fleet = fleet;
    this.queue = w.queues[st.index]!;
    this.pidAt = new Uint16Array(this.queue.length);
    const t = Buffer.from(`${st.base}/read`, 'utf8');
    this.topic = Buffer.allocUnsafe(t.length + 2);
    this.topic.writeUInt16BE(t.length, 0);
    t.copy(this.topic, 2);
    const opts = { host: ep.host, port: ep.port, clientId, clean: false, keepaliveS: 30, connectTimeoutMs: 3000 } as ConstructorParameters<typeof WireConnection>[0];
    if (ep.username !== undefined) opts.username = ep.username;
    if (ep.password !== undefined) opts.password = ep.password;
    this.conn = new WireConnection(opts, {
      onPacket: (first, body) => {
        if (first >> 4 === PacketType.PUBACK) this.onPuback((body[0]! << 8) | body[1]!);
      },
      onConnected: () => this.resend(),
      onClose: () => this.reconnectLater(),
    });
  }

  get size(): number {
    return this.queue.length;
  }

  async open(): Promise<void> {
    await openWithRetry(this.conn);
  }

  private reconnectLater(): void {
    if (this.closing) return;
    this.reconnects++;
    const t = setTimeout(() => {
      if (this.closing) return;
      // A line stops while its controller hears no verdicts (a product must not pass undecided).
      if (this.controller !== null && !this.controller.subscribed) return this.reconnectLater();
      this.conn.open().catch(() => this.reconnectLater());
    }, RECONNECT_MS);
    t.unref();
  }

  private onPuback(pid: number): void {
    const i = this.pidToRead[pid]!;
    if (i < 0) return;
    this.pidToRead[pid] = -1;
    this.inflight--;
    this.chk.onAck(i, performance.now());
    this.fleet.acked(i);
  }

  /** After a reconnect: every read sent and not acknowledged, again, in order, with DUP and its packet id. */
  private resend(): void {
    const parts: Buffer[] = [];
    const q = this.queue;
    while (this.floor < this.pos && this.chk.ackAt[q[this.floor]!] !== 0) this.floor++;
    for (let p = this.floor; p < this.pos; p++) {
      const i = q[p]!;
      if (this.chk.ackAt[i] !== 0) continue;
      const pid = this.pidAt[p]!;
      if (pid === 0 || this.pidToRead[pid] !== i) continue;
      parts.push(publishPacket(`${this.st.base}/read`, this.w.payload(i), 1, pid, true));
      this.chk.onSent(i, performance.now());
    }
    if (parts.length > 0) this.conn.write(Buffer.concat(parts));
    this.pump();
  }

  /** Send what is due, in order, as one write. */
  pump(): void {
    if (!this.conn.connected || this.pos >= this.released) return;
    const w = this.w;
    const q = this.queue;
    const ackAt = this.chk.ackAt;
    const st = this.st.index;
    let end = this.pos;
    this.blockedOn = -1;
    const payloads: string[] = [];
    let bytes = 0;
    while (end < this.released && this.inflight + payloads.length < WINDOW) {
      const i = q[end]!;
      const d = w.dep[i]!;
      // A dependency on another station must be durable first; one on this station is ordered by the connection.
      if (d >= 0 && ackAt[d] === 0 && w.station[d] !== st) {
        this.blockedOn = d;
        this.fleet.waitFor(d, this);
        break;
      }
      const p = w.payload(i);
      payloads.push(p);
      const rem = this.topic.length + 2 + p.length;
      bytes += 1 + varintLength(rem) + rem;
      end++;
    }
    if (payloads.length === 0) return;
    const buf = Buffer.allocUnsafe(bytes);
    let off = 0;
    const now = performance.now();
    for (let k = 0; k < payloads.length; k++) {
      const i = q[this.pos + k]!;
      const p = payloads[k]!;
      let pid = this.nextPid;
      while (this.pidToRead[pid] !== -1) pid = pid === 65535 ? 1 : pid + 1;
      this.nextPid = pid === 65535 ? 1 : pid + 1;
      this.pidToRead[pid] = i;
      this.pidAt[this.pos + k] = pid;
      buf[off++] = 0x32; // PUBLISH, QoS 1
      off = writeVarint(buf, off, this.topic.length + 2 + p.length);
      this.topic.copy(buf, off);
      off += this.topic.length;
      buf[off++] = pid >> 8;
      buf[off++] = pid & 0xff;
      off += buf.write(p, off, 'latin1');
      this.chk.onSent(i, now);
    }
    this.inflight += payloads.length;
    this.pos = end;
    this.conn.write(buf);
  }

  /** The oldest read of this station due and not acknowledged (global index), -1 when none. */
  oldestPending(): number {
    const q = this.queue;
    while (this.floor < this.pos && this.chk.ackAt[q[this.floor]!] !== 0) this.floor++;
    return this.floor < this.released ? q[this.floor]! : -1;
  }

  /** Every read of this station sent and acknowledged. */
  get done(): boolean {
    return this.pos >= this.queue.length && this.inflight === 0;
  }

  get unacked(): number {
    return this.inflight;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.conn.close();
  }

  /** Drop the connection as a power cut would (no DISCONNECT): the session redelivers later. */
  kill(): void {
    this.conn.destroy();
  }
}

/** All scanners, and the schedule that releases reads to them. */
export class Fleet {
  readonly scanners: Scanner[] = [];
  private readonly w: Workload;
  private readonly chk: Checker;
  /** Reads released so far (global order). */
  released = 0;
  private readonly waiting = new Map<number, Scanner[]>();
  private pumpSoon = false;

  constructor(w: Workload, chk: Checker) {
    this.w = w;
    this.chk = chk;
  }

  add(s: Scanner): void {
    this.scanners.push(s);
  }

  waitFor(read: number, s: Scanner): void {
    const l = this.waiting.get(read);
    if (l === undefined) this.waiting.set(read, [s]);
    else if (!l.includes(s)) l.push(s);
  }

  /** A read was acknowledged: wake the stations waiting for it (once per event-loop turn). */
  acked(read: number): void {
    const l = this.waiting.get(read);
    if (l === undefined) return;
    this.waiting.delete(read);
    if (this.pumpSoon) return;
    this.pumpSoon = true;
    setImmediate(() => {
      this.pumpSoon = false;
      for (const s of this.scanners) if (s.blockedOn >= 0 && this.chk.ackAt[s.blockedOn] !== 0) s.pump();
    });
  }

  /** Release every read due by `now` and send. Returns the number released by this call. */
  release(now: number): number {
    const w = this.w;
    const due = Math.min(w.n, Math.floor((now - this.chk.t0) / this.chk.intervalMs) + 1);
    const before = this.released;
    if (due <= before) {
      for (const s of this.scanners) if (s.released > s.pos) s.pump();
      return 0;
    }
    const sc = this.scanners;
    for (let i = before; i < due; i++) sc[w.station[i]!]!.released++;
    this.released = due;
    // Every station with reads due: new ones, or ones held by a full window or a dependency.
    for (let k = 0; k < sc.length; k++) if (sc[k]!.released > sc[k]!.pos) sc[k]!.pump();
    return due - before;
  }

  /** The oldest read due and not acknowledged yet (global index), or the next one due when there is none. */
  oldestPending(): number {
    let oldest = this.released;
    for (const s of this.scanners) {
      const i = s.oldestPending();
      if (i >= 0 && i < oldest) oldest = i;
    }
    return oldest;
  }

  get sentAll(): boolean {
    return this.scanners.every((s) => s.pos >= s.size);
  }

  get unacked(): number {
    let n = 0;
    for (const s of this.scanners) n += s.unacked;
    return n;
  }
}
