/** Spawn the real `scangate` binary (bin/scangate.js -> dist) and watch its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../cli/node-flags.js';

export const BIN = fileURLToPath(new URL('../../bin/scangate.js', import.meta.url));

/** A port the OS says is free right now (the simulator's helper). */
export { freePort } from '../../simulator/gateway-process.js';

export interface Proc {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<string>;
  exited(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `nodeFlags` come after the daemon's own (NODE_FLAGS), so they override them. */
export function runScangate(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = []): Proc {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...nodeFlags, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    async waitFor(re, ms = 10_000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const m = re.exec(out);
        if (m) return m[0];
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no ${re} in output within ${ms} ms:\n${out}`);
    },
    exited(ms = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms:\n${out}`)), ms);
      });
      return Promise.race([exit, late]).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Run `scangate passwd` with `stdin` written and closed; `stdin` undefined: stdin stays open and nothing is
 * written, so a command that reads it waits (killed after 5 s).
 */
export function runPasswd(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'passwd', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}
