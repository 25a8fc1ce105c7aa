/**
 * A loopback TCP proxy between the gateway and NATS, to take the uplink away on demand:
 *   - cut():       every connection is reset and new ones are refused (the server or the route is gone);
 *   - blackhole(): connections stay open and nothing goes through either way (a dead link that only missed
 *                  pings reveal); new connections are held the same way;
 *   - heal():      traffic flows again (held connections are closed, as a dead link's would be).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type OutageMode = 'cut' | 'blackhole';

interface Pair {
  a: Socket;
  b: Socket;
}

export class UplinkProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private readonly held = new Set<Socket>();
  private state: 'up' | OutageMode = 'up';
  port = 0;
  /** Connections accepted, and refused or held during outages. */
  connections = 0;
  refused = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get down(): boolean {
    return this.state !== 'up';
  }

  async start(listenPort = 0): Promise<void> {
    const server = createServer((a) => this.accept(a));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
  }

  private accept(a: Socket): void {
    this.connections++;
    a.on('error', () => undefined);
    if (this.state === 'cut') {
      this.refused++;
      a.resetAndDestroy();
      return;
    }
    if (this.state === 'blackhole') {
      this.refused++;
      this.held.add(a);
      a.pause();
      a.on('close', () => this.held.delete(a));
      return;
    }
    const b = connect({ host: this.targetHost, port: this.targetPort });
    const p: Pair = { a, b };
    this.pairs.add(p);
    b.on('error', () => undefined);
    a.on('data', (d: Buffer) => {
      if (this.state === 'up') b.write(d);
    });
    b.on('data', (d: Buffer) => {
      if (this.state === 'up') a.write(d);
    });
    const end = () => {
      this.pairs.delete(p);
      a.destroy();
      b.destroy();
    };
    a.on('close', end);
    b.on('close', end);
  }

  /** Take the uplink away. */
  fail(mode: OutageMode): void {
    this.state = mode;
    if (mode === 'cut') {
      for (const p of this.pairs) {
        p.a.resetAndDestroy();
        p.b.destroy();
      }
      this.pairs.clear();
    }
    // blackhole: open pairs stay, their bytes are dropped in the data handlers above.
  }

  heal(): void {
    const was = this.state;
    this.state = 'up';
    if (was === 'blackhole') {
      for (const p of this.pairs) {
        p.a.destroy();
        p.b.destroy();
      }
      this.pairs.clear();
    }
    for (const s of this.held) s.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
    for (const s of this.held) s.destroy();
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
