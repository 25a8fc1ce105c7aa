/**
 * GS1 character sets as lookup tables indexed by char code (0-127; anything above is outside every set).
 * GS1 General Specifications 7.11 (sets 82, 39 and 64) and 7.9.5 (set 32 for check character pairs).
 */

/** Set 82, in the order of GenSpecs 7.11 (the order gives each character its value for csumalpha). */
export const CSET82_CHARS = '!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
/** Set 39: `# - /`, digits, upper case letters. */
export const CSET39_CHARS = '#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Set 32, used for the check character pair of csumalpha (GenSpecs 7.9.5). */
export const CSET32_CHARS = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
/** Set 64 (file-safe base64), used by AI 8030; `=` is padding and only allowed at the end. */
export const CSET64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Character-set identifiers used by the AI table. */
export const CS_N = 0;
export const CS_X = 1;
export const CS_Y = 2;
export const CS_Z = 3;
export type CharSet = typeof CS_N | typeof CS_X | typeof CS_Y | typeof CS_Z;

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** Membership tables (1 = in set), indexed by char code < 128. */
export const IN_SET: readonly Uint8Array[] = [table('0123456789'), table(CSET82_CHARS), table(CSET39_CHARS), table(CSET64_CHARS + '=')];

/** Value (0-81) of each set-82 character, -1 outside the set. */
export const CSET82_VALUE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < CSET82_CHARS.length; i++) t[CSET82_CHARS.charCodeAt(i)] = i;
  return t;
})();

const SET_NAME = ['a digit', 'GS1 character set 82', 'GS1 character set 39', 'GS1 character set 64'];

/** "which is not a digit" / "which is not in GS1 character set 82" for messages. */
export function notInSet(cs: CharSet): string {
  return cs === CS_N ? 'which is not a digit' : `which is not in ${SET_NAME[cs]}`;
}

const CONTROL_NAMES: Record<number, string> = { 0: 'NUL', 4: 'EOT', 9: 'TAB', 10: 'LF', 13: 'CR', 29: 'GS', 30: 'RS', 32: 'space' };

/** A character as a line engineer should see it in a message: `'#'`, `<GS>`, `<0x7F>`, `<U+20AC>`. */
export function showChar(code: number): string {
  const name = CONTROL_NAMES[code];
  if (name !== undefined) return `<${name}>`;
  if (code > 32 && code < 127) return code === 39 ? `"'"` : `'${String.fromCharCode(code)}'`;
  if (code > 255) return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  return `<0x${code.toString(16).toUpperCase().padStart(2, '0')}>`;
}
