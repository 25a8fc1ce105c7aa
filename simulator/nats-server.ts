/**
 * A nats-server with JetStream on a free loopback port, for `scangate demo` and the benchmark when no NATS is
 * given. Its own process group, so a Ctrl-C at the terminal reaches the demo, which stops it in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from '../gateway/errors.js';
import { freePort } from './gateway-process.js';

export interface NatsChild {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export async function startNatsServer(dir: string): Promise<NatsChild> {
  const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'nats')], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start within 10 s:\n${log}`));
    }, 10_000);
    child.once('error', (err) => {
      clearTimeout(t);
      reject(new GatewayError('SG_ERR_USAGE', `cannot start nats-server: ${err.message}`, { hint: 'install it (apt-get install nats-server) or give --nats URL of a NATS server with JetStream' }));
    });
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(t);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve();
      }
    });
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
