/**
 * `scangate passwd`: a salted scrypt hash of an MQTT user's password for `mqtt.users[].passwordHash`.
 * The password is read from the terminal (not echoed, asked twice) or, piped, from the first line of stdin;
 * never from the command line, where it would end up in the shell history and the process list.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';
import { parse } from '../args.js';
import { GatewayError } from '../../gateway/errors.js';
import { MQTT_ROLES, mqttUserRoleIssues, mqttUserSchema, type MqttRole, type MqttUserConfig } from '../../gateway/config/mqtt-schema.js';
import { DEFAULT_COST_LOG2, hashPassword, verifyPassword } from '../../adapters/mqtt/auth.js';

const USAGE =
  'scangate passwd [--username NAME --role scanner|lineController|monitor|admin [--stations L1/pack,...] [--lines L1,...]] [--cost 10-20] | scangate passwd --verify HASH\n' +
  '  reads the password from the terminal (twice) or from the first line of stdin, and prints the hash (with --username: a mqtt.users entry in YAML)';
const MIN_LENGTH = 8;

export default async function passwd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      username: { type: 'string', short: 'u' },
      role: { type: 'string', short: 'r' },
      stations: { type: 'string' },
      lines: { type: 'string' },
      cost: { type: 'string' },
      verify: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) {
    throw new GatewayError('SG_ERR_USAGE', 'the password is never taken from the command line', { hint: 'type it when asked, or pipe it: printf %s "$PW" | scangate passwd' });
  }
  const cost = values.cost === undefined ? DEFAULT_COST_LOG2 : Number(values.cost);
  if (!Number.isInteger(cost) || cost < 10 || cost > 20) throw new GatewayError('SG_ERR_USAGE', `--cost must be an integer from 10 to 20 (log2 of scrypt N), not ${values.cost}`);
  const role = values.role as string | undefined;
  if (role !== undefined && !(MQTT_ROLES as readonly string[]).includes(role)) {
    throw new GatewayError('SG_ERR_USAGE', `--role must be one of ${MQTT_ROLES.join(', ')}`);
  }
  if (values.username !== undefined && role === undefined) throw new GatewayError('SG_ERR_USAGE', '--username needs --role');

  if (values.verify !== undefined) {
    const pw = await readPassword(false);
    const ok = await verifyPassword(pw, values.verify as string);
    process.stdout.write(`${JSON.stringify({ ok })}\n`);
    return ok ? 0 : 1;
  }
  const entry = userEntry(values);
  const pw = await readPassword(true);
  if (pw.length < MIN_LENGTH) throw new GatewayError('SG_ERR_USAGE', `the password must have at least ${MIN_LENGTH} characters`);
  const hash = await hashPassword(pw, cost);
  if (entry === null) {
    process.stdout.write(`${hash}\n`);
    return 0;
  }
  const full: MqttUserConfig = { ...entry, passwordHash: hash };
  const text = renderEntry(full);
  // What is printed must read back, as the configuration reads it, to the entry checked: a miss is a bug here
  // (no code of its own: nothing an operator can fix), never an entry printed for the config to refuse.
  const back = readBack(text);
  if (!isDeepStrictEqual(back, full) || entryProblems(back).length > 0) throw new Error(`bug: this mqtt.users entry would not read back as printed:\n${text}`);
  process.stdout.write(`# under mqtt.users in scangate.yaml\n${text}`);
  return 0;
}

type Options = Partial<Record<'username' | 'role' | 'stations' | 'lines', string | boolean | undefined>>;

/**
 * The mqtt.users entry the options describe (null: no --username, print the hash only), checked before any
 * password is asked for with the rules the configuration applies to mqtt.users (mqttUserSchema, mqttUserRoleIssues).
 */
function userEntry(values: Options): MqttUserConfig | null {
  if (values.username === undefined) {
    const stray = (['role', 'stations', 'lines'] as const).filter((k) => values[k] !== undefined);
    if (stray.length === 0) return null;
    throw new GatewayError('SG_ERR_USAGE', `${stray.map((k) => `--${k}`).join(', ')}: only for a mqtt.users entry, which needs --username`, {
      hint: 'add --username NAME, or leave them out to print the hash alone',
    });
  }
  const list = (s: string | boolean) =>
    String(s)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  const entry: MqttUserConfig = { username: String(values.username), role: values.role as MqttRole };
  if (values.stations !== undefined) entry.stations = list(values.stations);
  if (values.lines !== undefined) entry.lines = list(values.lines);
  const problems = entryProblems(entry);
  if (problems.length > 0) {
    throw new GatewayError('SG_ERR_USAGE', `the configuration would refuse this mqtt.users entry:\n${problems.join('\n')}`, {
      hint: `a user name is 1-64 of A-Z a-z 0-9 _ . @ -; a scanner takes --stations LINE/STATION,... (+ for any), a lineController --lines LINE,... (+ for any), monitor and admin neither (README "Users, roles and ACLs")`,
    });
  }
  return entry;
}

/** One YAML list item; scalars YAML would read as something else (a user named true, a line named 1, @ops) are quoted. */
function renderEntry(e: MqttUserConfig): string {
  const scalar = (s: string) => stringify(s, { lineWidth: 0 }).trimEnd();
  const lines = [`- username: ${scalar(e.username)}`];
  if (e.passwordHash !== undefined) lines.push(`  passwordHash: ${JSON.stringify(e.passwordHash)}`);
  lines.push(`  role: ${scalar(e.role)}`);
  if (e.stations !== undefined) lines.push(`  stations: [${e.stations.map(scalar).join(', ')}]`);
  if (e.lines !== undefined) lines.push(`  lines: [${e.lines.map(scalar).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** The entry as loadConfig reads the YAML it is pasted in (the same library and schema), or the text if it is not one. */
function readBack(text: string): unknown {
  try {
    return (parseYaml(text) as unknown[])[0];
  } catch {
    return text;
  }
}

/**
 * The problems the configuration would find in an entry, one line each, named by the option that set the value:
 * the schema of mqtt.users, then the checks of its role (the site's lines and stations are not known here).
 */
function entryProblems(entry: unknown): string[] {
  const r = mqttUserSchema.safeParse(entry);
  if (!r.success) {
    return r.error.issues.map((i) => {
      const [key, index] = i.path;
      const all = (entry as Record<string, unknown> | null)?.[String(key)];
      const value = typeof index === 'number' && Array.isArray(all) ? all[index] : all;
      return `  - --${String(key)}${value === undefined || Array.isArray(value) ? '' : ` ${JSON.stringify(value)}`}: ${i.message}`;
    });
  }
  return mqttUserRoleIssues(r.data, '').map((i) => `  - --${i.path.replace(/^\./, '')}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`);
}

/** From a terminal: without echo, twice when `confirm`; from a pipe: the first line. */
async function readPassword(confirm: boolean): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let data = '';
    for await (const chunk of stdin) {
      data += chunk.toString();
      if (data.includes('\n')) break;
    }
    return data.split(/\r?\n/)[0] ?? '';
  }
  const first = await ask('password: ');
  if (!confirm) return first;
  const second = await ask('again: ');
  if (first !== second) throw new GatewayError('SG_ERR_USAGE', 'the two passwords differ');
  return first;
}

function ask(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let pw = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(pw);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new GatewayError('SG_ERR_USAGE', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    stdin.on('data', onData);
  });
}
