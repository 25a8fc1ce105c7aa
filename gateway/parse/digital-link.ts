/**
 * GS1 Digital Link URIs (GS1 Digital Link Standard: URI Syntax, uncompressed form):
 * `http(s)://any.host/any/prefix/01/{gtin}/22/{cpv}/10/{lot}/21/{serial}?17=YYMMDD&3103=000189`.
 * The primary key is the rightmost one in the path; its qualifiers follow in their fixed order; the query
 * string carries data attributes, and parameters that are not AIs are ignored.
 */
import { AI_LEN, type AiEntry, entryAt } from './ai-table.js';
import { type Cfg, type ParseFailure, fail } from './context.js';
import { store, validateValue } from './validate.js';

const SLASH = 47;
const PCT = 37;
const MAX_SEGMENTS = 64;

// Segment boundaries of the current (synchronous) call: no allocation per parse.
const segStart = new Int32Array(MAX_SEGMENTS);
const segEnd = new Int32Array(MAX_SEGMENTS);

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Index just after `http://` or `https://` (any letter case) at s[p..end), or -1.
 */
export function afterScheme(s: string, p: number, end: number): number {
  if (end - p < 8 || lower(s.charCodeAt(p)) !== 104 || lower(s.charCodeAt(p + 1)) !== 116 ||
      lower(s.charCodeAt(p + 2)) !== 116 || lower(s.charCodeAt(p + 3)) !== 112) return -1;
  let q = p + 4;
  if (lower(s.charCodeAt(q)) === 115) q++;
  return s.charCodeAt(q) === 58 && s.charCodeAt(q + 1) === SLASH && s.charCodeAt(q + 2) === SLASH ? q + 3 : -1;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = lower(c);
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Percent-decodes s[a..b) byte-wise (each byte becomes one char code); null on a bad escape. */
// Next '%' at or after the range being decoded (ranges are decoded left to right), -1 when none.
let nextPct = -1;

function decode(s: string, a: number, b: number): string | null {
  if (nextPct >= 0 && nextPct < a) nextPct = s.indexOf('%', a);
  const pct = nextPct;
  if (pct < 0 || pct >= b) return s.slice(a, b);
  let out = s.slice(a, pct);
  for (let i = pct; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c !== PCT) {
      out += s.charAt(i);
      continue;
    }
    const h = i + 2 < b ? hexVal(s.charCodeAt(i + 1)) : -1;
    const l = h < 0 ? -1 : hexVal(s.charCodeAt(i + 2));
    if (l < 0) return null;
    out += String.fromCharCode(h * 16 + l);
    i += 2;
  }
  return out;
}

/** Entry of the AI spelled by s[a..b) (2-4 digits), or null. */
function aiInRange(s: string, a: number, b: number): AiEntry | null {
  const len = b - a;
  if (len < 2 || len > 4) return null;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  if (AI_LEN[(s.charCodeAt(a) - 48) * 10 + s.charCodeAt(a + 1) - 48] !== len) return null;
  return entryAt(s, a, len);
}

function segmentAi(s: string, i: number): AiEntry | null {
  return aiInRange(s, segStart[i] ?? 0, segEnd[i] ?? 0);
}

// Per alternative qualifier sequence of the current primary key: index of the next allowed qualifier.
const altNext = new Int32Array(8);

function addValue(e: AiEntry, raw: string | null, cfg: Cfg, isPrimary: boolean): ParseFailure | null {
  if (raw === null) return fail('MALFORMED', `AI ${e.ai} has a bad percent-encoding in the Digital Link`, e.ai);
  let v = raw;
  // DL URI Syntax: a GTIN-8, -12 or -13 in the path stands for the GTIN-14 with leading zeros.
  if (isPrimary && e.ai === '01' && (v.length === 8 || v.length === 12 || v.length === 13)) v = '00000000000000'.slice(v.length) + v;
  return validateValue(e, v, 0, v.length, cfg) ?? store(e, v, cfg);
}

/**
 * Parses the Digital Link URI s[start..end) (which begins with http:// or https://) into cfg's scratch.
 */
export function parseDigitalLink(s: string, start: number, end: number, cfg: Cfg): ParseFailure | null {
  const host = afterScheme(s, start, end);
  if (host < 0) return fail('MALFORMED', 'a Digital Link must start with http:// or https://');
  // Native indexOf scans faster than a char loop: find the query, the fragment, then each '/'.
  let qpos = s.indexOf('?', host);
  if (qpos < 0 || qpos > end) qpos = end;
  let hpos = s.indexOf('#', host);
  if (hpos < 0 || hpos > end) hpos = end;
  const pathEnd = qpos < hpos ? qpos : hpos;
  let p = s.indexOf('/', host);
  if (p < 0 || p > pathEnd) p = pathEnd;
  if (p === host) return fail('MALFORMED', 'Digital Link has no host');
  if (p >= pathEnd) return fail('MALFORMED', 'Digital Link has no path with a GS1 key');
  nextPct = s.indexOf('%', p);
  let n = 0;
  while (p < pathEnd) {
    // s[p] is '/': a segment starts after it.
    if (n === MAX_SEGMENTS) return fail('MALFORMED', `Digital Link path has more than ${MAX_SEGMENTS} segments`);
    let q = s.indexOf('/', p + 1);
    if (q < 0 || q > pathEnd) q = pathEnd;
    segStart[n] = p + 1;
    segEnd[n] = q;
    n++;
    p = q;
  }
  if (n > 0 && segStart[n - 1] === segEnd[n - 1]) n--; // a trailing '/'
  let pk = -1;
  for (let i = n - 2; i >= 0; i -= 2) {
    // The primary key sits an even number of segments from the end: values never land on a key position.
    const e = segmentAi(s, i);
    if (e !== null && e.dlQualifiers !== null) {
      pk = i;
      break;
    }
  }
  if (pk < 0) return fail('MALFORMED', 'no GS1 primary key (e.g. /01/ or /00/) in the Digital Link path');
  const key = segmentAi(s, pk) as AiEntry;
  const alts = key.dlQualifiers as string[][];
  const nAlts = alts.length < altNext.length ? alts.length : altNext.length;
  altNext.fill(0);
  for (let i = pk; i < n; i += 2) {
    const e = i === pk ? key : segmentAi(s, i);
    if (e === null) {
      const a = segStart[i] ?? 0;
      const b = segEnd[i] ?? 0;
      const label = b - a > 20 ? `${s.slice(a, a + 20)}...` : s.slice(a, b);
      return fail('MALFORMED', `'${label}' in the Digital Link path is not a qualifier of AI ${key.ai}`);
    }
    if (i > pk) {
      // DL URI Syntax: key qualifiers follow one of the key's sequences, in order, each optional.
      let inOrder = false;
      let known = false;
      for (let a = 0; a < nAlts; a++) {
        const alt = alts[a] as string[];
        const at = alt.indexOf(e.ai);
        if (at < 0) {
          altNext[a] = 0x7fffffff;
          continue;
        }
        known = true;
        if (at >= (altNext[a] as number)) {
          altNext[a] = at + 1;
          inOrder = true;
        } else altNext[a] = 0x7fffffff;
      }
      if (!known) return fail('MALFORMED', `AI ${e.ai} is not a path qualifier of AI ${key.ai} in a Digital Link (it belongs in the query string)`, e.ai);
      if (!inOrder) return fail('MALFORMED', `Digital Link path qualifiers of AI ${key.ai} must be in the order ${alts.map((x) => x.join(', ')).join(' or ')}`, e.ai);
    }
    const bad = addValue(e, decode(s, segStart[i + 1] ?? 0, segEnd[i + 1] ?? 0), cfg, i === pk);
    if (bad !== null) return bad;
  }
  if (qpos < hpos) {
    let a = qpos + 1;
    while (a < hpos) {
      let amp = s.indexOf('&', a);
      if (amp < 0 || amp > hpos) amp = hpos;
      let eq = a;
      while (eq < amp && s.charCodeAt(eq) !== 61) eq++;
      if (eq === amp) {
        // A parameter without '=': an AI named with no value is an error, anything else is for the resolver.
        const bare = amp > a ? aiInRange(s, a, amp) : null;
        if (bare !== null) return fail('MALFORMED', `AI ${bare.ai} in the query string has no value (write ${bare.ai}=value)`, bare.ai);
        eq = -1;
      }
      // Only parameters named by an AI count; others (linkType, context...) are for the resolver.
      const e = eq > a ? aiInRange(s, a, eq) : null;
      if (e !== null) {
        const bad = addValue(e, decode(s, eq + 1, amp), cfg, false);
        if (bad !== null) return bad;
      }
      a = amp + 1;
    }
  }
  return null;
}
