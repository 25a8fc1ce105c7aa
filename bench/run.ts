/**
 * `npm run bench [-- SECTION...]`: runs the benchmark sections in order and prints their figures.
 * Each section is a module with `run(): Promise<void>`; a section that needs a service starts its own.
 */
const SECTIONS: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  machine: () => import('./machine.js'),
  parse: () => import('./parse.js'),
  engine: () => import('./engine.js'),
  aggregate: () => import('./aggregate.js'),
  uplink: () => import('./uplink.js'),
  opcua: () => import('./opcua.js'),
  mqtt: () => import('./mqtt.js'),
  persistence: () => import('./persistence.js'),
  simulate: () => import('./simulate.js'),
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(SECTIONS);
let failed = false;
for (const name of names) {
  const load = SECTIONS[name];
  if (load === undefined) {
    console.error(`unknown bench section "${name}"; sections: ${Object.keys(SECTIONS).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n## ${name}`);
  try {
    await (await load()).run();
  } catch (err) {
    failed = true;
    console.error(`bench ${name} failed: ${(err as Error).stack ?? String(err)}`);
  }
}
if (failed) process.exitCode = 1;
