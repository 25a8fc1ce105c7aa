/**
 * Fuzz: random bytes, random strings from the parser's alphabet, and mutations of valid reads. The parser
 * must never throw and must always answer {ok:true,...} or {ok:false, reason in REASONS, message}.
 * Seeded, so a failure replays.
 */
import { type ParseOptions, type ParseResult, compileParser, isValidGs1Key, parseRead } from '../../gateway/parse/index.js';
import { REASONS } from '../../gateway/reasons.js';
import { assert, suite } from '../helpers/uvu.js';
import { prng } from '../../bench/prng.js';

const TEST_TIMEOUT_MS = 20_000;
const test = suite('parse', {}, TEST_TIMEOUT_MS);
const SEED = 0xf0221;
const RANDOM_BYTES = 25_000;
const RANDOM_ALPHABET = 25_000;
const MUTATIONS = 150_000;
const LONG_INPUT_CHARS = 200_000;
const LONG_INPUT_BUDGET_MS = 250;


const rnd = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

const G = '09520123456788';
const SEEDS = [
  `]d201${G}1727033110LOT-A1\x1d21S3R!AL%x7`,
  ']C100095201234567890122',
  `]d201${G}17280200\x1d21SN0001\x1d10L(1)`,
  `]Q1https://id.example.com/01/${G}/22/V/10/L%2F1/21/S?17=270331&3103=000189&linkType=all#x`,
  `https://id.gs1.org/00/095201234567890122`,
  `(01)${G}(17)270331(10)LOT(21)S(1)`,
  `]d2[)>\x1e05\x1d01${G}\x1d21ABC\x1e\x04\r\n`,
  `00095201234567890122\x1d02${G}37100\x1d10L\x1d17270331\x1d4330001234-\x1d4309${'1'.repeat(20)}`,
  `01${G}80131987654Ad4X4bL5ttr2310c2K\x1d8010AB#-/1\x1d800809010112\x1d39251234\x1d8200https://a.b/c`,
  `00095201234567890122\x1d8006${G}0102\x1d21S\x1d43211\x1d43242703311500\x1d4307DE`,
  `01${G}3103000189\x1d70032703311530\x1d7007270101270131\x1d253${G.slice(1)}ABC\x1d70401A-_`,
  `01${G}21A\x1d250B\x1d7230ABXY\x1d800101234567890111\x1d712123\x1d421250ABC\x1d423250276\x1d7250${'19850630'}`,
];
const ALPHABET = ['0', '1', '2', '7', '9', '\x1d', '(', ')', ']', 'd', 'Q', '1', '2', 'h', 't', 'p', 's', ':', '/', '?', '=', '&', '%',
  '#', 'A', '[', '>', '\x1e', '\x04', '\r', '\n', '^', '~', ' ', '\u20ac', '\xe9', '\x00'];
const OPTIONS: ParseOptions[] = [
  {},
  { gsSubstitute: '^', dd00Policy: 'warn' },
  { gsSubstitute: '#', dd00Policy: 'reject', requireSymbology: true },
  { allowedSymbologies: [']d2', ']A0', ']Q1'], currentYear: 2080 },
  { gsSubstitute: '1' },
];
const PARSERS = OPTIONS.map((o) => compileParser(o));
const REASON_NAMES = new Set(Object.keys(REASONS));

function randomBytes(): Uint8Array {
  const b = new Uint8Array(int(0, 90));
  for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
  return b;
}

function randomAlphabet(): string {
  let s = '';
  const n = int(0, 80);
  for (let i = 0; i < n; i++) s += pick(ALPHABET);
  return s;
}

function mutate(src: string): string {
  let s = src;
  const rounds = int(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = int(0, s.length);
    switch (int(0, 7)) {
      case 0: // flip a byte
        s = s.slice(0, at) + String.fromCharCode(int(0, 255)) + s.slice(at + 1);
        break;
      case 1: // insert a byte
        s = s.slice(0, at) + String.fromCharCode(int(0, 255)) + s.slice(at);
        break;
      case 2: // delete a byte
        s = s.slice(0, at) + s.slice(at + 1);
        break;
      case 3: // insert GS
        s = `${s.slice(0, at)}\x1d${s.slice(at)}`;
        break;
      case 4: // truncate
        s = s.slice(0, at);
        break;
      case 5: // a character from the alphabet
        s = s.slice(0, at) + pick(ALPHABET) + s.slice(at + 1);
        break;
      case 6: // duplicate a slice
        s = s.slice(0, at) + s.slice(int(0, at), at) + s.slice(at);
        break;
      default: // change a digit (check digits, dates, AIs)
        s = s.slice(0, at) + String(int(0, 9)) + s.slice(at + 1);
    }
  }
  return s;
}

const stats = { ok: 0, failed: 0, total: 0 };

function check(input: string | Uint8Array, r: ParseResult): void {
  stats.total++;
  const show = (): string => JSON.stringify(typeof input === 'string' ? input : Array.from(input));
  if (typeof r !== 'object' || r === null) assert.unreachable(`not an object for ${show()}`);
  if (r.ok === true) {
    stats.ok++;
    assert.type(r.ais, 'object');
    assert.ok(r.gtin !== undefined || r.sscc !== undefined, `no key for ${show()}`);
    if (r.gtin !== undefined) assert.ok(r.gtin.length === 14 && isValidGs1Key(r.gtin), `gtin ${r.gtin} for ${show()}`);
    if (r.sscc !== undefined) assert.ok(r.sscc.length === 18 && isValidGs1Key(r.sscc), `sscc ${r.sscc} for ${show()}`);
    if (r.expiry !== undefined) {
      assert.ok(/^\d{4}-\d{2}-\d{2}$/.test(r.expiry), `expiry ${r.expiry}`);
      assert.is(new Date(`${r.expiry}T00:00:00Z`).toISOString().slice(0, 10), r.expiry, `expiry is a real date for ${show()}`);
    }
    for (const v of Object.values(r.ais)) assert.ok(typeof v === 'string' && v.length > 0, `empty AI value for ${show()}`);
  } else if (r.ok === false) {
    stats.failed++;
    assert.ok(REASON_NAMES.has(r.reason), `reason ${String(r.reason)} for ${show()}`);
    assert.type(r.message, 'string');
    assert.ok(r.message.length > 0, `empty message for ${show()}`);
    assert.not.ok(r.message.startsWith('internal parser error'), `${r.message} for ${show()}`);
  } else {
    assert.unreachable(`ok is neither true nor false for ${show()}`);
  }
}

function run(input: string | Uint8Array): void {
  let r: ParseResult;
  try {
    r = pick(PARSERS)(input);
  } catch (err) {
    assert.unreachable(`threw ${String(err)} for ${JSON.stringify(typeof input === 'string' ? input : Array.from(input))}`);
    return;
  }
  check(input, r);
}

test(`parse - fuzz: ${RANDOM_BYTES} random byte strings never throw`, () => {
  for (let i = 0; i < RANDOM_BYTES; i++) {
    const b = randomBytes();
    run(i % 2 === 0 ? b : String.fromCharCode(...b));
  }
});

test(`parse - fuzz: ${RANDOM_ALPHABET} strings from the parser's alphabet never throw`, () => {
  for (let i = 0; i < RANDOM_ALPHABET; i++) run(randomAlphabet());
});

test(`parse - fuzz: ${MUTATIONS} mutated valid reads never throw`, () => {
  for (const s of SEEDS) assert.ok(parseRead(s, { currentYear: 2026 }).ok, `seed ${JSON.stringify(s)} parses`);
  for (let i = 0; i < MUTATIONS; i++) {
    const m = mutate(pick(SEEDS));
    run(i % 10 === 0 ? Buffer.from(m, 'latin1') : m);
  }
});

test('parse - long inputs take linear time', () => {
  const n = LONG_INPUT_CHARS;
  const inputs = [
    '1'.repeat(n), '\x1d'.repeat(n), `01${G}21${'A'.repeat(n)}`, `(01)${G}(10)${'('.repeat(n)}`, '(10)A'.repeat(n / 5),
    `https://a.b/01/${G}?${'x&'.repeat(n / 2)}`, `https://a.b/01/${G}?${'17%'.repeat(n / 3)}`, `https://a.b/${'/01'.repeat(n / 3)}`,
    `https://a.b/${'x/'.repeat(n / 2)}01/${G}`, `]d2${'01'.repeat(n / 2)}`, `[)>\x1e05\x1d${'\x1e'.repeat(n)}\x04`, `]Q1https://${'h'.repeat(n)}/01/${G}`,
  ];
  for (const x of inputs) {
    const t0 = performance.now();
    const r = parseRead(x);
    const ms = performance.now() - t0;
    check(x, r);
    assert.ok(ms < LONG_INPUT_BUDGET_MS, `${ms.toFixed(0)} ms for ${JSON.stringify(x.slice(0, 40))}...`);
    if (!r.ok) assert.ok(r.message.length < 300, `message of ${r.message.length} chars`);
  }
});

test('parse - fuzz: enough inputs, and both outcomes seen', () => {
  assert.ok(stats.total >= 100_000, `${stats.total} inputs`);
  assert.ok(stats.ok > 1_000, `${stats.ok} ok`);
  assert.ok(stats.failed > 1_000, `${stats.failed} failed`);
});

test.run();
