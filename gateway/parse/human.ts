/**
 * The human-readable form `(01)09520123456788(17)270331(10)LOT(21)SN` (GenSpecs, human readable
 * interpretation: AIs in parentheses, which are not part of the data), accepted as a
 * convenience input (typed by hand, pasted from a label). Parentheses are legal data characters, so a
 * `(` only starts the next AI when a known AI and `)` follow it; data runs up to the first such `(`.
 */
import { type AiEntry, lookupAi } from './ai-table.js';
import { showChar } from './charset.js';
import { type Cfg, type ParseFailure, fail } from './context.js';
import { store, validateValue } from './validate.js';

const OPEN = 40;
const CLOSE = 41;

function isDigits(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Entry of the AI in `(NN..)` at s[p], with the index after ')', or null. */
function aiInParens(s: string, p: number, end: number): { e: AiEntry; next: number } | null {
  if (s.charCodeAt(p) !== OPEN) return null;
  let q = p + 1;
  while (q < end && q - p <= 5) {
    const c = s.charCodeAt(q);
    if (c === CLOSE) break;
    if (c < 48 || c > 57) return null;
    q++;
  }
  if (q >= end || s.charCodeAt(q) !== CLOSE || q - p - 1 < 2 || q - p - 1 > 4) return null;
  const e = lookupAi(s.slice(p + 1, q));
  return e === null ? null : { e, next: q + 1 };
}

/**
 * Parses the human-readable string s[start..end) (which begins with '(') into cfg's scratch.
 */
export function parseHuman(s: string, start: number, end: number, cfg: Cfg): ParseFailure | null {
  let p = start;
  while (p < end) {
    const here = aiInParens(s, p, end);
    if (here === null) {
      if (s.charCodeAt(p) !== OPEN) return fail('MALFORMED', `expected '(' and an AI at position ${p}, found ${showChar(s.charCodeAt(p))}`);
      const close = s.indexOf(')', p);
      const ai = close > p + 1 && close < end && close - p <= 5 ? s.slice(p + 1, close) : '';
      return ai === '' || !isDigits(ai) ? fail('MALFORMED', `expected an AI in parentheses at position ${p}`) : fail('MALFORMED', `unknown AI ${ai} at position ${p + 1}`, ai);
    }
    const ds = here.next;
    let de = ds;
    const fixedEnd = here.e.predefined ? ds + here.e.fixedLen : -1;
    if (fixedEnd < end && s.charCodeAt(fixedEnd) === OPEN) {
      // A predefined-length AI ends where its length says: a '(' there starts the next AI, known or not.
      de = fixedEnd;
    } else {
      while (de < end && (s.charCodeAt(de) !== OPEN || aiInParens(s, de, end) === null)) de++;
    }
    const bad = validateValue(here.e, s, ds, de, cfg) ?? store(here.e, s.slice(ds, de), cfg);
    if (bad !== null) return bad;
    p = de;
  }
  return null;
}
