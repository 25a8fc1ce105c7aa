/**
 * From the AIs of one read to the result: AI pairing rules (GS1 General Specifications section 4, invalid
 * pairs and mandatory associations of element strings), the identity rule of a serialized station (a GTIN or
 * an SSCC), and the extracted fields.
 */
import { type AiEntry, L_YYMMD0, aiIndex } from './ai-table.js';
import { type Cfg, DD00_WARN, type ParseResult, type ParsedRead, fail, has, valueOf } from './context.js';
import { TWO_DIGITS, daysInMonth } from './dates.js';

const MONTH_DASH: readonly string[] = TWO_DIGITS.map((m) => `${m}-`);
const I00 = aiIndex('00');
const I01 = aiIndex('01');
const I10 = aiIndex('10');
const I17 = aiIndex('17');
const I21 = aiIndex('21');

function pairingFailure(cfg: Cfg): ParseResult | null {
  for (let i = 0; i < cfg.nSeen; i++) {
    const e = cfg.seen[i] as AiEntry;
    const req = e.reqIdx;
    for (let g = 0; g < req.length; g++) {
      const group = req[g] as number[];
      let found = false;
      for (let k = 0; k < group.length; k++) {
        if (has(cfg, group[k] as number)) {
          found = true;
          break;
        }
      }
      if (!found) {
        const names = e.req[g] as string[];
        const others = names.length > 1 ? ` (or ${names.slice(1).join(', ')})` : '';
        return fail('MISSING_AI', `AI ${e.ai} (${e.title}) requires AI ${names[0]}${others} in the same read`, e.ai);
      }
    }
    const ex = e.exIdx;
    for (let k = 0; k < ex.length; k++) {
      if (has(cfg, ex[k] as number)) return fail('MALFORMED', `AIs ${e.ai} and ${e.ex[k]} may not appear in the same read`, e.ai);
    }
    const fam = e.familyIdx;
    for (let k = 0; k < fam.length; k++) {
      if (has(cfg, fam[k] as number)) {
        const other = cfg.seen[cfg.slot[fam[k] as number] as number] as AiEntry;
        return fail('MALFORMED', `AIs ${e.ai} and ${other.ai} give the same measure twice`, e.ai);
      }
    }
  }
  return null;
}

function dd00Warnings(cfg: Cfg, expiry: string | undefined): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < cfg.nSeen; i++) {
    const e = cfg.seen[i] as AiEntry;
    const first = e.comps[0];
    const v = cfg.vals[i] as string;
    if (first === undefined || first.lint !== L_YYMMD0 || v.charCodeAt(4) !== 48 || v.charCodeAt(5) !== 48) continue;
    const reading = e.ai === '17' && expiry !== undefined ? `: expiry read as ${expiry}, the last day of the month` : '';
    (out ??= []).push(`AI ${e.ai} ${v.slice(0, 6)} has day 00 (no day given)${reading}`);
  }
  return out;
}

interface Template {
  idx: number[];
  obj: Record<string, string>;
}

// Objects keyed by AIs such as '10' and '17' (array-index-like keys) are slow to build key by key (~200 ns for
// four keys here); cloning a template with the same keys and overwriting the values is several times faster.
// Bounded and direct-mapped by a hash of the AI sequence: a colliding combination is built key by key.
const TEMPLATE_SLOTS = 1024;
const templates: (Template | null)[] = new Array<Template | null>(TEMPLATE_SLOTS).fill(null);

function buildAis(cfg: Cfg): Record<string, string> {
  const n = cfg.nSeen;
  const seen = cfg.seen;
  const vals = cfg.vals;
  let h = n;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + (seen[i] as AiEntry).idx) | 0;
  // Direct-mapped: a slot keeps its first template; a colliding combination is built key by key.
  const slot = h & (TEMPLATE_SLOTS - 1);
  let t = templates[slot] ?? null;
  if (t === null) {
    t = { idx: [], obj: {} };
    for (let i = 0; i < n; i++) {
      t.idx.push((seen[i] as AiEntry).idx);
      t.obj[(seen[i] as AiEntry).ai] = '';
    }
    templates[slot] = t;
  }
  let same = t.idx.length === n;
  for (let i = 0; same && i < n; i++) same = (t as Template).idx[i] === (seen[i] as AiEntry).idx;
  const ais: Record<string, string> = same ? { ...(t as Template).obj } : {};
  for (let i = 0; i < n; i++) ais[(seen[i] as AiEntry).ai] = vals[i] as string;
  return ais;
}

/**
 * Builds the result once every AI of the read is in cfg's scratch.
 */
/** The `ais` of results from a parser compiled without them (shared, frozen, empty). */
export const NO_AIS: Readonly<Record<string, string>> = Object.freeze({});

export function finish(cfg: Cfg, form: ParsedRead['form'], symbology: string | undefined): ParseResult {
  const bad = pairingFailure(cfg);
  if (bad !== null) return bad;
  const gtin = valueOf(cfg, I01);
  const sscc = valueOf(cfg, I00);
  if (gtin === undefined && sscc === undefined) {
    return fail('MISSING_AI', 'the read carries no GTIN (AI 01) and no SSCC (AI 00)');
  }
  const r: ParsedRead = { ok: true, form, ais: cfg.ais ? buildAis(cfg) : (NO_AIS as Record<string, string>) };
  if (symbology !== undefined) r.symbology = symbology;
  if (gtin !== undefined) r.gtin = gtin;
  const serial = valueOf(cfg, I21);
  if (serial !== undefined) r.serial = serial;
  const lot = valueOf(cfg, I10);
  if (lot !== undefined) r.lot = lot;
  const exp = valueOf(cfg, I17);
  if (exp !== undefined) {
    // Validated already: six digits, month 01-12, day valid or 00.
    const yy = (exp.charCodeAt(0) - 48) * 10 + exp.charCodeAt(1) - 48;
    const mm = (exp.charCodeAt(2) - 48) * 10 + exp.charCodeAt(3) - 48;
    const dd = (exp.charCodeAt(4) - 48) * 10 + exp.charCodeAt(5) - 48;
    // GenSpecs 7.12: DD=00 means the day is not given; for an expiry that is the last day of the month.
    const day = dd === 0 ? daysInMonth(cfg.years[yy] ?? 0, mm) : dd;
    r.expiry = (cfg.yearPrefix[yy] as string) + (MONTH_DASH[mm] as string) + (TWO_DIGITS[day] as string);
    if (dd === 0) r.expiryDayUnspecified = true;
  }
  if (sscc !== undefined) r.sscc = sscc;
  if (cfg.dd00 === DD00_WARN) {
    const w = dd00Warnings(cfg, r.expiry);
    if (w !== undefined) r.warnings = w;
  }
  return r;
}
