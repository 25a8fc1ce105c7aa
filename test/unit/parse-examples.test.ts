/**
 * The read parser: DOMAIN.md examples, the public API, the AI table's consistency and the `parse` command.
 */
import { PassThrough, Readable } from 'node:stream';
import parseCommand, { resultJson, runParse } from '../../cli/commands/parse.js';
import {
  AI_ENTRIES, type ParseResult, type ParsedRead, compileParser, gs1CheckDigit, isValidGs1Key, lookupAi, parseRead,
} from '../../gateway/parse/index.js';
import { REASONS } from '../../gateway/reasons.js';
import { assert, suite } from '../helpers/uvu.js';

const TEST_TIMEOUT_MS = 5_000;
const test = suite('parse', {}, TEST_TIMEOUT_MS);

const Y = { currentYear: 2026 };

function ok(r: ParseResult): ParsedRead {
  if (!r.ok) throw new assert.Assertion({ message: `expected ok, got ${r.reason}: ${r.message}`, operator: 'ok', actual: r, expects: true });
  return r;
}

test('parse - DOMAIN.md example: DataMatrix with GTIN, expiry, lot and serial', () => {
  const r = ok(parseRead(']d201095201234567881727033110LOT-A1\x1d21S3R!AL%x7', Y));
  assert.equal(r, {
    ok: true,
    form: 'element',
    symbology: ']d2',
    gtin: '09520123456788',
    expiry: '2027-03-31',
    lot: 'LOT-A1',
    serial: 'S3R!AL%x7',
    ais: { '01': '09520123456788', '17': '270331', '10': 'LOT-A1', '21': 'S3R!AL%x7' },
  });
});

test('parse - DOMAIN.md example: GS1-128 SSCC', () => {
  const r = ok(parseRead(']C100095201234567890122', Y));
  assert.equal(r, { ok: true, form: 'element', symbology: ']C1', sscc: '095201234567890122', ais: { '00': '095201234567890122' } });
});

test('parse - DOMAIN.md example: bad check digit names the expected digit', () => {
  assert.equal(parseRead(']d201095201234567871727033121SN0001', Y), {
    ok: false,
    reason: 'BAD_CHECK_DIGIT',
    message: 'GTIN 09520123456787 has check digit 7, expected 8',
    ai: '01',
  });
});

test('parse - DOMAIN.md example: DD=00 expiry is the last day of the month', () => {
  const r = ok(parseRead('010952012345678817280200', Y));
  assert.is(r.expiry, '2028-02-29');
  assert.is(r.expiryDayUnspecified, true);
});

test('parse - check digit helpers', () => {
  assert.is(gs1CheckDigit('0952012345678'), 8);
  assert.is(gs1CheckDigit('09520123456789012'), 2);
  assert.is(gs1CheckDigit(''), -1);
  assert.is(gs1CheckDigit('12a'), -1);
  assert.ok(isValidGs1Key('09520123456788'));
  assert.ok(isValidGs1Key('095201234567890122'));
  assert.ok(isValidGs1Key('96385074')); // GTIN-8
  assert.ok(isValidGs1Key('036000291452')); // GTIN-12 (UPC-A)
  assert.not.ok(isValidGs1Key('09520123456787'));
  assert.not.ok(isValidGs1Key('8'));
  assert.not.ok(isValidGs1Key('0952012345678x'));
});

test('parse - compileParser is equivalent to parseRead with the same options', () => {
  const opts = { gsSubstitute: '^', dd00Policy: 'warn' as const, currentYear: 2026 };
  const compiled = compileParser(opts);
  for (const x of ['010952012345678817280200', '0109520123456788172802001', ']d20109520123456788^10L^21S', ']C100095201234567890122', '', ']A0x', 'https://a.b/01/09520123456788']) {
    assert.equal(compiled(x), parseRead(x, opts));
  }
});

test('parse - bytes and strings give the same result', () => {
  const text = ']d201095201234567881727033110LOT-A1\x1d21S3R!AL%x7';
  assert.equal(parseRead(Buffer.from(text, 'latin1'), Y), parseRead(text, Y));
  assert.equal(parseRead(new Uint8Array([0x30, 0x31, 0xe9]), Y), parseRead('01\xe9', Y));
});

test('parse - anything that is not a string or bytes is MALFORMED, not a throw', () => {
  for (const x of [null, undefined, 42, {}, [], Symbol('x')]) {
    const r = parseRead(x as unknown as string);
    assert.is(r.ok, false);
    if (!r.ok) assert.is(r.reason, 'MALFORMED');
  }
});

test('parse - the century window follows the current year by default', () => {
  const yy = new Date().getUTCFullYear() % 100;
  const r = ok(parseRead(`0109520123456788${`17${String(yy).padStart(2, '0')}0101`}`));
  assert.is(r.expiry, `${new Date().getUTCFullYear()}-01-01`);
});

test('parse - AI table is consistent', () => {
  const seen = new Set<string>();
  for (const e of AI_ENTRIES) {
    assert.not.ok(seen.has(e.ai), `AI ${e.ai} twice`);
    seen.add(e.ai);
    assert.is(lookupAi(e.ai), e, `lookup ${e.ai}`);
    if (e.predefined) {
      assert.is(e.minLen, e.fixedLen, `AI ${e.ai} predefined length`);
      assert.is(e.maxLen, e.fixedLen, `AI ${e.ai} predefined length`);
    }
    for (const ai of [...e.req.flat(), ...e.ex, ...(e.dlQualifiers ?? []).flat()]) assert.ok(lookupAi(ai), `AI ${e.ai} refers to unknown AI ${ai}`);
  }
  for (const ai of ['00', '01', '02', '03', '10', '11', '12', '13', '15', '16', '17', '20', '21', '22', '235', '240', '241', '242', '243',
    '250', '251', '253', '254', '255', '30', '3100', '3105', '3695', '37', '400', '401', '402', '403', '410', '417', '420', '427',
    '7001', '7002', '7003', '7010', '7011', '7020', '7023', '710', '717', '7230', '7239', '8001', '8020', '8200', '90', '99']) {
    assert.ok(lookupAi(ai), `AI ${ai} is in the table`);
  }
  for (const ai of ['04', '14', '3106', '999', '1', '01a', '89']) assert.is(lookupAi(ai), null, `AI ${ai} is not an AI`);
  assert.is(lookupAi('8010')?.comps[0]?.cs, 2, '8010 uses set 39');
  assert.is(lookupAi('8030')?.comps[0]?.cs, 3, '8030 uses set 64');
});

test('parse - every reason the parser returns is a known reason', () => {
  const reasons = new Set(Object.keys(REASONS));
  for (const x of ['', ']A0x', '21X', '0109520123456787', '0109520123456788171399', '01095201234567889']) {
    const r = parseRead(x, Y);
    if (!r.ok) assert.ok(reasons.has(r.reason));
  }
});

class Capture extends PassThrough {
  text = '';
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    this.text += String(chunk);
    void rest;
    return true;
  }
}

function io(stdinText = ''): { stdin: Readable; stdout: Capture; stderr: Capture } {
  return { stdin: Readable.from([Buffer.from(stdinText, 'latin1')]), stdout: new Capture(), stderr: new Capture() };
}

test('parse - command prints the DOMAIN.md examples as JSON lines', async () => {
  const s = io();
  const code = await runParse([']d201095201234567881727033110LOT-A1<GS>21S3R!AL%x7', ']C100095201234567890122', ']d201095201234567871727033121SN0001'], s);
  assert.is(code, 1);
  assert.is(s.stdout.text, [
    '{"ok":true,"symbology":"]d2","gtin":"09520123456788","serial":"S3R!AL%x7","lot":"LOT-A1","expiry":"2027-03-31","ais":{"01":"09520123456788","10":"LOT-A1","17":"270331","21":"S3R!AL%x7"}}',
    '{"ok":true,"symbology":"]C1","sscc":"095201234567890122","ais":{"00":"095201234567890122"}}',
    '{"ok":false,"reason":"BAD_CHECK_DIGIT","message":"GTIN 09520123456787 has check digit 7, expected 8","ai":"01"}',
    '',
  ].join('\n'));
  assert.is(s.stderr.text, '');
});

test('parse - command exits 0 when every read parses, and honours --gs-substitute and --dd00', async () => {
  const s = io();
  assert.is(await runParse(['--gs-substitute', '^', '--dd00', 'warn', '01095201234567881728020010L1^21S'], s), 0);
  const line = JSON.parse(s.stdout.text) as Record<string, unknown>;
  assert.is(line.expiry, '2028-02-29');
  assert.is(line.expiryDayUnspecified, true);
  assert.is(line.lot, 'L1');
  assert.is((line.warnings as string[]).length, 1);
  const r = io();
  assert.is(await runParse(['--dd00', 'reject', '010952012345678817280200'], r), 1);
  assert.is((JSON.parse(r.stdout.text) as { reason: string }).reason, 'BAD_DATE');
});

test('parse - command reads --stdin one read per line, raw GS bytes included', async () => {
  const s = io(']d20109520123456788\x1d21A\r\n\n]C100095201234567890122\nbogus');
  assert.is(await runParse(['--stdin'], s), 1);
  const lines = s.stdout.text.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; serial?: string; reason?: string });
  assert.is(lines.length, 3);
  assert.is(lines[0]?.serial, 'A');
  assert.is(lines[1]?.ok, true);
  assert.is(lines[2]?.reason, 'MALFORMED');
});

test('parse - command usage errors exit 2 with a message on stderr', async () => {
  for (const argv of [[], ['--dd00', 'maybe', 'x'], ['--gs-substitute', '^^', 'x'], ['--bogus', 'x'], ['--stdin', 'x']]) {
    const s = io();
    assert.is(await runParse(argv, s), 2, argv.join(' '));
    assert.ok(s.stderr.text.includes('usage: scangate parse'), argv.join(' '));
    assert.is(s.stdout.text, '');
  }
  const h = io();
  assert.is(await runParse(['--help'], h), 0);
  assert.ok(h.stdout.text.startsWith('usage:'));
});

test('parse - default export writes to process.stdout', async () => {
  const original = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await parseCommand([']C100095201234567890122']);
  } finally {
    process.stdout.write = original;
  }
  assert.is(code, 0);
  assert.is(text, '{"ok":true,"symbology":"]C1","sscc":"095201234567890122","ais":{"00":"095201234567890122"}}\n');
});

test('parse - resultJson keeps AI order and omits absent fields', () => {
  const r = parseRead('https://id.example.com/01/09520123456788/10/L/21/S?3103=000189&17=270331', Y);
  assert.is(resultJson(r), '{"ok":true,"gtin":"09520123456788","serial":"S","lot":"L","expiry":"2027-03-31","ais":{"01":"09520123456788","10":"L","17":"270331","21":"S","3103":"000189"}}');
});

test.run();
