/**
 * The GS1 read parser: pure (no I/O), exact, total (never throws), fast.
 *
 * A read is: [AIM symbology id] [ISO/IEC 15434 envelope] data [CR/LF], where data is a GS1 element string,
 * a GS1 Digital Link URI, or (as a convenience) the human-readable `(01)...(21)...` form.
 */
import { AI_INDEX_SIZE } from './ai-table.js';
import { centuryTable, utcYearNow, yearPrefixes } from './dates.js';
import {
  type Cfg, DD00_ACCEPT, DD00_REJECT, DD00_WARN, type ParseFailure, type ParseOptions, type ParseResult, type ParsedRead,
  SYM_ANY, SYM_DL_ONLY, fail,
} from './context.js';
import { afterScheme, parseDigitalLink } from './digital-link.js';
import { parseElements } from './element.js';
import {
  DL_SYMBOLOGIES, GS1_SYMBOLOGIES, describeSymbology, hasEnvelope, inner, openEnvelope, symbologyKey, trimLineEnd,
} from './envelope.js';
import { parseHuman } from './human.js';
import { finish } from './result.js';

export type { Dd00Policy, ParseFailure, ParseOptions, ParseResult, ParsedRead } from './context.js';
export { checkDigitProblem, gs1CheckDigit, isValidGs1Key } from './check.js';
export { AI_ENTRIES, lookupAi, type AiEntry } from './ai-table.js';
export { GS1_SYMBOLOGIES, DL_SYMBOLOGIES } from './envelope.js';

/** A GS1-mode symbology: carries element strings only. */
const SYM_GS1 = 3;

/** Years are refreshed every this many reads when the year is taken from the clock. */
const YEAR_CHECK_EVERY = 1024;

interface Compiled extends Cfg {
  autoYear: boolean;
  nextYearMs: number;
  calls: number;
}

function setYear(cfg: Compiled, year: number): void {
  cfg.years = centuryTable(year);
  cfg.yearPrefix = yearPrefixes(cfg.years);
}

function compile(opts: ParseOptions | undefined, ais = true): Compiled {
  const o = opts ?? {};
  const keys: number[] = [];
  const kinds: number[] = [];
  const names: string[] = [];
  const allow = (id: string, kind: number): void => {
    if (typeof id !== 'string' || id.length !== 3 || id.charCodeAt(0) !== 93 || names.includes(id)) return;
    keys.push(symbologyKey(id, 0));
    kinds.push(kind);
    names.push(id);
  };
  const kindOf = (id: string): number => (GS1_SYMBOLOGIES.includes(id) ? SYM_GS1 : DL_SYMBOLOGIES.includes(id) ? SYM_DL_ONLY : SYM_ANY);
  const list = Array.isArray(o.allowedSymbologies) ? o.allowedSymbologies : [...GS1_SYMBOLOGIES, ...DL_SYMBOLOGIES];
  for (const id of list) allow(id, kindOf(id));
  const sub = typeof o.gsSubstitute === 'string' && o.gsSubstitute.length > 0 ? o.gsSubstitute.charCodeAt(0) : -1;
  const autoYear = !(typeof o.currentYear === 'number' && Number.isInteger(o.currentYear) && o.currentYear > 0 && o.currentYear < 10000);
  const now = autoYear ? utcYearNow() : { year: o.currentYear as number, nextYearMs: Infinity };
  const cfg: Compiled = {
    ais,
    sub: sub === 29 ? -1 : sub,
    symKeys: Int32Array.from(keys),
    symKinds: Uint8Array.from(kinds),
    symNames: names,
    requireSymbology: o.requireSymbology === true,
    dd00: o.dd00Policy === 'warn' ? DD00_WARN : o.dd00Policy === 'reject' ? DD00_REJECT : DD00_ACCEPT,
    years: new Int16Array(100),
    yearPrefix: [],
    seen: [],
    vals: [],
    nSeen: 0,
    mark: new Int32Array(AI_INDEX_SIZE),
    slot: new Int32Array(AI_INDEX_SIZE),
    callId: 0,
    autoYear,
    nextYearMs: now.nextYearMs,
    calls: 0,
  };
  setYear(cfg, now.year);
  return cfg;
}

function bytesToString(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 8192) out += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return out;
}

function parseString(cfg: Compiled, s: string): ParseResult {
  if (cfg.autoYear && ++cfg.calls % YEAR_CHECK_EVERY === 0 && Date.now() >= cfg.nextYearMs) {
    const now = utcYearNow();
    setYear(cfg, now.year);
    cfg.nextYearMs = now.nextYearMs;
  }
  let end = trimLineEnd(s);
  if (end === 0) return fail('MALFORMED', 'empty read');
  let p = 0;
  let symbology: string | undefined;
  let kind = 0;
  if (s.charCodeAt(0) === 93) {
    if (end < 3) return fail('MALFORMED', `symbology identifier '${s.slice(0, end)}' is incomplete`);
    const key = symbologyKey(s, 0);
    const keys = cfg.symKeys;
    let k = 0;
    while (k < keys.length && keys[k] !== key) k++;
    if (k === keys.length) return fail('SYMBOLOGY_NOT_ALLOWED', `symbology ${describeSymbology(s.slice(0, 3))} is not allowed at this station`);
    kind = cfg.symKinds[k] as number;
    symbology = cfg.symNames[k];
    p = 3;
  } else if (cfg.requireSymbology) {
    return fail('SYMBOLOGY_NOT_ALLOWED', 'the read has no AIM symbology identifier and this station requires one');
  }
  let envelope = false;
  if (hasEnvelope(s, p, end)) {
    const bad = openEnvelope(s, p, end, cfg.sub);
    if (bad !== null) return bad;
    p = inner.start;
    end = inner.end;
    envelope = true;
  }
  if (p >= end) return fail('MALFORMED', symbology === undefined ? 'empty read' : `no data after symbology identifier ${symbology}`);
  cfg.nSeen = 0;
  if (++cfg.callId === 0x7fffffff) {
    cfg.mark.fill(0);
    cfg.callId = 1;
  }
  let form: ParsedRead['form'];
  let bad: ParseFailure | null;
  const c = s.charCodeAt(p);
  if (!envelope && (c === 104 || c === 72) && afterScheme(s, p, end) >= 0) {
    if (kind === SYM_GS1) return fail('MALFORMED', `${describeSymbology(symbology ?? '')} carries GS1 element strings, not a URI`);
    form = 'digital-link';
    bad = parseDigitalLink(s, p, end, cfg);
  } else if (kind === SYM_DL_ONLY && !envelope) {
    return fail('SYMBOLOGY_NOT_ALLOWED', `${describeSymbology(symbology ?? '')} is allowed only for a GS1 Digital Link URI`);
  } else if (c === 40 && kind !== SYM_GS1) {
    form = 'human-readable';
    bad = parseHuman(s, p, end, cfg);
  } else if (c === 40) {
    return fail('MALFORMED', `${describeSymbology(symbology ?? '')} data starts with '(': parentheses are printed text, not GS1 barcode data`);
  } else {
    form = 'element';
    bad = parseElements(s, p, end, cfg);
  }
  if (bad !== null) return bad;
  if (cfg.nSeen === 0) return fail('MALFORMED', 'the read holds no AI');
  return finish(cfg, form, symbology);
}

function parseAny(cfg: Compiled, input: string | Uint8Array): ParseResult {
  try {
    if (typeof input === 'string') return parseString(cfg, input);
    if (input instanceof Uint8Array) return parseString(cfg, bytesToString(input));
    return fail('MALFORMED', 'the read is neither a string nor bytes');
  } catch (err) {
    // Unreachable by design (the fuzz test holds it to that); a parser bug must not take a station down.
    return fail('MALFORMED', `internal parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Options compiled once per station, for the hot path: returns a function equivalent to parseRead(x, opts).
 * Invalid option values fall back to their defaults; allowedSymbologies entries that are not `]` plus two
 * characters are ignored.
 */
export function compileParser(opts?: ParseOptions, how: { ais?: boolean } = {}): (input: string | Uint8Array) => ParseResult {
  const cfg = compile(opts, how.ais ?? true);
  return (input) => parseAny(cfg, input);
}

let defaultCfg: Compiled | undefined;
const cfgByOptions = new WeakMap<ParseOptions, Compiled>();

/**
 * Parses one read. Never throws, for any input. Accepts a string (each char code 0-255 is a byte, i.e. latin1)
 * or bytes. Options are compiled on first use and cached per options object: do not mutate them afterwards
 * (or use compileParser).
 */
export function parseRead(input: string | Uint8Array, opts?: ParseOptions): ParseResult {
  let cfg: Compiled | undefined;
  if (opts === undefined || opts === null || typeof opts !== 'object') cfg = defaultCfg ??= compile(undefined);
  else {
    cfg = cfgByOptions.get(opts);
    if (cfg === undefined) {
      try {
        cfg = compile(opts);
      } catch {
        // Only a hostile options object (a throwing getter) gets here; total means total.
        return fail('MALFORMED', 'the parser options could not be read');
      }
      cfgByOptions.set(opts, cfg);
    }
  }
  return parseAny(cfg, input);
}
