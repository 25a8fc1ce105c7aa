/**
 * A NATS-aware TCP proxy on loopback, put between a gateway and a real nats-server to induce network faults:
 *   - cut():        every connection is closed and new ones are refused (the server looks down);
 *   - blackhole():  connections stay open but no byte goes through either way (a dead link: only pings
 *                   going unanswered reveal it); new connections are held the same way;
 *   - heal():       back to normal (held connections are closed, as a real dead link would be);
 *   - drop(dir, match, n): drop the next n protocol frames that match, while everything else flows (a
 *                   publish lost in transit, a PubAck lost after the store, an ack lost on its way).
 * Frames are parsed from the NATS text protocol (INFO, CONNECT, PUB/HPUB, MSG/HMSG, SUB, PING...), so a
 * dropped frame is exactly one message. Plain TCP only (no TLS through the proxy).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Direction = 'up' | 'down'; // up: client -> server, down: server -> client

export interface Frame {
  /** PUB, HPUB, MSG, HMSG, INFO, CONNECT, SUB, UNSUB, PING, PONG, +OK, -ERR */
  op: string;
  /** The control line without CRLF. */
  line: string;
  subject: string;
  /** Headers (HPUB/HMSG) as text, '' when none. */
  headers: string;
  /** Payload without headers. */
  payload: Buffer;
  raw: Buffer;
}

interface DropRule {
  dir: Direction;
  match: (f: Frame) => boolean;
  left: number;
  dropped: Frame[];
  done: () => void;
}

/** Splits a byte stream into NATS protocol frames. */
class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: Frame) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buf.toString('latin1', 0, eol);
      const parts = line.split(' ').filter((p) => p !== '');
      const op = (parts[0] ?? '').toUpperCase();
      let total = 0;
      let hdr = 0;
      if (op === 'PUB' || op === 'MSG') total = Number(parts[parts.length - 1]);
      if (op === 'HPUB' || op === 'HMSG') {
        total = Number(parts[parts.length - 1]);
        hdr = Number(parts[parts.length - 2]);
      }
      const hasBody = op === 'PUB' || op === 'MSG' || op === 'HPUB' || op === 'HMSG';
      const end = hasBody ? eol + 2 + total + 2 : eol + 2;
      if (this.buf.length < end) return;
      const raw = this.buf.subarray(0, end);
      const body = hasBody ? raw.subarray(eol + 2, eol + 2 + total) : Buffer.alloc(0);
      this.onFrame({
        op,
        line,
        subject: parts[1] ?? '',
        headers: hdr > 0 ? body.toString('latin1', 0, hdr) : '',
        payload: body.subarray(hdr),
        raw: Buffer.from(raw),
      });
      this.buf = this.buf.subarray(end);
    }
  }
}

export interface ProxyStats {
  connections: number;
  framesUp: number;
  framesDown: number;
  dropped: number;
}

export class NatsProxy {
  readonly port: number;
  readonly url: string;
  private readonly server: Server;
  private mode: 'pass' | 'cut' | 'blackhole' = 'pass';
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private rules: DropRule[] = [];
  readonly stats: ProxyStats = { connections: 0, framesUp: 0, framesDown: 0, dropped: 0 };

  private constructor(server: Server, port: number, private readonly targetPort: number) {
    this.server = server;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
  }

  /** A proxy on a free loopback port in front of 127.0.0.1:targetPort. */
  static start(targetPort: number): Promise<NatsProxy> {
    return new Promise((resolve, reject) => {
      let proxy: NatsProxy | null = null;
      const server = createServer((client) => proxy?.accept(client));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        proxy = new NatsProxy(server, typeof a === 'object' && a ? a.port : 0, targetPort);
        resolve(proxy);
      });
    });
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    this.stats.connections++;
    const upstream = connect(this.targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const held = this.mode === 'blackhole';
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    const forward = (dir: Direction, to: Socket) =>
      new FrameParser((f) => {
        if (held || this.mode === 'blackhole') return; // swallowed
        if (dir === 'up') this.stats.framesUp++;
        else this.stats.framesDown++;
        for (const r of this.rules) {
          if (r.dir === dir && r.left > 0 && r.match(f)) {
            r.left--;
            r.dropped.push(f);
            this.stats.dropped++;
            if (r.left === 0) {
              this.rules = this.rules.filter((x) => x !== r);
              r.done();
            }
            return;
          }
        }
        to.write(f.raw);
      });
    const up = forward('up', upstream);
    const down = forward('down', client);
    client.on('data', (d: Buffer) => up.push(d));
    upstream.on('data', (d: Buffer) => down.push(d));
  }

  /** Close every connection and refuse new ones. */
  cut(): void {
    this.mode = 'cut';
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Keep connections open but let nothing through, either way. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Back to normal; connections held by a blackhole are closed. */
  heal(): void {
    const wasHole = this.mode === 'blackhole';
    this.mode = 'pass';
    if (wasHole) {
      for (const p of this.pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      this.pairs.clear();
    }
  }

  /**
   * Drop the next `n` frames going `dir` that `match`. Resolves with the dropped frames once all n were
   * dropped (use `cancel()` on the returned handle to stop waiting).
   */
  drop(dir: Direction, match: (f: Frame) => boolean, n = 1): { dropped: Promise<Frame[]>; frames: Frame[]; cancel: () => void } {
    const frames: Frame[] = [];
    let cancel = () => {};
    const dropped = new Promise<Frame[]>((resolve) => {
      const rule: DropRule = { dir, match, left: n, dropped: frames, done: () => resolve(frames) };
      this.rules.push(rule);
      cancel = () => {
        this.rules = this.rules.filter((x) => x !== rule);
        resolve(frames);
      };
    });
    return { dropped, frames, cancel };
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The value of a header in a frame's header block ('' when absent). */
export function header(f: Frame, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(f.headers);
  return m ? m[1]!.trim() : '';
}
