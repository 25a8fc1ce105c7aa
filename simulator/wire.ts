/**
 * A lean MQTT 3.1.1 client for the load generator: raw TCP, packets written in place, no per-message objects.
 * mqtt.js costs tens of microseconds per QoS 1 message; a scanner fleet offering 30,000 reads/s from the same
 * two cores as the gateway cannot afford that. Only what the simulator needs: CONNECT (clean or persistent
 * session), PUBLISH QoS 0/1 out (with DUP on resend), PUBACK in and out, SUBSCRIBE, PINGREQ, DISCONNECT.
 * Packet layouts: MQTT 3.1.1 (OASIS), section 3.
 */
import { connect, type Socket } from 'node:net';

export const PacketType = { CONNACK: 2, PUBLISH: 3, PUBACK: 4, SUBACK: 9, PINGRESP: 13 } as const;

export function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Write MQTT's variable-length "remaining length" at `off`; returns the new offset. */
export function writeVarint(buf: Buffer, off: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[off++] = b;
  } while (n > 0);
  return off;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(b.length + 2);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(1 + varintLength(body.length));
  head[0] = first;
  writeVarint(head, 1, body.length);
  return Buffer.concat([head, body]);
}

export function connectPacket(clientId: string, clean: boolean, keepaliveS: number, username?: string, password?: string): Buffer {
  let flags = clean ? 0x02 : 0;
  const payload = [str(clientId)];
  if (username !== undefined) {
    flags |= 0x80;
    payload.push(str(username));
  }
  if (password !== undefined) {
    flags |= 0x40;
    payload.push(str(password));
  }
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, keepaliveS >> 8, keepaliveS & 0xff]);
  return packet(0x10, Buffer.concat([variable, ...payload]));
}

export function subscribePacket(id: number, filters: string[], qos: 0 | 1): Buffer {
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff])];
  for (const f of filters) parts.push(str(f), Buffer.from([qos]));
  return packet(0x82, Buffer.concat(parts));
}

/** A PUBLISH with a string payload (latin1/ASCII); id 0 for QoS 0. */
export function publishPacket(topic: string, payload: string | Buffer, qos: 0 | 1, id = 0, dup = false): Buffer {
  const t = str(topic);
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const body = Buffer.allocUnsafe(t.length + (qos > 0 ? 2 : 0) + p.length);
  t.copy(body, 0);
  let off = t.length;
  if (qos > 0) {
    body.writeUInt16BE(id, off);
    off += 2;
  }
  p.copy(body, off);
  return packet(0x30 | (dup ? 0x08 : 0) | (qos << 1), body);
}

export const PINGREQ = Buffer.from([0xc0, 0]);
export const DISCONNECT = Buffer.from([0xe0, 0]);

/** Splits a byte stream into MQTT packets: onPacket(first byte, body). Bodies are views, valid during the call. */
export class Framer {
  private pending: Buffer | null = null;
  constructor(private readonly onPacket: (first: number, body: Buffer) => void) {}

  reset(): void {
    this.pending = null;
  }

  push(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let off = 0;
    const n = buf.length;
    while (n - off >= 2) {
      let mult = 1;
      let len = 0;
      let i = off + 1;
      let complete = false;
      for (; i < n && i < off + 5; i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || n - i < len) break;
      this.onPacket(buf[off]!, buf.subarray(i, i + len));
      off = i + len;
    }
    if (off < n) this.pending = Buffer.from(buf.subarray(off));
  }
}

export interface WireOptions {
  host: string;
  port: number;
  clientId: string;
  /** false: a persistent session (the broker keeps subscriptions and unacknowledged QoS 1 messages). */
  clean: boolean;
  keepaliveS: number;
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
}

export interface WireHandlers {
  /** Every packet after CONNACK. */
  onPacket(first: number, body: Buffer): void;
  /** Called after CONNACK (return code 0). */
  onConnected?(sessionPresent: boolean): void;
  /** Called after the packets of one socket read were handled (to batch replies such as PUBACKs). */
  onChunkEnd?(): void;
  onClose?(err?: Error): void;
}

/**
 * One connection; reconnects are the owner's business (`open()` again after onClose). Writes go straight to
 * the socket; `write()` returns false when the socket's buffer is above its high-water mark.
 */
export class WireConnection {
  readonly opts: WireOptions;
  private readonly h: WireHandlers;
  private sock: Socket | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  connected = false;
  /** Times a connection was established. */
  connects = 0;
  lastError = '';

  constructor(opts: WireOptions, h: WireHandlers) {
    this.opts = opts;
    this.h = h;
  }

  /** Connect and wait for CONNACK; resolves with the session-present flag. Rejects on refusal or timeout. */
  open(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
      this.sock = s;
      let acked = false;
      const framer = new Framer((first, body) => {
        if (!acked) {
          if (first >> 4 !== PacketType.CONNACK) return;
          acked = true;
          clearTimeout(timer);
          if (body[1] !== 0) {
            const err = new Error(`CONNACK return code ${body[1]} for ${this.opts.clientId}`);
            this.lastError = err.message;
            s.destroy();
            return reject(err);
          }
          this.connected = true;
          this.connects++;
          const present = (body[0]! & 1) === 1;
          this.startPing();
          this.h.onConnected?.(present);
          return resolve(present);
        }
        this.h.onPacket(first, body);
      });
      const timer = setTimeout(() => {
        if (!acked) {
          s.destroy();
          reject(new Error(`no CONNACK from ${this.opts.host}:${this.opts.port} within ${this.opts.connectTimeoutMs ?? 5000} ms`));
        }
      }, this.opts.connectTimeoutMs ?? 5000);
      s.on('data', (d: Buffer) => {
        framer.push(d);
        if (acked) this.h.onChunkEnd?.();
      });
      s.on('error', (err) => {
        this.lastError = err.message;
        if (!acked) {
          clearTimeout(timer);
          reject(err);
        }
      });
      s.on('close', () => {
        const was = this.connected;
        this.connected = false;
        this.stopPing();
        if (this.sock === s) this.sock = null;
        if (acked && was) this.h.onClose?.(this.lastError ? new Error(this.lastError) : undefined);
      });
      s.write(connectPacket(this.opts.clientId, this.opts.clean, this.opts.keepaliveS, this.opts.username, this.opts.password));
    });
  }

  private startPing(): void {
    this.stopPing();
    if (this.opts.keepaliveS <= 0) return;
    this.pingTimer = setInterval(() => this.sock?.write(PINGREQ), (this.opts.keepaliveS * 1000) / 2);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  write(buf: Buffer): boolean {
    const s = this.sock;
    if (s === null || !this.connected) return false;
    return s.write(buf);
  }

  /** Bytes waiting in the socket's user-space buffer. */
  get backlog(): number {
    return this.sock?.writableLength ?? 0;
  }

  /** Clean close: DISCONNECT then end. */
  async close(): Promise<void> {
    this.stopPing();
    const s = this.sock;
    if (s === null) return;
    this.connected = false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end(DISCONNECT);
    });
  }

  destroy(): void {
    this.stopPing();
    this.connected = false;
    this.sock?.destroy();
  }
}
