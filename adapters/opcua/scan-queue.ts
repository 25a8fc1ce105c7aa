/**
 * Way scan: the triggers waiting for their Scan call, one call at a time. Scan reads what is at the reader when
 * it runs, so a trigger that waits long is scanned on a later product: at most `max` wait behind the call in
 * progress, and one more drops the oldest waiting (the newest trigger is the product at the reader now; the
 * oldest has passed it). The queue only orders; what a call or a drop means is the reader's.
 */
export interface ScanJob {
  seq: number;
  run: () => Promise<void>;
}

export class ScanQueue {
  private readonly waiting: ScanJob[] = [];
  private busy = false;
  private readonly max: number;
  private readonly dropped: (job: ScanJob) => void;

  /** `dropped`: a job dropped unrun to make room (called at once, before the new one is queued). */
  constructor(max: number, dropped: (job: ScanJob) => void) {
    this.max = max;
    this.dropped = dropped;
  }

  /** Triggers waiting behind the call in progress. */
  get length(): number {
    return this.waiting.length;
  }

  push(job: ScanJob): void {
    if (this.waiting.length >= this.max) this.dropped(this.waiting.shift()!);
    this.waiting.push(job);
    if (!this.busy) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      try {
        await job.run();
      } catch {
        // A job handles its own errors; one that throws all the same must not stop the ones behind it.
      }
    }
    this.busy = false;
  }
}
