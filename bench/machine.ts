/**
 * The machine under the other figures: the costs every read multiplies. The same code measures up to 30% apart
 * from day to day on a shared virtual machine, and several times apart between a virtual machine whose system
 * calls flush the TLB and a bare edge box; these figures, printed beside the others, tell which machine a report
 * came from. `npm run bench -- machine`.
 *   - a system call from JavaScript (fstat through Node's binding: the kernel's entry and exit plus ~0.3 us);
 *   - a wake-up round trip between two processes over a Unix socket, through both event loops (what a read, its
 *     verdict and their acknowledgements pay at low rates, one packet per wake-up);
 *   - a random read from memory (512 MiB, far beyond the caches: a cache miss and usually a TLB miss, what a
 *     lookup in a large LMDB file pays at each level of its tree; with transparent huge pages set to `always`
 *     the buffer may sit on 2 MiB pages and miss the TLB far less, so the setting is printed with it);
 *   - a plain compute loop (the core's speed for JavaScript).
 */
import { fork } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const fmt = (n: number, digits = 2) => n.toFixed(digits);

function syscallUs(): number {
  const fd = openSync(fileURLToPath(import.meta.url), 'r');
  try {
    const n = 200_000;
    for (let i = 0; i < 10_000; i++) fstatSync(fd);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fstatSync(fd);
    return ((performance.now() - t0) * 1000) / n;
  } finally {
    closeSync(fd);
  }
}

/** Median round trip (us) of 4-byte messages echoed by a child process, one at a time; at most 20 s. */
async function wakeupUs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-machine-'));
  const path = join(dir, 'echo.sock');
  const child = fork(fileURLToPath(import.meta.url), ['--echo', path], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let sock: Socket | null = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the echo process did not answer within 20 s')), 20_000);
      child.once('exit', (code) => reject(new Error(`the echo process exited with ${code}`)));
      child.once('error', reject);
      child.once('message', () => {
        const s = (sock = createConnection(path));
        s.setNoDelay(true);
        s.on('error', reject);
        const times: number[] = [];
        const ping = Buffer.from('ping');
        let t0 = 0;
        const send = () => {
          t0 = performance.now();
          s.write(ping);
        };
        s.on('data', () => {
          times.push((performance.now() - t0) * 1000);
          if (times.length < 3000) return send();
          const measured = times.slice(500).sort((a, b) => a - b);
          resolve(measured[Math.floor(measured.length / 2)]!);
        });
        s.once('connect', send);
      });
    });
  } finally {
    if (timer !== null) clearTimeout(timer);
    (sock as Socket | null)?.destroy();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel's transparent huge pages setting: with `always`, the memory figure below may see few TLB misses. */
function hugePages(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Nanoseconds per dependent random read over 512 MiB: one cycle through 2,097,152 places 256 bytes apart (16 per
 * 4 KiB page), in random order (Sattolo's shuffle), each address read from the previous place: every read a
 * different cache line, nearly every one on another page.
 */
function memoryNs(): number {
  const words = (512 * 2 ** 20) / 4;
  const next = new Uint32Array(words);
  const places = words / 64;
  const order = new Uint32Array(places);
  for (let i = 0; i < places; i++) order[i] = i;
  let x = 12345;
  for (let i = places - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = (x >>> 8) % i;
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let i = 0; i < places; i++) next[order[i]! * 64] = order[(i + 1) % places]! * 64;
  let at = order[0]! * 64;
  const t0 = performance.now();
  for (let i = 0; i < places; i++) at = next[at]!;
  const ns = ((performance.now() - t0) * 1e6) / places;
  if (at === 1) console.log(at); // the result is used: the loop is not optimised away
  return ns;
}

function computeNs(): number {
  const n = 50_000_000;
  let h = 0x811c9dc5;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (i & 0xff), 0x01000193);
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (h === 0.5) console.log(h);
  return ns;
}

export async function run(): Promise<void> {
  console.log(`system call from JavaScript (fstat): ${fmt(syscallUs())} us`);
  console.log(`wake-up round trip between two processes (Unix socket, both event loops): ${fmt(await wakeupUs(), 1)} us (median)`);
  console.log(`random memory read over 512 MiB (cache and TLB miss; transparent huge pages: ${hugePages()}): ${fmt(memoryNs(), 0)} ns`);
  console.log(`compute loop (multiply-xor): ${fmt(computeNs())} ns per iteration`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--echo');
  if (at < 0) await run();
  else {
    const server = createServer((s) => {
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      s.on('error', () => process.exit(0));
    });
    // Gone with the parent, whatever way it went.
    process.on('disconnect', () => process.exit(0));
    server.listen(process.argv[at + 1]!, () => process.send!('ready'));
  }
}
