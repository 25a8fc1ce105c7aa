/**
 * `scangate parse CODE...` / `scangate parse --stdin`: parses reads, one JSON line per read (DESIGN.md,
 * "Command line"). `<GS>` in a code stands for the GS character (0x1D).
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { type Dd00Policy, type ParseOptions, type ParseResult, compileParser } from '../../gateway/parse/index.js';

const USAGE = `usage: scangate parse [--gs-substitute C] [--dd00 accept|warn|reject] CODE...
       scangate parse [options] --stdin        (one read per line)
  <GS> in a CODE stands for the GS separator (0x1D).
  Prints one JSON line per read; exit code 1 if any read failed, 2 on a usage error.
`;

/** Where the command reads and writes; the process streams by default (tests pass their own). */
export interface ParseIo {
  stdin: AsyncIterable<Buffer | string>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function str(v: string): string {
  return JSON.stringify(v);
}

/**
 * One result as a JSON line, fields in the documented order; `ais` in AI order (a plain object would put
 * index-like keys such as "10" before "01").
 */
export function resultJson(r: ParseResult): string {
  if (!r.ok) return `{"ok":false,"reason":${str(r.reason)},"message":${str(r.message)}${r.ai === undefined ? '' : `,"ai":${str(r.ai)}`}}`;
  let out = '{"ok":true';
  if (r.symbology !== undefined) out += `,"symbology":${str(r.symbology)}`;
  if (r.gtin !== undefined) out += `,"gtin":${str(r.gtin)}`;
  if (r.serial !== undefined) out += `,"serial":${str(r.serial)}`;
  if (r.lot !== undefined) out += `,"lot":${str(r.lot)}`;
  if (r.expiry !== undefined) out += `,"expiry":${str(r.expiry)}`;
  if (r.expiryDayUnspecified === true) out += ',"expiryDayUnspecified":true';
  if (r.sscc !== undefined) out += `,"sscc":${str(r.sscc)}`;
  const keys = Object.keys(r.ais).sort();
  out += `,"ais":{${keys.map((k) => `${str(k)}:${str(r.ais[k] as string)}`).join(',')}}`;
  if (r.warnings !== undefined) out += `,"warnings":${JSON.stringify(r.warnings)}`;
  return `${out}}`;
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function* lines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of input) {
    // latin1: every byte stays one char, so a GS or any other byte reaches the parser unchanged.
    rest += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  }
  if (rest !== '') yield rest;
}

/**
 * The command with injectable streams. Returns the exit code: 0 all parsed, 1 any failed, 2 usage error.
 */
export async function runParse(argv: string[], io: ParseIo): Promise<number> {
  let values: { 'gs-substitute'?: string; dd00?: string; stdin?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'gs-substitute': { type: 'string' },
        dd00: { type: 'string' },
        stdin: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    await write(io.stderr, `scangate parse: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    await write(io.stdout, USAGE);
    return 0;
  }
  const usage = async (problem: string): Promise<number> => {
    await write(io.stderr, `scangate parse: ${problem}\n${USAGE}`);
    return 2;
  };
  const sub = values['gs-substitute'];
  if (sub !== undefined && sub.length !== 1) return usage(`--gs-substitute takes exactly one character, got '${sub}'`);
  const dd00 = values.dd00;
  if (dd00 !== undefined && dd00 !== 'accept' && dd00 !== 'warn' && dd00 !== 'reject') return usage(`--dd00 must be accept, warn or reject, got '${dd00}'`);
  if (values.stdin === true && positionals.length > 0) return usage('give codes as arguments or --stdin, not both');
  if (values.stdin !== true && positionals.length === 0) return usage('no code to parse');
  const opts: ParseOptions = {};
  if (sub !== undefined) opts.gsSubstitute = sub;
  if (dd00 !== undefined) opts.dd00Policy = dd00 as Dd00Policy;
  const parse = compileParser(opts);
  let failed = false;
  const one = async (code: string): Promise<void> => {
    const r = parse(code.replaceAll('<GS>', '\x1d'));
    if (!r.ok) failed = true;
    await write(io.stdout, `${resultJson(r)}\n`);
  };
  if (values.stdin === true) {
    for await (const line of lines(io.stdin)) {
      // Blank lines (and a CR-only line from CRLF input) separate nothing: skip them.
      if (line === '' || line === '\r') continue;
      await one(line);
    }
  } else {
    for (const code of positionals) await one(code);
  }
  return failed ? 1 : 0;
}

/**
 * `scangate parse CODE...` (or `--stdin`, one read per line) with the arguments after the verb.
 * Prints one JSON line per read to stdout; returns 1 if any read failed, 0 otherwise, 2 on a usage error.
 */
export default async function parse(argv: string[]): Promise<number> {
  return runParse(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
