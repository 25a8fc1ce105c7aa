#!/usr/bin/env node
// Test runner: builds, then runs every test file in its own process with a time limit, reads uvu's totals,
// and ends with the plain line "N passed, N failed". Arguments filter files by substring.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 180_000);
const filters = process.argv.slice(2);

const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// The tests themselves are type-checked too (tsx runs them without a check): a wrong call fails here, by name.
const typecheck = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' });
if (typecheck.status !== 0) {
  console.log('type check of the tests failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const files = ['unit', 'integration', 'process']
  .flatMap((dir) => {
    try {
      return readdirSync(join(root, 'test', dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(root, 'test', dir, f));
    } catch {
      return [];
    }
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const clean = out.replace(/\u001b\[[0-9;]*m/g, '');
      const num = (label) => {
        const m = new RegExp(`${label}:\\s+(\\d+)`).exec(clean);
        return m ? Number(m[1]) : null;
      };
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped') ?? 0;
      let p = passed ?? 0;
      let f = total !== null && passed !== null ? total - passed - skipped : 0;
      if (timedOut || code !== 0 || total === null) f = Math.max(f, 1);
      resolve({ file, passed: p, failed: f, skipped, code, timedOut, ms: Date.now() - t0, out: clean });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  const r = await runFile(file);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  const name = relative(root, file);
  const tag = r.failed > 0 ? 'FAIL' : 'ok  ';
  console.log(`${tag} ${name}  ${r.passed} passed, ${r.failed} failed  (${(r.ms / 1000).toFixed(1)} s)${r.timedOut ? ` TIMED OUT after ${FILE_TIMEOUT_MS / 1000} s` : ''}`);
  if (r.failed > 0) console.log(r.out.split('\n').map((l) => `    ${l}`).join('\n'));
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
