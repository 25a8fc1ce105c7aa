/** Shared command-line parsing: node:util parseArgs with errors that carry SG_ERR_USAGE. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../gateway/errors.js';
import { loadConfig, type LoadedConfig } from '../gateway/config/index.js';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new GatewayError('SG_ERR_USAGE', `${(err as Error).message}\nusage: ${usage}`, { hint: 'see `scangate --help`' });
  }
}

/** --config FILE, else SCANGATE_CONFIG, else ./scangate.yaml, else built-in defaults. */
export function configFrom(file: string | undefined): LoadedConfig {
  return loadConfig({ file });
}
