/**
 * Check digits: GS1 mod-10 (GenSpecs 7.9.1) and the GMN check character pair (GenSpecs 7.9.5).
 */
import { CSET32_CHARS, CSET82_VALUE } from './charset.js';

/**
 * Expected mod-10 check digit for the digits s[start..end) (the body, without its check digit).
 * Weights 3,1,3,1... from the rightmost body digit (GenSpecs 7.9.1). The caller has checked the digits.
 */
export function mod10(s: string, start: number, end: number): number {
  let sum = 0;
  let w3 = true;
  for (let i = end - 1; i >= start; i--) {
    const d = s.charCodeAt(i) - 48;
    sum += w3 ? d * 3 : d;
    w3 = !w3;
  }
  return (10 - (sum % 10)) % 10;
}

function allDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/**
 * GS1 mod-10 check digit of `body` (all digits, without the check digit), e.g. '0952012345678' -> 8.
 * Returns -1 when `body` is empty or holds anything but digits.
 */
export function gs1CheckDigit(body: string): number {
  if (typeof body !== 'string' || body.length === 0 || !allDigits(body)) return -1;
  return mod10(body, 0, body.length);
}

/**
 * True when `key` is all digits (at least 2) and its last digit is the GS1 mod-10 check digit of the rest:
 * GTIN-8/12/13/14, SSCC, GLN, GSIN, GSRN...
 */
export function isValidGs1Key(key: string): boolean {
  if (typeof key !== 'string' || key.length < 2 || !allDigits(key)) return false;
  return mod10(key, 0, key.length - 1) === key.charCodeAt(key.length - 1) - 48;
}

/**
 * What is wrong with the check digit of `key` (all digits, its length checked by the caller), named `label` in the
 * message: e.g. "GTIN 09520123456789 has check digit 9, expected 8". Null when it is right.
 */
export function checkDigitProblem(label: string, key: string): string | null {
  if (isValidGs1Key(key)) return null;
  return `${label} ${key} has check digit ${key[key.length - 1]}, expected ${gs1CheckDigit(key.slice(0, -1))}`;
}

// GenSpecs 7.9.5: weights are the primes 2, 3, 5... applied from the rightmost body character.
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113];

/**
 * Expected check character pair for the set-82 characters s[start..end) (body without the pair),
 * or '' when the body is longer than the weights allow. The caller has checked the characters.
 */
export function csumAlphaPair(s: string, start: number, end: number): string {
  if (end - start > PRIMES.length) return '';
  let sum = 0;
  for (let i = end - 1, w = 0; i >= start; i--, w++) sum += (CSET82_VALUE[s.charCodeAt(i)] ?? 0) * (PRIMES[w] ?? 0);
  sum %= 1021;
  return CSET32_CHARS.charAt(sum >> 5) + CSET32_CHARS.charAt(sum & 31);
}
