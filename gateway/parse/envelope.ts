/**
 * What surrounds the data: the AIM symbology identifier (ISO/IEC 15424), the ISO/IEC 15434 envelope
 * (`[)>` RS `05` GS ... RS EOT) and the scanner's CR/LF suffix.
 */
import { showChar } from './charset.js';
import { type ParseFailure, fail } from './context.js';

const RS = 30;
const GS = 29;
const EOT = 4;

/** GS1 symbologies in GS1 mode (FNC1 in first position), by their ISO/IEC 15424 symbology identifiers. */
export const GS1_SYMBOLOGIES: readonly string[] = [']d2', ']C1', ']Q3', ']e0', ']J1'];
/** Plain DataMatrix and QR Code: the carriers of a GS1 Digital Link URI. */
export const DL_SYMBOLOGIES: readonly string[] = [']d1', ']Q1'];

const FAMILY: Record<string, string> = {
  A: 'Code 39', C: 'Code 128', E: 'EAN/UPC', F: 'Codabar', G: 'Code 93', I: 'ITF', L: 'PDF417', Q: 'QR Code',
  d: 'Data Matrix', e: 'GS1 DataBar', J: 'DotCode', z: 'Aztec Code', X: 'other symbology',
};

/** ']C0' -> "]C0 (Code 128)", for messages. */
export function describeSymbology(id: string): string {
  const family = FAMILY[id.charAt(1)];
  let shown = '';
  for (let i = 0; i < id.length; i++) shown += id.charCodeAt(i) > 32 && id.charCodeAt(i) < 127 ? id.charAt(i) : showChar(id.charCodeAt(i));
  return family === undefined ? shown : `${shown} (${family})`;
}

/** Key of an AIM id in the compiled tables: its 2nd and 3rd char codes. */
export function symbologyKey(s: string, p: number): number {
  return s.charCodeAt(p + 1) * 65536 + s.charCodeAt(p + 2);
}

/** End of s without trailing CR and LF. */
export function trimLineEnd(s: string): number {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c !== 13 && c !== 10) break;
    end--;
  }
  return end;
}

/** True when s[p..] starts with the ISO/IEC 15434 message header `[)>` RS. */
export function hasEnvelope(s: string, p: number, end: number): boolean {
  return end - p >= 4 && s.charCodeAt(p) === 91 && s.charCodeAt(p + 1) === 41 && s.charCodeAt(p + 2) === 62 && s.charCodeAt(p + 3) === RS;
}

/** Bounds of the format 05 data inside an envelope (scratch, valid until the next call). */
export const inner = { start: 0, end: 0 };

/**
 * Strips `[)>` RS `05` GS ... RS [EOT] from s[p..end), setting `inner`. Only format 05 (data using GS1
 * AIs) is GS1 data in ISO/IEC 15434; one format segment per read.
 */
export function openEnvelope(s: string, p: number, end: number, sub: number): ParseFailure | null {
  const fmt = s.slice(p + 4, p + 6);
  if (fmt !== '05') return fail('MALFORMED', `ISO/IEC 15434 format ${showFormat(fmt)} is not GS1 data (only format 05 is)`);
  const sep = s.charCodeAt(p + 6);
  if (sep !== GS && sep !== sub) return fail('MALFORMED', 'ISO/IEC 15434 format 05 header is not followed by GS');
  let e = end;
  if (e > p + 7 && s.charCodeAt(e - 1) === EOT) e--;
  if (e <= p + 7 || s.charCodeAt(e - 1) !== RS) return fail('MALFORMED', 'ISO/IEC 15434 envelope does not end with RS EOT');
  e--;
  const rs = s.indexOf('\x1e', p + 7);
  if (rs >= 0 && rs < e) return fail('MALFORMED', 'ISO/IEC 15434 envelope holds more than one format segment');
  inner.start = p + 7;
  inner.end = e;
  return null;
}

function showFormat(fmt: string): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) out += fmt.charCodeAt(i) > 32 && fmt.charCodeAt(i) < 127 ? fmt.charAt(i) : showChar(fmt.charCodeAt(i));
  return out === '' ? '(missing)' : out;
}
