/**
 * An SSCC where a command or a camera read names a container: its 18 digits, or any read of it the station's
 * parser accepts (`00` element string, `]C1...`, a Digital Link). The answer says what is wrong and how it is
 * given right.
 */
import type { ReasonName } from '../reasons.js';
import { checkDigitProblem } from './check.js';
import type { ParseResult } from './context.js';

export interface SsccProblem {
  message: string;
  reason: ReasonName;
}

const HOW = 'give its 18 digits or a read of it (AI 00)';

export function ssccOf(v: string, parse: (code: string) => ParseResult): string | SsccProblem {
  const shown = v.length > 40 ? `${v.slice(0, 40)}...` : v;
  if (/^\d{18}$/.test(v)) {
    const problem = checkDigitProblem('SSCC', v);
    return problem === null ? v : { reason: 'BAD_CHECK_DIGIT', message: problem };
  }
  if (/^\d{1,17}$/.test(v)) return { reason: 'MALFORMED', message: `${shown} is not an SSCC: an SSCC has 18 digits (${HOW})` };
  const p = parse(v);
  if (!p.ok) return { reason: p.reason, message: `${shown} is not a valid SSCC: ${p.message} (${HOW})` };
  return p.sscc ?? { reason: 'MALFORMED', message: `${shown} holds no SSCC (${HOW})` };
}
