/**
 * `scangate config check`: validate a configuration and list every problem with its path; then read the files it
 * names (NATS credentials and TLS, MQTT TLS) as `scangate start` does, and list every one start would stop at.
 */
import { parse } from '../args.js';
import { loadConfig, type Config } from '../../gateway/config/index.js';
import { ConfigError, GatewayError } from '../../gateway/errors.js';
import { natsFileProblems } from '../../adapters/nats/auth.js';
import { mqttTlsProblems } from '../../adapters/mqtt/tls.js';

const USAGE = 'scangate config check [--config FILE] [--print]';

export default async function config(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, print: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'check') {
    const what = positionals[0] === undefined ? 'config needs a command' : `unknown config command "${positionals[0]}"`;
    process.stderr.write(`SG_ERR_USAGE: ${what} (the only one is "check")\nusage: ${USAGE}\n`);
    return 2;
  }
  try {
    const { config: c, source, envApplied } = loadConfig({ file: values.config as string | undefined });
    const from = `${source}${envApplied.length ? ` (+ ${envApplied.join(', ')})` : ''}`;
    const problems = fileProblems(c);
    if (problems.length > 0) {
      const n = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
      process.stdout.write(`${from}: ${n} with the files it names (scangate start would stop at the first)\n`);
      for (const p of problems) process.stdout.write(`${p.describe()}\n`);
      return 1;
    }
    process.stdout.write(`ok: ${from}\n`);
    if (values.print) process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof GatewayError) {
      process.stdout.write(`${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * Every file `scangate start` reads before it is up, read the same way (the same functions): what it would
 * refuse with SG_ERR_NATS_AUTH or SG_ERR_TLS, all of it rather than the first. OPC UA files are read by each
 * connection attempt in the background, never at start, so they are not here.
 */
export function fileProblems(c: Config): GatewayError[] {
  return [...natsFileProblems(c.nats), ...mqttTlsProblems(c.mqtt)];
}
