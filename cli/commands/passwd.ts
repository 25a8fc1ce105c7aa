/**
 * `scangate passwd`: a salted scrypt hash of an MQTT user's password for `mqtt.users[].passwordHash`.
 * The password is read from the terminal (not echoed, asked twice) or, piped, from the first line of stdin;
 * never from the command line, where it would end up in the shell history and the process list.
 */
import { parse } from '../args.js';
import { GatewayError } from '../../gateway/errors.js';
import { MQTT_ROLES } from '../../gateway/config/mqtt-schema.js';
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
  const pw = await readPassword(true);
  if (pw.length < MIN_LENGTH) throw new GatewayError('SG_ERR_USAGE', `the password must have at least ${MIN_LENGTH} characters`);
  const hash = await hashPassword(pw, cost);
  if (values.username === undefined) {
    process.stdout.write(`${hash}\n`);
    return 0;
  }
  const list = (s: unknown) =>
    String(s)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  const lines = [`- username: ${values.username as string}`, `  passwordHash: "${hash}"`, `  role: ${role}`];
  if (values.stations !== undefined) lines.push(`  stations: [${list(values.stations).join(', ')}]`);
  if (values.lines !== undefined) lines.push(`  lines: [${list(values.lines).join(', ')}]`);
  process.stdout.write(`# under mqtt.users in scangate.yaml\n${lines.join('\n')}\n`);
  return 0;
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
