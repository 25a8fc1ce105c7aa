/**
 * GS1 element strings (GenSpecs 7.8): AI, data, AI, data... A predefined-length AI (Figure 7.8.5-2)
 * ends after its fixed length; every other AI ends at GS (FNC1 as transmitted) or at the end of the read.
 * One pass over char codes, no regular expressions, no backtracking.
 */
import { AI_LEN, FAST_N_FIXED, FAST_X_VAR, entryAt } from './ai-table.js';
import { CS_X, IN_SET, showChar } from './charset.js';
import { type Cfg, type ParseFailure, fail } from './context.js';
import { charFailure, checkFixedN, lengthFailure, store, validateValue } from './validate.js';

const GS = 29;
const CSET82 = IN_SET[CS_X] as Uint8Array;

function notDigit(c: number): boolean {
  return c < 48 || c > 57;
}

/**
 * Parses the element string s[start..end) into cfg's scratch. Positions in messages are 0-based offsets in `s`.
 * Leading, trailing and repeated GS (or the substitute) are tolerated.
 */
export function parseElements(s: string, start: number, end: number, cfg: Cfg): ParseFailure | null {
  const sub = cfg.sub;
  let p = start;
  while (p < end) {
    const c0 = s.charCodeAt(p);
    if (c0 === GS || c0 === sub) {
      p++;
      continue;
    }
    if (notDigit(c0)) return fail('MALFORMED', `expected an AI at position ${p}, found ${showChar(c0)}`);
    if (p + 1 >= end) return fail('MALFORMED', `read ends inside an AI at position ${p} ('${s.slice(p, end)}')`);
    const c1 = s.charCodeAt(p + 1);
    if (notDigit(c1)) return fail('MALFORMED', `expected an AI at position ${p}, found '${s.charAt(p)}' then ${showChar(c1)}`);
    const alen = AI_LEN[(c0 - 48) * 10 + c1 - 48] ?? 0;
    if (alen === 0) {
      const ai = s.slice(p, p + 2);
      return fail('MALFORMED', `unknown AI ${ai} at position ${p}`, ai);
    }
    if (p + alen > end) return fail('MALFORMED', `read ends inside an AI at position ${p} ('${s.slice(p, end)}')`);
    for (let i = p + 2; i < p + alen; i++) {
      const c = s.charCodeAt(i);
      if (notDigit(c)) return fail('MALFORMED', `expected an AI at position ${p}, found '${s.slice(p, i)}' then ${showChar(c)}`);
    }
    const e = entryAt(s, p, alen);
    if (e === null) {
      const ai = s.slice(p, p + alen);
      return fail('MALFORMED', `unknown AI ${ai} at position ${p}`, ai);
    }
    const ds = p + alen;
    let de: number;
    let bad: ParseFailure | null;
    if (e.fast === FAST_N_FIXED && e.predefined) {
      // Predefined length: no GS needed after it; a GS inside is reported as a short field.
      de = ds + e.fixedLen;
      if (de > end) de = end;
      bad = checkFixedN(e, s, ds, de, cfg, true);
    } else if (e.fast === FAST_X_VAR) {
      // One pass: find the separator and remember the first character outside set 82.
      let badAt = -1;
      de = ds;
      while (de < end) {
        const c = s.charCodeAt(de);
        if (c === GS || c === sub) break;
        if (badAt < 0 && (c > 127 || CSET82[c] === 0)) badAt = de;
        de++;
      }
      const len = de - ds;
      bad = len === 0 ? fail('MALFORMED', `AI ${e.ai} is empty`, e.ai)
        : len < e.minLen || len > e.maxLen ? lengthFailure(e, len)
        : badAt >= 0 ? charFailure(e, CS_X, s.charCodeAt(badAt)) : null;
    } else {
      de = ds;
      if (e.predefined) {
        de = ds + e.fixedLen;
        if (de > end) de = end;
        for (let i = ds; i < de; i++) {
          const c = s.charCodeAt(i);
          if (c === GS || c === sub) {
            de = i;
            break;
          }
        }
      } else {
        while (de < end) {
          const c = s.charCodeAt(de);
          if (c === GS || c === sub) break;
          de++;
        }
      }
      bad = validateValue(e, s, ds, de, cfg);
    }
    bad ??= store(e, s.slice(ds, de), cfg);
    if (bad !== null) return bad;
    p = de;
  }
  return null;
}
