/**
 * Validation of one AI's data against its table entry: length, character set, check digits, dates and
 * the other component checks of GenSpecs section 3 (the GS1 Barcode Syntax Dictionary calls them linters).
 */
import {
  type AiEntry, type Component, FAST_N_FIXED, FAST_X_VAR, L_CSUM, L_CSUMALPHA, L_HHMM, L_HYPHEN, L_IMPORTERIDX, L_LATITUDE, L_LIST3,
  L_LONGITUDE, L_MMOPTSS, L_NONE, L_NONZERO, L_NOZEROPREFIX, L_PCENC, L_PIECEOFTOTAL, L_WINDING, L_YESNO,
  L_YYMMD0, L_YYMMDD, L_YYMMDDHH, L_YYYYMMDD, L_ZERO,
} from './ai-table.js';
import { CS_N, CS_X, CS_Z, type CharSet, IN_SET, notInSet, showChar } from './charset.js';
import { csumAlphaPair, mod10 } from './check.js';
import { type Cfg, DD00_REJECT, type ParseFailure, fail } from './context.js';
import { daysInMonth } from './dates.js';

const CSET82 = IN_SET[CS_X] as Uint8Array;

function num2(s: string, p: number): number {
  return (s.charCodeAt(p) - 48) * 10 + s.charCodeAt(p + 1) - 48;
}

function plural(n: number, word: string): string {
  return n === 1 ? `1 ${word}` : `${n} ${word}s`;
}

/** The failure for data of the wrong length. */
export function lengthFailure(e: AiEntry, len: number): ParseFailure {
  const unit = e.comps.every((c) => c.cs === CS_N) ? 'digit' : 'character';
  let want: string;
  if (e.minLen === e.maxLen) want = `expected ${e.minLen}`;
  else if (len > e.maxLen) want = `max ${e.maxLen}`;
  else if (len < e.minLen) want = `min ${e.minLen}`;
  else {
    // An optional fixed-length last component (7007, 7011): only the two lengths are valid.
    const last = e.comps[e.comps.length - 1];
    want = last !== undefined && last.min === last.max ? `expected ${e.minLen} or ${e.maxLen}` : `expected ${e.minLen} to ${e.maxLen}`;
  }
  return fail('MALFORMED', `AI ${e.ai} is ${plural(len, unit)}, ${want}`, e.ai);
}

/** YYMMDD at p; `dd00`: whether DD=00 is a valid day (yymmd0) or not (yymmdd). */
function checkDate(e: AiEntry, s: string, p: number, cfg: Cfg, dd00: boolean): ParseFailure | null {
  const yy = num2(s, p);
  const mm = num2(s, p + 2);
  const dd = num2(s, p + 4);
  if (mm < 1 || mm > 12) return fail('BAD_DATE', `AI ${e.ai} month ${s.slice(p + 2, p + 4)} is not 01-12`, e.ai);
  if (dd === 0) {
    if (!dd00) return fail('BAD_DATE', `AI ${e.ai} day 00 is not allowed (a real day is required)`, e.ai);
    if (cfg.dd00 === DD00_REJECT) return fail('BAD_DATE', `AI ${e.ai} day 00 (no day given) is refused by the DD=00 policy`, e.ai);
    return null;
  }
  const year = cfg.years[yy] ?? 0;
  const dim = daysInMonth(year, mm);
  if (dd > dim) return fail('BAD_DATE', `AI ${e.ai} day ${s.slice(p + 4, p + 6)} is not valid in ${year}-${s.slice(p + 2, p + 4)} (${dim} days)`, e.ai);
  return null;
}

function checkYyyymmdd(e: AiEntry, s: string, p: number): ParseFailure | null {
  const year = num2(s, p) * 100 + num2(s, p + 2);
  const mm = num2(s, p + 4);
  const dd = num2(s, p + 6);
  if (mm < 1 || mm > 12) return fail('BAD_DATE', `AI ${e.ai} month ${s.slice(p + 4, p + 6)} is not 01-12`, e.ai);
  const dim = daysInMonth(year, mm);
  if (dd < 1 || dd > dim) return fail('BAD_DATE', `AI ${e.ai} day ${s.slice(p + 6, p + 8)} is not valid in ${year}-${s.slice(p + 4, p + 6)}`, e.ai);
  return null;
}

function checkHour(e: AiEntry, s: string, p: number): ParseFailure | null {
  const h = num2(s, p);
  return h > 23 ? fail('BAD_DATE', `AI ${e.ai} hour ${s.slice(p, p + 2)} is not 00-23`, e.ai) : null;
}

function checkMinSec(e: AiEntry, s: string, p: number, what: string): ParseFailure | null {
  return num2(s, p) > 59 ? fail('BAD_DATE', `AI ${e.ai} ${what} ${s.slice(p, p + 2)} is not 00-59`, e.ai) : null;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function lint(e: AiEntry, c: Component, s: string, p: number, len: number, cfg: Cfg): ParseFailure | null {
  switch (c.lint) {
    case L_CSUM: {
      const want = mod10(s, p, p + len - 1);
      const got = s.charCodeAt(p + len - 1) - 48;
      if (want === got) return null;
      return fail('BAD_CHECK_DIGIT', `${e.keyLabel} ${s.slice(p, p + len)} has check digit ${got}, expected ${want}`, e.ai);
    }
    case L_YYMMD0:
      return checkDate(e, s, p, cfg, true);
    case L_YYMMDD:
      return checkDate(e, s, p, cfg, false);
    case L_YYMMDDHH:
      return checkDate(e, s, p, cfg, false) ?? checkHour(e, s, p + 6);
    case L_HHMM:
      return checkHour(e, s, p) ?? checkMinSec(e, s, p + 2, 'minute');
    case L_MMOPTSS:
      if (len !== 2 && len !== 4) return fail('MALFORMED', `AI ${e.ai} minutes and seconds must be 2 or 4 digits, found ${len}`, e.ai);
      return checkMinSec(e, s, p, 'minute') ?? (len === 4 ? checkMinSec(e, s, p + 2, 'second') : null);
    case L_YYYYMMDD:
      return checkYyyymmdd(e, s, p);
    case L_NONZERO: {
      for (let i = p; i < p + len; i++) if (s.charCodeAt(i) !== 48) return null;
      return fail('MALFORMED', `AI ${e.ai} has a zero value where GS1 requires non-zero`, e.ai);
    }
    case L_ZERO:
      return s.charCodeAt(p) === 48 ? null : fail('MALFORMED', `AI ${e.ai} must start with 0`, e.ai);
    case L_WINDING: {
      const w = s.charCodeAt(p);
      return w === 48 || w === 49 || w === 57 ? null : fail('MALFORMED', `AI ${e.ai} winding direction ${showChar(w)} is not 0, 1 or 9`, e.ai);
    }
    case L_PIECEOFTOTAL: {
      const piece = num2(s, p);
      const total = num2(s, p + 2);
      if (piece >= 1 && total >= 1 && piece <= total) return null;
      return fail('MALFORMED', `AI ${e.ai} piece ${piece} of total ${total} is not valid`, e.ai);
    }
    case L_YESNO: {
      const y = s.charCodeAt(p);
      return y === 48 || y === 49 ? null : fail('MALFORMED', `AI ${e.ai} must be 0 or 1`, e.ai);
    }
    case L_HYPHEN:
      return s.charCodeAt(p) === 45 ? null : fail('MALFORMED', `AI ${e.ai} may only end with '-'`, e.ai);
    case L_IMPORTERIDX: {
      const x = s.charCodeAt(p);
      const ok = x === 45 || x === 95 || (x >= 48 && x <= 57) || (x >= 65 && x <= 90) || (x >= 97 && x <= 122);
      return ok ? null : fail('MALFORMED', `AI ${e.ai} importer index ${showChar(x)} is not valid`, e.ai);
    }
    case L_LATITUDE:
    case L_LONGITUDE: {
      const v = Number(s.slice(p, p + len));
      const max = c.lint === L_LATITUDE ? 1800000000 : 3600000000;
      return v <= max ? null : fail('MALFORMED', `AI ${e.ai} ${c.lint === L_LATITUDE ? 'latitude' : 'longitude'} is out of range`, e.ai);
    }
    case L_NOZEROPREFIX:
      return len > 1 && s.charCodeAt(p) === 48 ? fail('MALFORMED', `AI ${e.ai} must not start with 0`, e.ai) : null;
    case L_LIST3:
      return len % 3 === 0 ? null : fail('MALFORMED', `AI ${e.ai} is ${len} digits, expected a list of 3-digit country codes`, e.ai);
    case L_CSUMALPHA: {
      if (len < 3) return fail('MALFORMED', `AI ${e.ai} is ${plural(len, 'character')}, min 3 (with its check character pair)`, e.ai);
      const want = csumAlphaPair(s, p, p + len - 2);
      const got = s.slice(p + len - 2, p + len);
      if (want === got) return null;
      return fail('BAD_CHECK_DIGIT', `${e.keyLabel} ${s.slice(p, p + len)} has check characters ${got}, expected ${want || '(none: too long)'}`, e.ai);
    }
    case L_PCENC: {
      for (let i = p; i < p + len; i++) {
        if (s.charCodeAt(i) !== 37) continue;
        if (i + 2 >= p + len || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
          return fail('MALFORMED', `AI ${e.ai} has '%' not followed by two hex digits`, e.ai);
        }
      }
      return null;
    }
    default:
      return null;
  }
}

/** The failure for a character outside the component's set. */
export function charFailure(e: AiEntry, cs: CharSet, code: number): ParseFailure {
  return fail('MALFORMED', `AI ${e.ai} contains ${showChar(code)} ${notInSet(cs)}`, e.ai);
}

/**
 * FAST_N_FIXED entries in one pass: digits, length, check digit (weights folded into two parity sums)
 * and date. With `stopAtGs`, a GS (or the substitute) inside the field is reported as a short field.
 */
export function checkFixedN(e: AiEntry, s: string, start: number, end: number, cfg: Cfg, stopAtGs: boolean): ParseFailure | null {
  const want = e.maxLen;
  let even = 0;
  let odd = 0;
  let i = start;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    if (((i - start) & 1) === 0) even += d;
    else odd += d;
  }
  if (i < end) {
    const c = s.charCodeAt(i);
    if (stopAtGs && (c === 29 || c === cfg.sub)) return i === start ? fail('MALFORMED', `AI ${e.ai} is empty`, e.ai) : lengthFailure(e, i - start);
    return charFailure(e, CS_N, c);
  }
  if (end - start !== want) return end === start ? fail('MALFORMED', `AI ${e.ai} is empty`, e.ai) : lengthFailure(e, end - start);
  const lintId = e.lint;
  if (lintId === L_CSUM) {
    // GenSpecs 7.9.1: weight 3 on the body digits at the parity of the length, 1 on the others.
    const check = s.charCodeAt(end - 1) - 48;
    const sum = (want & 1) === 0 ? even * 3 + odd - check : odd * 3 + even - check;
    const expected = (10 - (sum % 10)) % 10;
    if (expected === check) return null;
    return fail('BAD_CHECK_DIGIT', `${e.keyLabel} ${s.slice(start, end)} has check digit ${check}, expected ${expected}`, e.ai);
  }
  if (lintId === L_YYMMD0) return checkDate(e, s, start, cfg, true);
  if (lintId === L_YYMMDD) return checkDate(e, s, start, cfg, false);
  return null;
}

/** FAST_X_VAR entries: length, then set 82. */
function checkVarX(e: AiEntry, s: string, start: number, end: number): ParseFailure | null {
  const len = end - start;
  if (len === 0) return fail('MALFORMED', `AI ${e.ai} is empty`, e.ai);
  if (len < e.minLen || len > e.maxLen) return lengthFailure(e, len);
  const set = CSET82;
  for (let i = start; i < end; i++) {
    const x = s.charCodeAt(i);
    if (x > 127 || set[x] === 0) return charFailure(e, CS_X, x);
  }
  return null;
}

function checkChars(e: AiEntry, c: Component, s: string, p: number, end: number): ParseFailure | null {
  const set = IN_SET[c.cs] as Uint8Array;
  for (let i = p; i < end; i++) {
    const x = s.charCodeAt(i);
    if (x > 127 || set[x] === 0) return charFailure(e, c.cs, x);
  }
  if (c.cs === CS_Z) {
    // Set 64 '=' is padding: nothing but more padding may follow it (GenSpecs 7.11).
    const eq = s.indexOf('=', p);
    if (eq >= 0 && eq < end) {
      for (let i = eq; i < end; i++) if (s.charCodeAt(i) !== 61) return fail('MALFORMED', `AI ${e.ai} has '=' padding before the end`, e.ai);
    }
  }
  return null;
}

/**
 * Validates s[start..end) as the data of AI `e`. Returns null when valid, else the failure.
 */
export function validateValue(e: AiEntry, s: string, start: number, end: number, cfg: Cfg): ParseFailure | null {
  if (e.fast === FAST_N_FIXED) return checkFixedN(e, s, start, end, cfg, false);
  if (e.fast === FAST_X_VAR) return checkVarX(e, s, start, end);
  const len = end - start;
  if (len === 0) return fail('MALFORMED', `AI ${e.ai} is empty`, e.ai);
  if (len < e.minLen || len > e.maxLen) return lengthFailure(e, len);
  const comps = e.comps;
  let p = start;
  for (let i = 0; i < comps.length; i++) {
    const c = comps[i] as Component;
    const rest = end - p;
    if (rest === 0 && c.optional) break;
    let clen: number;
    if (c.min === c.max) {
      // A fixed component must fit exactly, or leave room for the ones after it.
      if (rest < c.max || (i === comps.length - 1 && rest !== c.max)) return lengthFailure(e, len);
      clen = c.max;
    } else {
      clen = rest;
      if (clen < c.min || clen > c.max) return lengthFailure(e, len);
    }
    const bad = checkChars(e, c, s, p, p + clen) ?? (c.lint === L_NONE ? null : lint(e, c, s, p, clen, cfg));
    if (bad !== null) return bad;
    p += clen;
  }
  return p === end ? null : lengthFailure(e, len);
}

/** Stores a valid value; a repeated AI must carry the same value (DOMAIN.md; GenSpecs section 4, invalid pairs). */
export function store(e: AiEntry, value: string, cfg: Cfg): ParseFailure | null {
  const idx = e.idx;
  if (cfg.mark[idx] === cfg.callId) {
    const prev = cfg.vals[cfg.slot[idx] as number];
    if (prev === value) return null;
    return fail('MALFORMED', `AI ${e.ai} appears twice with different values ('${prev}' and '${value}')`, e.ai);
  }
  const n = cfg.nSeen++;
  cfg.mark[idx] = cfg.callId;
  cfg.slot[idx] = n;
  cfg.seen[n] = e;
  cfg.vals[n] = value;
  return null;
}
