/** `scangate <verb>`: dispatch to one module per verb. Returns the exit code. */
import { GatewayError, describeError } from '../gateway/errors.js';

const VERBS: Record<string, { summary: string; load: () => Promise<{ default: (argv: string[]) => Promise<number> }> }> = {
  start: { summary: 'run the gateway daemon [--config FILE]', load: () => import('./commands/start.js') },
  config: { summary: 'config check [--config FILE]: validate a configuration', load: () => import('./commands/config.js') },
  import: { summary: 'import FILE [--format csv|ndjson] [--status S] [--expect N] [--chunk-rows N] [--config FILE]: load serials, containers, lots and products into the cache', load: () => import('./commands/import.js') },
  parse: { summary: 'parse CODE... | --stdin: parse reads, one JSON line each', load: () => import('./commands/parse.js') },
  lookup: { summary: 'lookup CODE [--config FILE]: a serial (status, lot, expiry, parent, history) or a container', load: () => import('./commands/lookup.js') },
  outbox: { summary: 'outbox stats|list|replay [--config FILE]: inspect the durable outbox, or send it', load: () => import('./commands/outbox.js') },
  passwd: { summary: 'passwd [--username U --role R]: salted scrypt hash of an MQTT user password (read from the terminal or stdin)', load: () => import('./commands/passwd.js') },
  plc: { summary: 'plc [--port N] [--readers N] [--rate R]: run a virtual PLC (OPC UA, AutoID readers) by hand', load: () => import('./commands/plc.js') },
  simulate: { summary: 'simulate [--mqtt URL | --spawn] [--rate N] [--duration S]: load test with exact checks (--help)', load: () => import('./commands/simulate.js') },
  demo: { summary: 'demo: gateway, virtual PLC and simulator on free ports; Ctrl-C stops', load: () => import('./commands/demo.js') },
};

export function usage(): string {
  const lines = Object.entries(VERBS).map(([v, { summary }]) => `  ${v.padEnd(8)} ${summary}`);
  return `usage: scangate <verb> [options]\n\n${lines.join('\n')}\n\nEvery verb takes --help.\n`;
}

export async function run(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return verb === undefined ? 2 : 0;
  }
  if (verb === '--version' || verb === 'version') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(`scangate ${pkg.version}\n`);
    return 0;
  }
  const entry = VERBS[verb];
  if (entry === undefined) {
    process.stderr.write(`SG_ERR_USAGE: unknown verb "${verb}"\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = await entry.load();
    return await mod.default(rest);
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return err instanceof GatewayError && err.code === 'SG_ERR_USAGE' ? 2 : 1;
  }
}
