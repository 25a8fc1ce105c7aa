/**
 * A reader's read sequence numbers, as the PLC counts them: gaps (reads the gateway never received), replays
 * (the same read delivered again: the initial value of a recreated monitored item, a republished notification)
 * and resets (the PLC counting from the start again after a restart or a program download).
 *
 * The convention a PLC follows (README "PLCs over OPC UA"): reads count 1, 2, 3 ... as UInt32, wrapping from
 * 4294967295 to 1; 0 means "no read yet". No I/O here.
 */

export const SEQ_MAX = 4294967295;
const HALF = 2147483648;

export type SeqKind = 'baseline' | 'first' | 'next' | 'gap' | 'replay' | 'reset';

export interface SeqStep {
  kind: SeqKind;
  /** Decide this read (false: a replay or a baseline, already decided or never to be). */
  decide: boolean;
  /** Reads missed just before this one. */
  lost: number;
  /** First missed seq when lost > 0. */
  lostFrom: number;
}

export class SeqTracker {
  /** Last seq seen; undefined before the first one. */
  last: number | undefined = undefined;
  gaps = 0;
  lost = 0;
  replayed = 0;
  resets = 0;
  /** Set when the PLC's server restarted: the next step backwards is a reset, however small. */
  private serverRestarted = false;
  private readonly replayWindow: number;

  /** replayWindow: how far back a seq may be and still be a replay rather than a reset. */
  constructor(replayWindow: number) {
    this.replayWindow = replayWindow;
  }

  markServerRestart(): void {
    this.serverRestarted = true;
  }

  /**
   * The next seq from the PLC. `baselineIfFirst`: the very first value is the PLC's current state (the initial
   * value of a data item), a read that happened before the gateway was there: remember it, do not decide it.
   */
  step(seq: number, baselineIfFirst: boolean): SeqStep {
    const last = this.last;
    if (last === undefined) {
      this.last = seq;
      return seq === 0 || baselineIfFirst ? step('baseline', false) : step('first', true);
    }
    if (seq === 0) {
      // "No read yet": the PLC started counting again.
      if (last !== 0) this.resets++;
      this.last = 0;
      this.serverRestarted = false;
      return step('reset', false);
    }
    const d = (seq - last) >>> 0;
    if (d === 0) {
      this.replayed++;
      return step('replay', false);
    }
    if (d < HALF) {
      // Forward. A wrap skips 0, which is never a read.
      const lost = seq < last && last !== 0 ? d - 2 : d - 1;
      this.last = seq;
      this.serverRestarted = false;
      if (lost <= 0) return step('next', true);
      this.gaps++;
      this.lost += lost;
      return { kind: 'gap', decide: true, lost, lostFrom: next(last) };
    }
    const back = (last - seq) >>> 0;
    if (!this.serverRestarted && back <= this.replayWindow) {
      this.replayed++;
      return step('replay', false);
    }
    // The PLC counts from a lower number now: reads 1 .. seq-1 since then never arrived.
    this.resets++;
    this.last = seq;
    this.serverRestarted = false;
    const lost = seq - 1 <= this.replayWindow ? seq - 1 : 0;
    if (lost > 0) {
      this.gaps++;
      this.lost += lost;
    }
    return { kind: 'reset', decide: true, lost, lostFrom: 1 };
  }
}

function step(kind: SeqKind, decide: boolean): SeqStep {
  return { kind, decide, lost: 0, lostFrom: 0 };
}

/** The seq after s (wrapping from SEQ_MAX to 1). */
export function next(s: number): number {
  return s >= SEQ_MAX ? 1 : s + 1;
}
