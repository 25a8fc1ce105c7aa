/**
 * Latency histograms with fixed buckets, cheap enough for every read: observe() is a few comparisons and three
 * additions, nothing allocated. Exported to Prometheus on scrape (cli/metrics.ts) in seconds, and summarised
 * in /api/status as bucket bounds.
 */

/** Upper bounds of the buckets, in milliseconds (the last bucket, +Inf, holds the rest). */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export class LatencyHistogram {
  /** Observations per bucket, as LATENCY_BUCKETS_MS, then +Inf (not cumulative). */
  readonly counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  /** Sum of the observed values, in ms. */
  sumMs = 0;
  count = 0;

  /** Record `n` observations of `ms` (n > 1: reads that shared one wait, such as one durable write). */
  observe(ms: number, n = 1): void {
    const b = LATENCY_BUCKETS_MS;
    let i = 0;
    while (i < b.length && ms > b[i]!) i++;
    this.counts[i]! += n;
    this.sumMs += ms * n;
    this.count += n;
  }

  /**
   * The upper bound (ms) of the bucket that holds quantile q (0 < q <= 1): the value is at most this. Null with
   * no observation; Infinity when it lies beyond the last bound.
   */
  atMost(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : Infinity;
    }
    return Infinity;
  }

  /**
   * For JSON status: count, mean, and the upper bounds of the buckets that hold p50, p99 and p99.9 (ms; null with
   * no observation, the string ">30000" beyond the last bound).
   */
  toJSON(): LatencySummary {
    return this.summary();
  }

  summary(): LatencySummary {
    const bound = (q: number): number | string | null => {
      const v = this.atMost(q);
      return v === null || Number.isFinite(v) ? v : `>${LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]}`;
    };
    return {
      count: this.count,
      meanMs: this.count === 0 ? null : Math.round((this.sumMs / this.count) * 1000) / 1000,
      p50AtMostMs: bound(0.5),
      p99AtMostMs: bound(0.99),
      p999AtMostMs: bound(0.999),
    };
  }
}

export interface LatencySummary {
  count: number;
  meanMs: number | null;
  p50AtMostMs: number | string | null;
  p99AtMostMs: number | string | null;
  p999AtMostMs: number | string | null;
}
