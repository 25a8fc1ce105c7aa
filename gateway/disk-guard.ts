/**
 * Free space on the data directory's filesystem, watched so that LMDB never meets a full disk.
 *
 * A write that finds no space fails inside LMDB's commit (ENOSPC), and lmdb-js 3.5 was seen to abort the whole
 * process on it ("malloc(): invalid size" after "No space left on device") once the disk was really full. So the
 * gateway stops writing well before: below `outbox.minFreeDiskBytes` free it holds reads unacknowledged, as when
 * the outbox is full, and pauses the status sync; both go on by themselves once space is back. The check is one
 * statfs call every `intervalMs` (250 ms: headroom of 256 MiB covers ~1 GB/s of growth between two checks).
 */
import { statfsSync } from 'node:fs';

/** Bytes an unprivileged writer may still use on the filesystem holding `path`. */
export function freeDiskBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

export interface DiskGuardOptions {
  dir: string;
  /** Below this many free bytes the disk counts as low; 0 turns the guard off. */
  minFreeBytes: number;
  intervalMs?: number;
  /** Free bytes of the filesystem holding `dir` (tests substitute their own). */
  probe?: (dir: string) => number;
}

export type DiskChange = (low: boolean, freeBytes: number) => void;

export class DiskGuard {
  private readonly opts: Required<DiskGuardOptions>;
  private readonly onChange: DiskChange;
  private timer: NodeJS.Timeout | null = null;
  /** Free bytes at the last check (NaN before the first, or when the check failed). */
  freeBytes = Number.NaN;
  low = false;
  /** The last check's failure, if it failed (the state is kept as it was). */
  lastError: string | null = null;

  constructor(opts: DiskGuardOptions, onChange: DiskChange) {
    this.opts = { intervalMs: 250, probe: freeDiskBytes, ...opts };
    this.onChange = onChange;
  }

  /** Look now; calls onChange when low/not low flips. Returns whether the disk is low. */
  check(): boolean {
    if (this.opts.minFreeBytes <= 0) return false;
    let free: number;
    try {
      free = this.opts.probe(this.opts.dir);
      this.lastError = null;
    } catch (err) {
      // Cannot tell (e.g. the directory vanished): keep the last state; LMDB reports its own failures.
      this.lastError = (err as Error).message;
      return this.low;
    }
    this.freeBytes = free;
    const low = free < this.opts.minFreeBytes;
    if (low !== this.low) {
      this.low = low;
      this.onChange(low, free);
    }
    return low;
  }

  /** Check at once, then every intervalMs until stop(). */
  start(): void {
    if (this.opts.minFreeBytes <= 0 || this.timer !== null) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
