/**
 * A reader's read sequence numbers, as the PLC counts them: gaps (reads the gateway never received), replays
 * (the same read delivered again: the initial value of a recreated monitored item, a republished notification)
 * and resets (the PLC counting from the start again after a restart or a program download).
 *
 * The convention a PLC follows (README "PLCs over OPC UA"): reads count 1, 2, 3 ... as UInt32, wrapping from
 * 4294967295 to 1; 0 means "no read yet". A step back within the replay window is a replay, unless the caller
 * gives the read's codes (a hash) and that seq carried other codes before: then the PLC counts again. No I/O here.
 */

/** A hash of a read's codes for SeqTracker.step (FNV-1a over the latin1 characters). */
export function readPrint(codes: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const c of codes) {
    for (let i = 0; i < c.length; i++) h = Math.imul(h ^ c.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x1e, 0x01000193);
  }
  return h >>> 0;
}

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
  /**
   * What the reads of the last replayWindow seqs carried (a hash of their codes), when the caller knows it: a seq
   * seen again with other codes is not a replay but a PLC counting again (from 1, without passing 0 or a restart).
   */
  private readonly prints = new Map<number, number>();

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
  step(seq: number, baselineIfFirst: boolean, print?: number): SeqStep {
    const s = this.classify(seq, baselineIfFirst, print);
    if (print !== undefined && seq !== 0 && s.kind !== 'replay') this.remember(seq, print);
    return s;
  }

  private remember(seq: number, print: number): void {
    const m = this.prints;
    m.delete(seq); // (re-inserted at the end: the map's order is the order of arrival)
    m.set(seq, print);
    if (m.size > this.replayWindow) m.delete(m.keys().next().value!);
  }

  /** A seq seen before with other codes: the PLC counts again, these are new reads. */
  private isNewRead(seq: number, print: number | undefined): boolean {
    if (print === undefined) return false;
    const known = this.prints.get(seq);
    return known !== undefined && known !== print;
  }

  private classify(seq: number, baselineIfFirst: boolean, print: number | undefined): SeqStep {
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
      if (this.isNewRead(seq, print)) {
        // The same number as the last read but other codes: counted from the start again up to it.
        this.resets++;
        return step('reset', true);
      }
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
    if (!this.serverRestarted && back <= this.replayWindow && !this.isNewRead(seq, print)) {
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
