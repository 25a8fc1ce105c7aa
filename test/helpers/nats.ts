/**
 * A real nats-server with JetStream, started by the test on a port the OS picks, in its own temp store,
 * so a test can stop, kill and restart it to induce faults. Only processes started here are killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

export interface NatsServer {
  readonly port: number;
  readonly url: string;
  /** Stop gracefully (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stop and remove the store. */
  dispose(): Promise<void>;
}

// Servers still running when the test process exits (a test that failed before its dispose, or an uncaught
// error) are killed with it, so that a failure never leaves a nats-server behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function launch(port: number, storeDir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '--http_port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start in 10 s:\n${log}`));
    }, 10_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BIN}: ${err.message} (install it: apt-get install nats-server)`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export async function startNats(): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'sg-nats-'));
  let { child, port } = await launch(-1, storeDir);
  const fixedPort = port;
  return {
    port: fixedPort,
    url: `nats://127.0.0.1:${fixedPort}`,
    stop: () => waitExit(child, 'SIGTERM'),
    kill: () => waitExit(child, 'SIGKILL'),
    async restart() {
      await waitExit(child, 'SIGTERM');
      ({ child } = await launch(fixedPort, storeDir));
    },
    async dispose() {
      await waitExit(child, 'SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
