/**
 * Round trip: random fields -> an encoded read (element string in random AI order with GS where needed,
 * Digital Link, or human-readable) -> parse -> the same fields. Seeded, so a failure replays.
 */
import { type ParseOptions, gs1CheckDigit, parseRead } from '../../gateway/parse/index.js';
import { assert, suite } from '../helpers/uvu.js';
import { prng } from '../../bench/prng.js';

const TEST_TIMEOUT_MS = 20_000;
const test = suite('parse', {}, TEST_TIMEOUT_MS);
const ITERATIONS = 5_000;
const SEED = 0x5ca9;
const CURRENT_YEAR = 2026;


const CSET82 = '!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const GS = '\x1d';

class Gen {
  constructor(readonly rnd: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
  text(min: number, max: number, chars = CSET82): string {
    let s = '';
    const n = this.int(min, max);
    for (let i = 0; i < n; i++) s += chars.charAt(this.int(0, chars.length - 1));
    return s;
  }
  key(len: number): string {
    const body = this.digits(len - 1);
    return body + gs1CheckDigit(body);
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }
}

/** The century window written independently of the parser (GenSpecs 7.12). */
function fullYear(yy: number, current: number): number {
  const diff = yy - (current % 100);
  const century = current - (current % 100);
  if (diff >= 51) return century - 100 + yy;
  if (diff > -50) return century + yy;
  return century + 100 + yy;
}

function lastDay(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

interface Item {
  ai: string;
  value: string;
  predefined: boolean;
}

interface Expected {
  gtin?: string;
  sscc?: string;
  serial?: string;
  lot?: string;
  expiry?: string;
  expiryDayUnspecified?: true;
  ais: Record<string, string>;
}

function date(g: Gen): { value: string; iso: string; dd00: boolean } {
  const yy = g.int(0, 99);
  const mm = g.int(1, 12);
  const year = fullYear(yy, CURRENT_YEAR);
  const dd00 = g.chance(0.15);
  const dd = dd00 ? 0 : g.int(1, lastDay(year, mm));
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return { value: p2(yy) + p2(mm) + p2(dd), iso: `${year}-${p2(mm)}-${p2(dd00 ? lastDay(year, mm) : dd)}`, dd00 };
}

/** Random fields: a serialized pack (01 + attributes) or a logistic unit (00 + attributes). */
function fields(g: Gen, safeForHuman: boolean): { items: Item[]; want: Expected } {
  const chars = safeForHuman ? CSET82.replace('(', '') : CSET82;
  const items: Item[] = [];
  const want: Expected = { ais: {} };
  const add = (ai: string, value: string, predefined: boolean): void => {
    items.push({ ai, value, predefined });
    want.ais[ai] = value;
  };
  if (g.chance(0.8)) {
    const gtin = g.key(14);
    add('01', gtin, true);
    want.gtin = gtin;
    if (g.chance(0.85)) {
      want.serial = g.text(1, 20, chars);
      add('21', want.serial, false);
    }
    if (g.chance(0.7)) {
      want.lot = g.text(1, 20, chars);
      add('10', want.lot, false);
    }
    if (g.chance(0.7)) {
      const d = date(g);
      add('17', d.value, true);
      want.expiry = d.iso;
      if (d.dd00) want.expiryDayUnspecified = true;
    }
    if (g.chance(0.2)) add('11', date(g).value, true);
    if (g.chance(0.15)) add('240', g.text(1, 30, chars), false);
    if (g.chance(0.15)) add(g.pick(['710', '711', '712', '713', '714', '715', '716', '717']), g.text(1, 20, chars), false);
    if (g.chance(0.15)) add(`310${g.int(0, 5)}`, g.digits(6), true);
    if (g.chance(0.1)) add('30', g.digits(g.int(1, 8)), false);
  } else {
    const sscc = g.key(18);
    add('00', sscc, true);
    want.sscc = sscc;
    if (g.chance(0.3)) add('400', g.text(1, 30, chars), false);
    if (g.chance(0.3)) add('403', g.text(1, 30, chars), false);
    if (g.chance(0.3)) add(`330${g.int(0, 5)}`, g.digits(6), true);
  }
  return { items, want };
}

function elementString(g: Gen, items: Item[], opts: ParseOptions): string {
  const sep = opts.gsSubstitute ?? GS;
  const order = g.shuffle([...items]);
  let s = g.chance(0.1) ? sep : '';
  order.forEach((it, i) => {
    s += it.ai + it.value;
    const last = i === order.length - 1;
    if (!it.predefined && !last) s += sep;
    else if (g.chance(0.1)) s += sep; // superfluous
  });
  if (g.chance(0.2)) s = `[)>\x1e05${sep}${s}\x1e\x04`;
  const aim = g.chance(0.8) ? g.pick([']d2', ']C1', ']Q3', ']e0', ']J1']) : '';
  return aim + s + (g.chance(0.2) ? '\r\n' : '');
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function pct(g: Gen, value: string): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch) && !g.chance(0.05)) out += ch;
    else out += `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function digitalLink(g: Gen, items: Item[]): string {
  const byAi = new Map(items.map((it) => [it.ai, it.value]));
  const key = byAi.has('01') ? '01' : '00';
  let keyValue = byAi.get(key) as string;
  if (key === '01' && keyValue.startsWith('0') && g.chance(0.3)) keyValue = keyValue.slice(1); // GTIN-13 form
  let uri = `${g.pick(['https://id.gs1.org', 'https://example.com/dl', 'http://qr.example.net/a/b'])}/${key}/${keyValue}`;
  const path = key === '01' ? ['10', '21'] : [];
  for (const ai of path) if (byAi.has(ai)) uri += `/${ai}/${pct(g, byAi.get(ai) as string)}`;
  const query = g.shuffle(items.filter((it) => it.ai !== key && !path.includes(it.ai)).map((it) => `${it.ai}=${pct(g, it.value)}`));
  if (g.chance(0.3)) query.push('linkType=gs1:pip');
  if (query.length > 0) uri += `?${g.shuffle(query).join('&')}`;
  return (g.chance(0.5) ? ']Q1' : '') + uri;
}

function humanReadable(g: Gen, items: Item[]): string {
  return g.shuffle([...items]).map((it) => `(${it.ai})${it.value}`).join('');
}

test(`parse - round trip of ${ITERATIONS} random reads in three forms`, () => {
  const g = new Gen(prng(SEED));
  const forms = { element: 0, 'digital-link': 0, 'human-readable': 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const form = g.pick(['element', 'element', 'digital-link', 'human-readable'] as const);
    const { items, want } = fields(g, form === 'human-readable');
    const opts: ParseOptions = { currentYear: CURRENT_YEAR };
    if (g.chance(0.3)) opts.gsSubstitute = g.pick(['^', '~', '|', '#']);
    const input = form === 'element' ? elementString(g, items, opts) : form === 'digital-link' ? digitalLink(g, items) : humanReadable(g, items);
    const r = parseRead(input, opts);
    if (!r.ok) assert.unreachable(`#${i} ${JSON.stringify(input)}: ${r.reason} ${r.message}`);
    else {
      forms[r.form]++;
      assert.is(r.form, form, `#${i} form`);
      const got = { gtin: r.gtin, sscc: r.sscc, serial: r.serial, lot: r.lot, expiry: r.expiry, expiryDayUnspecified: r.expiryDayUnspecified, ais: r.ais };
      const expected = { gtin: undefined, sscc: undefined, serial: undefined, lot: undefined, expiry: undefined, expiryDayUnspecified: undefined, ...want };
      assert.equal(got, expected, `#${i} ${JSON.stringify(input)}`);
    }
  }
  assert.ok(forms.element > 0 && forms['digital-link'] > 0 && forms['human-readable'] > 0);
});

test.run();
