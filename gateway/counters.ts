/**
 * Hot-path counters: plain numbers, incremented per read at no cost, exported to Prometheus on scrape.
 */
import { REASONS, type ReasonName } from './reasons.js';

export class Counters {
  reads = 0;
  accepted = 0;
  rejected = 0;
  duplicateReads = 0;
  unauthorizedStation = 0;
  eventsAppended = 0;
  readsHeldOutboxFull = 0;
  /** Held reads refused as SYSTEM_UNAVAILABLE for having waited longer than mqtt.maxHoldMs. */
  readsRefusedLate = 0;
  storeErrors = 0;
  /** Failures no handler caught (unhandled rejections; SG_ERR_INTERNAL). */
  internalErrors = 0;
  readonly byReason: number[] = new Array<number>(Object.keys(REASONS).length).fill(0);

  countReason(reason: ReasonName): void {
    this.byReason[REASONS[reason]]!++;
  }
}
