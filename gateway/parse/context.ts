/**
 * Shared shapes: the public result types, the compiled per-station configuration and the failure helper.
 */
import type { ReasonName } from '../reasons.js';
import type { AiEntry } from './ai-table.js';

export type Dd00Policy = 'accept' | 'warn' | 'reject';

/** Options of a station's parser. */
export interface ParseOptions {
  /** Character the scanner sends instead of GS (0x1D), e.g. '^', '~', '|', '#'. Undefined: only 0x1D. */
  gsSubstitute?: string;
  /**
   * AIM symbology identifiers allowed (e.g. [']d2', ']C1', ']Q3', ']e0', ']J1', ']d1', ']Q1']). Undefined: all GS1
   * ones + ]d1/]Q1 carrying a Digital Link. A read with no AIM id is allowed unless requireSymbology.
   */
  allowedSymbologies?: readonly string[];
  requireSymbology?: boolean;
  /** DD=00 in a date AI: accept (expiry = last day of month), warn (same, plus a warning), reject (BAD_DATE). Default accept. */
  dd00Policy?: Dd00Policy;
  /** Reference "now" for the GS1 century sliding window, as a year (e.g. 2026). Default: current UTC year. */
  currentYear?: number;
}

/** A read that parsed. Fields are absent when the read does not carry them. */
export interface ParsedRead {
  ok: true;
  /** AIM symbology identifier, e.g. ']d2', when the scanner sent one. */
  symbology?: string;
  form: 'element' | 'digital-link' | 'human-readable';
  /** AI 01, 14 digits. */
  gtin?: string;
  /** AI 21. */
  serial?: string;
  /** AI 10. */
  lot?: string;
  /** AI 17 as ISO YYYY-MM-DD (DD=00 -> last day of the month). */
  expiry?: string;
  expiryDayUnspecified?: boolean;
  /** AI 00, 18 digits. */
  sscc?: string;
  /** Every AI -> its value as found (percent-decoded for a Digital Link, GTIN padded to 14 digits). */
  ais: Record<string, string>;
  /** E.g. DD=00 under the 'warn' policy. */
  warnings?: string[];
}

/** A read that did not parse: a reason for the line and a message for the line engineer. */
export interface ParseFailure {
  ok: false;
  reason: ReasonName;
  message: string;
  /** The AI the failure is about, when there is one. */
  ai?: string;
}

export type ParseResult = ParsedRead | ParseFailure;

export const DD00_ACCEPT = 0;
export const DD00_WARN = 1;
export const DD00_REJECT = 2;

/** Symbology kinds in Cfg.symbologies. */
export const SYM_ANY = 1;
/** ]d1 / ]Q1: plain DataMatrix / QR, allowed only for a Digital Link (or an ISO/IEC 15434 format 05 envelope). */
export const SYM_DL_ONLY = 2;

/**
 * Options compiled once per station, plus scratch for the current call (parsing is synchronous, so one
 * set of scratch arrays per compiled parser is enough and nothing is allocated per AI).
 */
export interface Cfg {
  /** Build the `ais` map of each result (false: leave it empty, for callers that read the named fields only). */
  ais: boolean;
  /** Char code of the GS substitute, -1 when none. */
  sub: number;
  /** Allowed AIM ids as keys (code of 2nd char * 65536 + code of 3rd char); a handful, scanned linearly. */
  symKeys: Int32Array;
  /** Kind of each allowed id (SYM_*). */
  symKinds: Uint8Array;
  /** Interned id strings, e.g. ']d2'. */
  symNames: string[];
  requireSymbology: boolean;
  dd00: number;
  /** Full year per YY. */
  years: Int16Array;
  /** 'YYYY-' per YY. */
  yearPrefix: string[];
  /** Entries stored by the current call, in read order, and their values. */
  seen: AiEntry[];
  vals: string[];
  nSeen: number;
  /** Per AiEntry.idx: === callId when the AI is in the current read; then slot[idx] is its position in seen. */
  mark: Int32Array;
  slot: Int32Array;
  callId: number;
}

/** Value of the AI with lookup index `idx` in the current read, or undefined. */
export function valueOf(cfg: Cfg, idx: number): string | undefined {
  return cfg.mark[idx] === cfg.callId ? cfg.vals[cfg.slot[idx] as number] : undefined;
}

/** True when the AI with lookup index `idx` is in the current read. */
export function has(cfg: Cfg, idx: number): boolean {
  return cfg.mark[idx] === cfg.callId;
}

/** A failure result; `ai` only when given, so results compare cleanly. */
export function fail(reason: ReasonName, message: string, ai?: string): ParseFailure {
  return ai === undefined ? { ok: false, reason, message } : { ok: false, reason, message, ai };
}
