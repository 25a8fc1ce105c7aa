/**
 * Load the configuration once at start: YAML file, then environment overrides, then one schema validation
 * and one cross-field check, reporting every problem at once with its path (and file line), then freeze.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { ConfigError, GatewayError, type ConfigIssue } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { crossCheck } from './cross-check.js';
import { hintFor } from './hints.js';

export const ENV_PREFIX = 'SCANGATE_';
/** Environment variables read by the CLI itself, not config keys. */
const NON_KEY_ENV = new Set(['SCANGATE_CONFIG']);

export interface LoadOptions {
  /** YAML file; when absent, ./scangate.yaml if it exists, else built-in defaults only. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Where the configuration came from, for logs and `config check`. */
  source: string;
  /** Environment variables that were applied, by name. */
  envApplied: string[];
}

/** camelCase path segments -> SCANGATE_UPPER_SNAKE. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

type Leaf = { path: string[]; kind: 'string' | 'number' | 'boolean' | 'list' };

/** Every key that an environment variable can override, derived from the defaults so it never drifts. */
export function envKeys(): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const walk = (v: unknown, path: string[]) => {
    if (Array.isArray(v)) {
      if (v.every((x) => typeof x === 'string')) out.set(envName(path), { path, kind: 'list' });
      return; // arrays of objects (site.lines) are set in the file only
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      return;
    }
    const kind = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
    out.set(envName(path), { path, kind });
  };
  walk(configSchema.parse({}), []);
  return out;
}

function coerce(raw: string, kind: Leaf['kind']): unknown {
  switch (kind) {
    case 'number': {
      const n = Number(raw.replace(/_/g, ''));
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw; // a non-number stays a string: the schema names it
    }
    case 'boolean':
      return /^(true|1|yes|on)$/i.test(raw) ? true : /^(false|0|no|off)$/i.test(raw) ? false : raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    default:
      return raw;
  }
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** Load, override, validate and freeze. Throws ConfigError listing every problem. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.file ?? env.SCANGATE_CONFIG ?? (existsSync(`${cwd}/scangate.yaml`) ? `${cwd}/scangate.yaml` : undefined);
  const issues: ConfigIssue[] = [];
  let raw: Record<string, unknown> = {};
  let lineOf: (path: readonly (string | number)[]) => number | undefined = () => undefined;

  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new GatewayError('SG_ERR_CONFIG_READ', `cannot read config file ${file}: ${(err as Error).message}`, {
        cause: err,
        hint: 'pass an existing file with --config, or omit it to run on built-in defaults',
      });
    }
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    for (const e of doc.errors) {
      issues.push({ path: '(yaml)', message: e.message.split('\n')[0] ?? e.message, line: lc.linePos(e.pos[0]).line });
    }
    if (issues.length > 0) throw new ConfigError(issues, file);
    const js: unknown = doc.toJS() ?? {};
    if (js === null || typeof js !== 'object' || Array.isArray(js)) {
      throw new ConfigError([{ path: '(root)', message: 'the file must hold a YAML mapping of config keys' }], file);
    }
    raw = js as Record<string, unknown>;
    lineOf = (path) => {
      // The deepest node that exists along the path gives the line.
      for (let n = path.length; n >= 1; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
      }
      return undefined;
    };
  }

  const keys = envKeys();
  const envApplied: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || NON_KEY_ENV.has(name)) continue;
    const leaf = keys.get(name);
    if (!leaf) {
      issues.push({ path: name, message: 'is not a configuration key', hint: 'see README "Configuration" for the variables; unset it or fix its name' });
      continue;
    }
    setPath(raw, leaf.path, coerce(value, leaf.kind));
    envApplied.push(name);
  }

  const envPaths = new Map<string, string>();
  for (const name of envApplied) envPaths.set(keys.get(name)!.path.join('.'), name);
  /** The variable that set `dotted` or the list it is in (nats.servers.1 from SCANGATE_NATS_SERVERS). */
  const envOf = (dotted: string): string | undefined => {
    for (let d = dotted; d !== ''; d = d.includes('.') ? d.slice(0, d.lastIndexOf('.')) : '') {
      const name = envPaths.get(d);
      if (name !== undefined) return name;
    }
    return undefined;
  };

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const i of result.error.issues) {
      const base = i.path.map(String);
      const paths = i.code === 'unrecognized_keys' ? i.keys.map((k) => [...base, k]) : [base];
      for (const p of paths) {
        const dotted = p.join('.');
        const fromEnv = envOf(dotted);
        const message = i.code === 'unrecognized_keys' ? 'is not a known key' : i.message;
        const issue: ConfigIssue = { path: fromEnv ? `${dotted} (from ${fromEnv})` : dotted, message };
        const hint = hintFor(p, i.code);
        if (hint) issue.hint = hint;
        const line = fromEnv ? undefined : lineOf(p);
        if (line !== undefined) issue.line = line;
        issues.push(issue);
      }
    }
    throw new ConfigError(issues, file ?? 'built-in defaults');
  }
  if (issues.length > 0) throw new ConfigError(issues, file ?? 'built-in defaults');
  const cross = crossCheck(result.data);
  if (cross.length > 0) {
    for (const c of cross) {
      // A value from the environment: say so, and give no line of the file (which holds another value or none).
      const fromEnv = envOf(c.path);
      if (fromEnv !== undefined) {
        c.path = `${c.path} (from ${fromEnv})`;
        continue;
      }
      const line = lineOf(c.path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)));
      if (line !== undefined) c.line = line;
    }
    throw new ConfigError(cross, file ?? 'built-in defaults');
  }
  return { config: deepFreeze(result.data), source: file ?? 'built-in defaults', envApplied };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
