/**
 * Dates in AIs: YYMMDD with the GS1 century window (GenSpecs 7.12) and DD=00 meaning "day not given".
 */

/**
 * Full year for each two-digit YY (index 0-99), relative to `currentYear`.
 * GenSpecs 7.12: YY - current YY >= 51 is the previous century, -50 < diff < 51 the current one,
 * diff <= -50 the next one.
 */
export function centuryTable(currentYear: number): Int16Array {
  const t = new Int16Array(100);
  const cy = currentYear % 100;
  const century = currentYear - cy;
  for (let yy = 0; yy < 100; yy++) {
    const diff = yy - cy;
    t[yy] = diff >= 51 ? century - 100 + yy : diff > -50 ? century + yy : century + 100 + yy;
  }
  return t;
}

/** 'YYYY-' for each YY, as interned strings, so building an ISO date makes no number conversion. */
export function yearPrefixes(years: Int16Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100; i++) out.push(`${years[i]}-`);
  return out;
}

/** '00'...'99', interned. */
export const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Gregorian leap year. */
export function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (DAYS[month] ?? 0);
}

/** The current UTC year and the instant (ms) the next one begins. */
export function utcYearNow(): { year: number; nextYearMs: number } {
  const year = new Date().getUTCFullYear();
  return { year, nextYearMs: Date.UTC(year + 1, 0, 1) };
}
