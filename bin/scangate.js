#!/usr/bin/env -S node --max-semi-space-size=64
// The flags of the line above are cli/node-flags.ts's (why: there).
// Entry point of `npx scangate`: runs the compiled CLI (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('scangate is not built yet: run `npm run build` (npm ci runs it for you)\n');
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
// The command is done: a handle some library left open must not keep the process alive.
setTimeout(() => process.exit(), 2000).unref();
