/**
 * Recent reads per read point, for DUPLICATE_READ (DESIGN.md guarantee 5): the same code at the same station
 * within the station's window, or the same (device, seq), gets the original verdict again and no event.
 * Bounded: the oldest entries go first when the limit is reached.
 */
export interface Remembered<V> {
  atMs: number;
  value: V;
}

export class DupCache<V> {
  private readonly map = new Map<string, Remembered<V>>();
  private readonly maxEntries: number;
  evicted = 0;

  constructor(maxEntries = 200_000) {
    this.maxEntries = maxEntries;
  }

  /** The remembered value if it is younger than windowMs. */
  get(key: string, nowMs: number, windowMs: number): V | undefined {
    const r = this.map.get(key);
    if (r === undefined) return undefined;
    if (nowMs - r.atMs > windowMs) {
      this.map.delete(key);
      return undefined;
    }
    return r.value;
  }

  set(key: string, nowMs: number, value: V): void {
    this.map.delete(key); // re-insert at the end: Map order is our age order
    this.map.set(key, { atMs: nowMs, value });
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
      this.evicted++;
    }
  }

  get size(): number {
    return this.map.size;
  }
}
