/**
 * The line behind the virtual PLC, without OPC UA: readers that produce reads (a sequence number per reader, a
 * code from a serial population) at a configured rate, and the record of every decision written back, with the
 * time from read to decision. The line keeps running while the PLC's OPC UA server is down, as a real line does
 * while its PLC's server restarts: those reads are produced, never delivered, and show up as undecided.
 */

/** How a reader hands its reads to the gateway (one reader may offer several at once). */
export type ReaderWay = 'event' | 'data' | 'counter' | 'scan';
export const READER_WAYS: readonly ReaderWay[] = ['event', 'data', 'counter', 'scan'];

export interface LineReaderSpec {
  /** Reader name, used in node ids (`{line}.{id}`) and as the AutoID DeviceName. */
  id: string;
  /** Ways in this reader offers; default all. Offering fewer saves the PLC's time at high rates. */
  ways?: readonly ReaderWay[];
  /** Wrap each code in an ISO/IEC 15434 format 05 envelope, as some readers do. */
  iso15434?: boolean;
}

/** Decision values the PLC understands (the gateway's defaults). */
export const DECISION_ACCEPT = 1;
export const DECISION_REJECT = 2;

export interface ReadRecord {
  seq: number;
  code: string;
  /** When the read was produced (epoch ms, sub-ms precision). */
  atMs: number;
  /** False when the PLC's OPC UA server was down at that moment. */
  online: boolean;
  decision?: number;
  reasonCode?: number;
  decidedAtMs?: number;
  /** Decisions received for this read (more than one is a duplicate). */
  decisions: number;
}

export interface DecisionRecord {
  reader: string;
  seq: number;
  decision: number;
  reasonCode: number;
  atMs: number;
  /** From the read to this decision, in ms; undefined when the seq was never produced. */
  latencyMs: number | undefined;
  via: 'structure' | 'nodes' | 'method';
}

export interface ReaderState {
  readonly id: string;
  readonly index: number;
  readonly ways: ReadonlySet<ReaderWay>;
  readonly iso15434: boolean;
  /** Last sequence number produced (0: none yet). */
  seq: number;
  /** records[seq - 1] */
  readonly records: ReadRecord[];
  /** Reads waiting for a Scan call (way scan), oldest first. */
  readonly pendingScans: ReadRecord[];
}

export interface LineStats {
  produced: number;
  producedOffline: number;
  decided: number;
  undecided: number;
  accepted: number;
  rejected: number;
  duplicateDecisions: number;
  unknownSeqDecisions: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; n: number };
}

/** Epoch ms with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const GS = '\u001d';
const RS = '\u001e';
const EOT = '\u0004';

/** `[)>` RS `05` GS data RS EOT (ISO/IEC 15434 format 05), around the data of a read without its AIM id. */
export function wrapIso15434(code: string): string {
  const m = /^\][A-Za-z][0-9A-Za-z]/.exec(code);
  const aim = m ? m[0] : '';
  return `${aim}[)>${RS}05${GS}${code.slice(aim.length)}${RS}${EOT}`;
}

export class LineModel {
  readonly line: string;
  readonly readers: ReaderState[];
  readonly decisions: DecisionRecord[] = [];
  /** Called for every read produced while the server is up. */
  onRead: ((r: ReaderState, rec: ReadRecord) => void) | null = null;
  online = false;
  private readonly population: readonly string[];
  private next = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: { line: string; readers: readonly LineReaderSpec[]; population: readonly string[] }) {
    if (opts.readers.length === 0) throw new Error('a line needs at least one reader');
    if (opts.population.length === 0) throw new Error('the serial population is empty');
    this.line = opts.line;
    this.population = opts.population;
    this.readers = opts.readers.map((r, index) => ({
      id: r.id,
      index,
      ways: new Set(r.ways ?? READER_WAYS),
      iso15434: r.iso15434 ?? false,
      seq: 0,
      records: [],
      pendingScans: [],
    }));
  }

  reader(idOrIndex: string | number): ReaderState {
    const r = typeof idOrIndex === 'number' ? this.readers[idOrIndex] : this.readers.find((x) => x.id === idOrIndex);
    if (r === undefined) throw new Error(`no reader ${idOrIndex} on line ${this.line}`);
    return r;
  }

  /** One read on a reader now: the next code of the population, or the one given. */
  produce(reader: string | number = 0, code?: string): ReadRecord {
    const r = this.reader(reader);
    let c = code ?? this.population[this.next++ % this.population.length]!;
    if (r.iso15434) c = wrapIso15434(c);
    r.seq++;
    const rec: ReadRecord = { seq: r.seq, code: c, atMs: nowMs(), online: this.online, decisions: 0 };
    r.records.push(rec);
    if (r.ways.has('scan')) r.pendingScans.push(rec);
    if (this.online) this.onRead?.(r, rec);
    return rec;
  }

  /**
   * `n` reads the PLC counts but never shows (its own buffer overflowed, a task was late): the gateway sees a
   * sequence gap. For tests of gap detection.
   */
  skip(reader: string | number, n: number): void {
    const r = this.reader(reader);
    for (let i = 0; i < n; i++) {
      r.seq++;
      r.records.push({ seq: r.seq, code: '', atMs: nowMs(), online: this.online, decisions: 0 });
    }
  }

  /** Produce reads at `ratePerReader` reads/s on every reader (or those named) until stopGeneration(). */
  startGeneration(ratePerReader: number, readers?: readonly string[]): void {
    this.stopGeneration();
    if (!(ratePerReader > 0)) return;
    const which = readers === undefined ? this.readers.map((r) => r.index) : readers.map((id) => this.reader(id).index);
    if (which.length === 0) return;
    const t0 = nowMs();
    let made = 0;
    const total = ratePerReader * which.length;
    // A coarse timer that catches up with the clock: the rate holds whatever the timer's jitter.
    this.timer = setInterval(() => {
      const due = Math.floor(((nowMs() - t0) * total) / 1000);
      while (made < due) this.produce(which[made++ % which.length]!);
    }, 2);
  }

  stopGeneration(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get generating(): boolean {
    return this.timer !== null;
  }

  /** A decision arrived from the gateway. */
  recordDecision(reader: ReaderState, seq: number, decision: number, reasonCode: number, via: DecisionRecord['via']): void {
    const atMs = nowMs();
    const rec = seq >= 1 ? reader.records[seq - 1] : undefined;
    let latencyMs: number | undefined;
    if (rec !== undefined) {
      rec.decisions++;
      if (rec.decisions === 1) {
        rec.decision = decision;
        rec.reasonCode = reasonCode;
        rec.decidedAtMs = atMs;
      }
      latencyMs = atMs - rec.atMs;
    }
    this.decisions.push({ reader: reader.id, seq, decision, reasonCode, atMs, latencyMs, via });
  }

  /** Reads never decided, per reader (seq numbers). */
  undecided(reader: string | number): number[] {
    return this.reader(reader).records.filter((r) => r.decisions === 0).map((r) => r.seq);
  }

  stats(filter?: (rec: ReadRecord, r: ReaderState) => boolean): LineStats {
    const s: LineStats = {
      produced: 0,
      producedOffline: 0,
      decided: 0,
      undecided: 0,
      accepted: 0,
      rejected: 0,
      duplicateDecisions: 0,
      unknownSeqDecisions: 0,
      latencyMs: { p50: 0, p90: 0, p99: 0, max: 0, n: 0 },
    };
    const lat: number[] = [];
    for (const r of this.readers) {
      for (const rec of r.records) {
        if (filter !== undefined && !filter(rec, r)) continue;
        s.produced++;
        if (!rec.online) s.producedOffline++;
        if (rec.decisions === 0) {
          s.undecided++;
          continue;
        }
        s.decided++;
        s.duplicateDecisions += rec.decisions - 1;
        if (rec.decision === DECISION_ACCEPT) s.accepted++;
        else s.rejected++;
        lat.push(rec.decidedAtMs! - rec.atMs);
      }
    }
    for (const d of this.decisions) if (d.latencyMs === undefined) s.unknownSeqDecisions++;
    lat.sort((a, b) => a - b);
    const q = (p: number) => (lat.length === 0 ? 0 : round2(lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!));
    s.latencyMs = { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: round2(lat[lat.length - 1] ?? 0), n: lat.length };
    return s;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
