/**
 * The line controller's side of the check: every verdict is matched to its read by (device, seq) and compared
 * with what the workload says is right (verdict, reason, status, serial or SSCC, the duplicate-read flag).
 * Latency is measured from each read's *scheduled* send time, not from when it was actually sent: a gateway
 * that falls behind makes the scanners wait, and that wait is part of what the line sees (no coordinated
 * omission). Histograms are HDR, in microseconds.
 */
import * as hdr from 'hdr-histogram-js';
import { STATUS_NAMES } from './population.js';
import { ANY_STATUS, Kind, REASON, REASON_BY_NAME, REASON_NAMES, type Workload } from './workload.js';

export type Histogram = ReturnType<typeof hdr.build>;

export function histogram(): Histogram {
  // 1 us .. 1 h, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of a histogram of microseconds, in ms with 3 decimals. */
export function percentilesMs(h: Histogram): Percentiles {
  const q = (p: number) => (h.totalCount === 0 ? 0 : Math.round(h.getValueAtPercentile(p)) / 1000);
  return { p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), max: h.totalCount === 0 ? 0 : Math.round(h.maxValue) / 1000 };
}

export interface MismatchSample {
  read: number;
  where: 'verdict' | 'central';
  station: string;
  kind: string;
  code: string;
  expected: string;
  got: string;
}

const KIND_NAMES = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k])) as Record<number, string>;

/** A verdict as published on `.../verdict` (DESIGN.md). */
export interface VerdictJson {
  seq?: number;
  device?: string;
  verdict?: string;
  reason?: string;
  status?: string;
  gtin?: string;
  serial?: string;
  sscc?: string;
  eventId?: string;
  duplicateRead?: boolean;
}

/** The numeric tail of an event id (`{gatewayId}:{epoch}:{seq}`), to compare verdict and event cheaply. */
export function eventIdSeq(id: string | undefined): number {
  if (id === undefined) return 0;
  const c = id.lastIndexOf(':');
  const n = Number(id.slice(c + 1));
  return Number.isFinite(n) ? n : 0;
}

export class Checker {
  readonly w: Workload;
  readonly sentAt: Float64Array;
  readonly ackAt: Float64Array;
  readonly verdicts: Uint8Array;
  /** Events seen at central per read. */
  readonly events: Uint8Array;
  /** Event id tail from the (last) verdict, to check that central got the very event the line was told about. */
  readonly eventSeq: Float64Array;
  /** 1 when the scanner's session sent the read again (after a reconnect). */
  readonly resentFlag: Uint8Array;
  readonly devices = new Map<string, number>();
  /** Original read -> its planned redelivery. */
  readonly redeliveryOf = new Map<number, number>();
  /** performance.now() of read 0's scheduled send; read i is due at t0 + i * intervalMs. */
  t0 = 0;
  intervalMs: number;

  sent = 0;
  resent = 0;
  acked = 0;
  verdictCount = 0;
  accepted = 0;
  rejected = 0;
  mismatches = 0;
  /** Verdicts beyond the expected ones (a read redelivered after a reconnect), consistent with the first. */
  extraVerdicts = 0;
  /** Reads decided again after a gateway restart (sent again, the first decision was not durable): new event id. */
  redecided = 0;
  /** Verdicts for devices of this run with a seq that matches no read. */
  unknownVerdicts = 0;
  /** performance.now() of the last first verdict. */
  lastVerdictAt = 0;
  readonly byReason: Record<string, number> = {};
  readonly samples: MismatchSample[] = [];

  /** Read scheduled -> verdict received (CO-corrected), read scheduled -> PUBACK, read sent -> verdict. */
  readonly latency = histogram();
  readonly ackLatency = histogram();
  readonly serviceLatency = histogram();
  /** Interval histogram for the timeline (reset every sample). */
  readonly interval = histogram();

  constructor(w: Workload, ratePerS: number) {
    this.w = w;
    const n = w.n;
    this.sentAt = new Float64Array(n);
    this.ackAt = new Float64Array(n);
    this.verdicts = new Uint8Array(n);
    this.events = new Uint8Array(n);
    this.eventSeq = new Float64Array(n);
    this.resentFlag = new Uint8Array(n);
    this.intervalMs = 1000 / ratePerS;
    for (const s of w.stations) this.devices.set(s.device, s.index);
    for (let i = 0; i < n; i++) if (w.kind[i] === Kind.Redelivery) this.redeliveryOf.set(w.ref[i]!, i);
  }

  scheduled(i: number): number {
    return this.t0 + i * this.intervalMs;
  }

  onSent(i: number, now: number): void {
    if (this.sentAt[i] === 0) {
      this.sentAt[i] = now;
      this.sent++;
    } else {
      this.resent++;
      this.resentFlag[i] = 1;
    }
  }

  onAck(i: number, now: number): void {
    if (this.ackAt[i] !== 0) return;
    this.ackAt[i] = now;
    this.acked++;
    this.ackLatency.recordValue(Math.max(1, Math.round((now - this.scheduled(i)) * 1000)));
  }

  /** A verdict arrived; `redelivered`: the broker sent this message again (MQTT DUP), a copy of one seen before. */
  onVerdict(v: VerdictJson, now: number, redelivered = false): void {
    const st = v.device === undefined ? undefined : this.devices.get(v.device);
    if (st === undefined) return; // another line controller's scanners
    const seq = v.seq ?? 0;
    const i0 = seq - 1;
    const w = this.w;
    if (i0 < 0 || i0 >= w.n || w.station[i0] !== st) {
      this.unknownVerdicts++;
      return;
    }
    let i = i0;
    if (this.verdicts[i0]! > 0) {
      // The answer to a planned redelivery says duplicateRead; an unflagged one, or the broker's copy of an
      // earlier delivery, belongs to the read itself.
      const r = this.redeliveryOf.get(i0);
      if (r !== undefined && !redelivered && v.duplicateRead === true && this.verdicts[r] === 0 && this.sentAt[r] !== 0) i = r;
      else {
        // The same read again (redelivered by the scanner's session after a reconnect): it must agree.
        this.extraVerdicts++;
        this.verdicts[i0] = Math.min(255, this.verdicts[i0]! + 1);
        if (REASON_BY_NAME[v.reason ?? ''] !== w.expReason[i0]) this.mismatch(i0, 'verdict', v);
        if (v.eventId !== undefined && v.duplicateRead !== true) this.eventSeq[i0] = eventIdSeq(v.eventId);
        return;
      }
    }
    this.verdicts[i] = 1;
    this.verdictCount++;
    this.lastVerdictAt = now;
    const lat = Math.max(1, Math.round((now - this.scheduled(i)) * 1000));
    this.latency.recordValue(lat);
    this.interval.recordValue(lat);
    if (this.sentAt[i] !== 0) this.serviceLatency.recordValue(Math.max(1, Math.round((now - this.sentAt[i]!) * 1000)));
    const dupExpected = w.kind[i] === Kind.DuplicateRead || w.kind[i] === Kind.Redelivery;
    const reasonName = v.duplicateRead === true ? 'DUPLICATE_READ' : (v.reason ?? '?');
    this.byReason[reasonName] = (this.byReason[reasonName] ?? 0) + 1;
    if (v.verdict === 'accept') this.accepted++;
    else this.rejected++;
    if (!this.agrees(i, v, dupExpected)) this.mismatch(i, 'verdict', v);
    else if (!dupExpected && v.eventId !== undefined) this.eventSeq[i] = eventIdSeq(v.eventId);
  }

  private agrees(i: number, v: VerdictJson, dupExpected: boolean): boolean {
    const w = this.w;
    const exp = w.expReason[i]!;
    if (REASON_BY_NAME[v.reason ?? ''] !== exp) return false;
    if ((v.verdict === 'accept') !== (exp === REASON.OK)) return false;
    // A read its scanner sent again after a reconnect may be answered from the gateway's redelivery index,
    // which rebuilds the verdict from the stored event (its status field may be absent).
    const redelivered = v.duplicateRead === true && this.resentFlag[i] === 1;
    if ((v.duplicateRead === true) !== dupExpected && !redelivered) return false;
    if (dupExpected) return true; // a duplicate read repeats the original verdict, whatever it carried
    const es = w.expStatus[i]!;
    if (es !== ANY_STATUS && v.status !== STATUS_NAMES[es] && !(redelivered && v.status === undefined)) return false;
    if (w.isContainerRead(i)) return v.sscc === w.containers[w.ref[i]!];
    const s = w.serialOf(i);
    return s < 0 || (v.serial === w.population.serials[s] && v.gtin === w.population.gtin(s));
  }

  /** Record a mismatch (a sample of the first ones, with what was expected and what came). */
  mismatch(i: number, where: 'verdict' | 'central', got: VerdictJson | string): void {
    this.mismatches++;
    if (this.samples.length >= 25) return;
    const w = this.w;
    const es = w.expStatus[i]!;
    this.samples.push({
      read: i,
      where,
      station: `${w.stations[w.station[i]!]!.line}/${w.stations[w.station[i]!]!.id}`,
      kind: KIND_NAMES[w.kind[i]!] ?? '?',
      code: w.code(i),
      expected:
        `${w.expReason[i] === REASON.OK ? 'accept' : 'reject'} ${REASON_NAMES[w.expReason[i]!]}` +
        `${es !== ANY_STATUS ? ` status ${STATUS_NAMES[es]}` : ''}${w.kind[i] === Kind.DuplicateRead || w.kind[i] === Kind.Redelivery ? ' duplicateRead' : ''}`,
      got: typeof got === 'string' ? got : JSON.stringify({ verdict: got.verdict, reason: got.reason, status: got.status, serial: got.serial, sscc: got.sscc, duplicateRead: got.duplicateRead }),
    });
  }

  /** Reads acknowledged or not, verdicts missing, events lost or duplicated: the end-of-run tally. */
  tally(): { unsent: number; unacked: number; missingVerdicts: number; expectedEvents: number; lost: number; lostUnacked: number; duplicates: number } {
    const w = this.w;
    let unsent = 0;
    let unacked = 0;
    let missing = 0;
    let expected = 0;
    let lost = 0;
    let lostUnacked = 0;
    let dups = 0;
    for (let i = 0; i < w.n; i++) {
      if (this.sentAt[i] === 0) {
        unsent++;
        continue;
      }
      if (this.ackAt[i] === 0) unacked++;
      if (this.verdicts[i] === 0) missing++;
      if (w.expectsEvent(i)) {
        expected++;
        if (this.events[i] === 0) {
          if (this.ackAt[i] !== 0) lost++;
          else lostUnacked++;
        }
      }
      if (this.events[i]! > 1) dups += this.events[i]! - 1;
    }
    return { unsent, unacked, missingVerdicts: missing, expectedEvents: expected, lost, lostUnacked, duplicates: dups };
  }
}
