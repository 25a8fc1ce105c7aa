/**
 * A line controller per line: subscribes to the verdicts of its line at QoS 1 (a persistent session by
 * default) and acknowledges them with one PUBACK write per socket read; sends the stations' control commands
 * (setOrder, openContainer...) and waits for their replies.
 */
import type { VerdictJson } from './checker.js';
import { RECONNECT_MS, openWithRetry, type Endpoint } from './scanners.js';
import { PacketType, WireConnection, publishPacket, subscribePacket } from './wire.js';

export class LineController {
  readonly conn: WireConnection;
  private readonly filters: string[];
  private readonly onVerdict: (v: VerdictJson, now: number, redelivered: boolean) => void;
  private acks: number[] = [];
  private readonly replies = new Map<string, (r: Record<string, unknown>) => void>();
  private closing = false;
  private nextId = 1;
  received = 0;
  badPayloads = 0;
  reconnects = 0;
  /** The subscription of the current connection is acknowledged (SUBACK). */
  subscribed = false;
  private subId = 0;

  /**
   * @param line the line whose verdicts it takes (`+`: every line of the site)
   * @param persistent a persistent session (clean session 0): verdicts published while it is away wait for it
   */
  constructor(ep: Endpoint, clientId: string, prefix: string, site: string, line: string, persistent: boolean, onVerdict: (v: VerdictJson, now: number, redelivered: boolean) => void) {
    this.filters = [`${prefix}/${site}/${line}/+/verdict`, `${prefix}/${site}/${line}/+/control/reply`];
    this.onVerdict = onVerdict;
    const opts = { host: ep.host, port: ep.port, clientId, clean: !persistent, keepaliveS: 30, connectTimeoutMs: 3000 } as ConstructorParameters<typeof WireConnection>[0];
    if (ep.username !== undefined) opts.username = ep.username;
    if (ep.password !== undefined) opts.password = ep.password;
    this.conn = new WireConnection(opts, {
      onPacket: (first, body) => this.onPacket(first, body),
      onChunkEnd: () => this.flushAcks(),
      // A broker that lost the session (restarted) needs the subscription again; a live one ignores the repeat.
      onConnected: () => {
        this.subId = this.nextId++ % 60_000 + 1;
        this.conn.write(subscribePacket(this.subId, this.filters, 1));
      },
      onClose: () => {
        this.subscribed = false;
        this.reconnectLater();
      },
    });
  }

  /** Connect and wait until the subscription is acknowledged. */
  async open(): Promise<void> {
    await openWithRetry(this.conn);
    for (let k = 0; k < 250 && !this.subscribed; k++) await new Promise((r) => setTimeout(r, 20));
    if (!this.subscribed) throw new Error(`the gateway did not acknowledge the subscription to ${this.filters.join(', ')}`);
  }

  private reconnectLater(): void {
    if (this.closing) return;
    this.reconnects++;
    const t = setTimeout(() => {
      if (this.closing) return;
      this.conn.open().catch(() => this.reconnectLater());
    }, RECONNECT_MS / 2);
    t.unref();
  }

  private onPacket(first: number, body: Buffer): void {
    if (first >> 4 === PacketType.SUBACK) {
      if (((body[0]! << 8) | body[1]!) === this.subId) this.subscribed = body[2] !== 0x80;
      return;
    }
    if (first >> 4 !== PacketType.PUBLISH) return;
    const qos = (first >> 1) & 3;
    const tlen = (body[0]! << 8) | body[1]!;
    let off = 2 + tlen;
    if (qos > 0) {
      this.acks.push((body[off]! << 8) | body[off + 1]!);
      off += 2;
    }
    const now = performance.now();
    this.received++;
    const isReply = body[1 + tlen] === 0x79 && body.toString('latin1', 2, 2 + tlen).endsWith('/control/reply'); // 'y'
    if (!isReply) {
      const v = readVerdict(body, off);
      if (v === null) this.badPayloads++;
      else this.onVerdict(v, now, (first & 0x08) !== 0); // DUP: the broker delivers this verdict again
      return;
    }
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(body.toString('utf8', off)) as Record<string, unknown>;
    } catch {
      this.badPayloads++;
      return;
    }
    const id = typeof r.id === 'string' ? r.id : '';
    const cb = this.replies.get(id);
    if (cb !== undefined) {
      this.replies.delete(id);
      cb(r);
    }
  }

  private flushAcks(): void {
    const a = this.acks;
    if (a.length === 0) return;
    const buf = Buffer.allocUnsafe(a.length * 4);
    for (let k = 0; k < a.length; k++) {
      buf[k * 4] = 0x40;
      buf[k * 4 + 1] = 2;
      buf[k * 4 + 2] = a[k]! >> 8;
      buf[k * 4 + 3] = a[k]! & 0xff;
    }
    this.acks = [];
    this.conn.write(buf);
  }

  /** Publish a control command to a station and wait for its reply (matched by the echoed "id"). */
  command(stationBase: string, cmd: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`no reply to ${String(cmd.cmd)} on ${stationBase}/control within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replies.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.conn.write(publishPacket(`${stationBase}/control`, JSON.stringify({ ...cmd, id }), 1, 1 + (this.nextId % 60000)));
    });
  }

  /**
   * Close. A persistent session is ended too (a connection with a clean session under the same client id):
   * otherwise the broker would keep every later verdict of the line for a controller that never comes back
   * (each run has controllers of its own), and the next run, or the measured run after a warm-up, would pay
   * for it.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.conn.close();
    if (this.conn.opts.clean) return;
    const end = new WireConnection({ ...this.conn.opts, clean: true, keepaliveS: 0 }, { onPacket: () => undefined });
    try {
      await end.open();
      await end.close();
    } catch {
      // The broker cannot be reached now: the session is left as it is.
    }
  }

  kill(): void {
    this.conn.destroy();
  }
}

const KEYS = {
  seq: Buffer.from('"seq":'),
  device: Buffer.from('"device":"'),
  verdict: Buffer.from('"verdict":"'),
  reason: Buffer.from('"reason":"'),
  status: Buffer.from('"status":"'),
  gtin: Buffer.from('"gtin":"'),
  serial: Buffer.from('"serial":"'),
  sscc: Buffer.from('"sscc":"'),
  eventId: Buffer.from('"eventId":"'),
  duplicateRead: Buffer.from('"duplicateRead":true'),
};

/**
 * The fields of a verdict the checks need, read straight from the JSON bytes (a verdict a second per read: a
 * full JSON.parse of every one costs the tool more than this). Safe because in JSON text a key with its quotes
 * and colon cannot occur inside a string (quotes there are escaped). A value with an escape, or a payload without
 * a seq, goes through JSON.parse.
 */
export function readVerdict(b: Buffer, off: number): VerdictJson | null {
  const str = (key: Buffer): string | undefined | null => {
    const at = b.indexOf(key, off);
    if (at < 0) return undefined;
    const from = at + key.length;
    const end = b.indexOf(0x22, from);
    if (end < 0) return null;
    const esc = b.indexOf(0x5c, from);
    if (esc >= 0 && esc < end) return null; // an escape: let JSON.parse do it
    return b.toString('latin1', from, end);
  };
  const at = b.indexOf(KEYS.seq, off);
  if (at < 0) return slow(b, off);
  let seq = 0;
  for (let i = at + KEYS.seq.length; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
  }
  const v: VerdictJson = { seq };
  const fields = ['device', 'verdict', 'reason', 'status', 'gtin', 'serial', 'sscc', 'eventId'] as const;
  for (const f of fields) {
    const x = str(KEYS[f]);
    if (x === null) return slow(b, off);
    if (x !== undefined) v[f] = x;
  }
  if (b.indexOf(KEYS.duplicateRead, off) >= 0) v.duplicateRead = true;
  return v;
}

function slow(b: Buffer, off: number): VerdictJson | null {
  try {
    return JSON.parse(b.toString('utf8', off)) as VerdictJson;
  } catch {
    return null;
  }
}
