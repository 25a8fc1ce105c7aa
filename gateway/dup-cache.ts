/**
 * Recent reads per read point, for DUPLICATE_READ (DESIGN.md guarantee 5): the same code at the same station
 * within the station's window, or the same (device, seq), gets the original verdict again and no event.
 * Two generations of maps, swapped every window: no per-entry deletes or reordering on the hot path, and
 * bounded (a generation that reaches the limit is retired early, dropping the oldest entries first).
 */
export interface Remembered<V> {
  atMs: number;
  value: V;
}

export class DupCache<V> {
  private current = new Map<string, Remembered<V>>();
  private previous = new Map<string, Remembered<V>>();
  private since = 0;
  private readonly maxPerGeneration: number;
  /** Generations retired early because they were full. */
  evicted = 0;

  constructor(maxEntries = 200_000) {
    this.maxPerGeneration = Math.max(1, maxEntries >> 1);
  }

  /** The remembered value if it is younger than windowMs. */
  get(key: string, nowMs: number, windowMs: number): V | undefined {
    const r = this.current.get(key) ?? this.previous.get(key);
    return r !== undefined && nowMs - r.atMs < windowMs ? r.value : undefined;
  }

  /** Remember a value under one or two keys (e.g. the code and the device + seq; one entry shared by both). */
  set(key1: string | undefined, key2: string | undefined, nowMs: number, value: V, windowMs: number): void {
    const r: Remembered<V> = { atMs: nowMs, value };
    if (key1 !== undefined) this.setEntry(key1, r, windowMs);
    if (key2 !== undefined) this.setEntry(key2, r, windowMs);
  }

  private setEntry(key: string, r: Remembered<V>, windowMs: number): void {
    const nowMs = r.atMs;
    if (nowMs - this.since >= windowMs || this.current.size >= this.maxPerGeneration) {
      if (this.current.size >= this.maxPerGeneration) this.evicted++;
      // Everything in `previous` is older than one window by now (or the generation is full).
      this.previous = this.current;
      this.current = new Map();
      this.since = nowMs;
    }
    this.current.set(key, r);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
