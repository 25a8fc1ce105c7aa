/** `scangate config check`: validate a configuration and list every problem with its path. */
import { parse } from '../args.js';
import { loadConfig } from '../../gateway/config/index.js';
import { ConfigError, GatewayError } from '../../gateway/errors.js';

const USAGE = 'scangate config check [--config FILE] [--print]';

export default async function config(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, print: { type: 'boolean' } }, USAGE);
  if (values.help || positionals[0] !== 'check') {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  try {
    const { config: c, source, envApplied } = loadConfig({ file: values.config as string | undefined });
    process.stdout.write(`ok: ${source}${envApplied.length ? ` (+ ${envApplied.join(', ')})` : ''}\n`);
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
