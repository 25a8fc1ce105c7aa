/**
 * A gateway the simulator starts itself (`--spawn`): `scangate start` in a child process of its own (never in
 * the simulator's process: both need their core), with a configuration declaring the virtual site, on free
 * loopback ports, in a temporary data directory. Needed to kill and restart it on demand.
 */
import { NODE_FLAGS } from '../cli/node-flags.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder up from this module with scangate's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'scangate') return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the scangate package root from the simulator module');
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The gateway exited without being asked to (crash): when, and how. */
export interface Crash {
  atMs: number;
  code: number | null;
  signal: string | null;
}

export class GatewayProcess {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Set while the simulator itself kills or stops the gateway. */
  private expectExit = false;
  starts = 0;
  readonly crashes: Crash[] = [];
  /** Called when the gateway exits on its own (the simulator then starts it again, as a supervisor would). */
  onCrash: ((c: Crash) => void) | null = null;

  constructor(
    readonly configFile: string,
    readonly httpPort: number,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Run a scangate verb to completion (e.g. import); resolves with its exit code and output. */
  static run(args: string[]): Promise<{ code: number | null; output: string }> {
    const bin = join(packageRoot(), 'bin', 'scangate.js');
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [...NODE_FLAGS, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      c.once('exit', (code) => resolve({ code, output: out }));
    });
  }

  /** Start and wait until /readyz says ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    const bin = join(packageRoot(), 'bin', 'scangate.js');
    if (!existsSync(join(packageRoot(), 'dist', 'cli', 'main.js'))) throw new Error('scangate is not built: run `npm run build` first');
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [...NODE_FLAGS, bin, 'start', '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.expectExit = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        resolve();
        if (this.expectExit || this.child !== child) return;
        const c: Crash = { atMs: Date.now(), code, signal };
        this.crashes.push(c);
        this.onCrash?.(c);
      }),
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode} at start; see ${this.logFile}`);
      // Started: ready, or up but holding reads (a restart with a full outbox or a low disk answers 503 with why).
      const ok = await getAnswer(`http://127.0.0.1:${this.httpPort}/readyz`, 500).then(
        (a) => a.status === 200 || (a.status === 503 && (a.body as { reason?: string }).reason?.startsWith('SG_ERR_') === true),
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the gateway was not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL: no shutdown at all, as a power cut. */
  async kill(): Promise<void> {
    const c = this.child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    this.expectExit = true;
    c.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful stop (SIGTERM), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const c = this.child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    this.expectExit = true;
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }

  close(): void {
    this.log?.end();
    this.log = null;
  }
}

/** GET a JSON document (node:http: polled every second during a run, it must cost next to nothing). */
export async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const { status, body } = await getAnswer(url, timeoutMs);
  if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
  return body;
}

/** An HTTP GET's status and JSON body, whatever the status. */
export function getAnswer(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
