/**
 * One log line per interval for a failure that can repeat per read (a store that cannot write fails every read
 * of every station at once): the first is logged, the next ones within `intervalMs` are only counted, and the
 * next line logged says how many were not.
 */
export class LogLimit {
  private readonly intervalMs: number;
  private lastMs = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(intervalMs = 10_000) {
    this.intervalMs = intervalMs;
  }

  /**
   * null: do not log this one (counted). Otherwise log it, with the returned fields merged in
   * (`suppressedSinceLastLog` when some were held back).
   */
  take(nowMs = Date.now()): Record<string, number> | null {
    if (nowMs - this.lastMs < this.intervalMs) {
      this.suppressed++;
      return null;
    }
    const n = this.suppressed;
    this.lastMs = nowMs;
    this.suppressed = 0;
    return n > 0 ? { suppressedSinceLastLog: n } : {};
  }
}
