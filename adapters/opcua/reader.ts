/**
 * One reader of a PLC, mapped to a station: turns what the PLC sends its way (a scan event, a changed
 * `{seq, code, ts}` structure, a counter next to LastScanData, a trigger answered by calling Scan) into reads for
 * the pipeline, with their sequence numbers checked for gaps and replays. Per read: no logging (what goes wrong is
 * handed to the sink, which logs it rate-limited), no awaits except the one round trip the way in needs (counter,
 * scan).
 */
import type { ClientSession, DataValue, NodeId, Variant } from 'node-opcua';
import { AttributeIds, DataType } from 'node-opcua';
import type { OpcuaReaderConfig } from '../../gateway/config/opcua-schema.js';
import type { ReadEnvelope } from '../../gateway/read-envelope.js';
import type { StationContext } from '../../gateway/stations.js';
import { scanDataCode, scanFailure, scanResultCodes, stripIso15434, withSymbology } from './scan-data.js';
import { fieldsOf, goodSeverity, seqValue, shown } from './values.js';
import { ScanQueue, type ScanJob } from './scan-queue.js';
import { readPrint, SeqTracker, next } from './seq.js';
import { PlcTimeout, withTimeout } from './util.js';
import type { DecisionPlan } from './writer.js';

/** Where readers put what they read. */
export interface ReadSink {
  /** A read: decide it, publish the verdict, write the decision back echoing `echoSeq`. */
  read(r: ReaderRuntime, env: ReadEnvelope, raw: Buffer, echoSeq: number): void;
  /** `count` reads from `fromSeq` on never arrived (a sequence gap). */
  lost(r: ReaderRuntime, fromSeq: number, count: number): void;
  /** A value the reader cannot use (counted in stats.unusable): what it was, for the log. */
  unusable(r: ReaderRuntime, what: string): void;
  /**
   * Way scan: trigger `seq` was decided as NO_READ without a Scan result: the call timed out or failed (counted
   * in scanErrors), or the trigger was dropped from a full backlog (scansDropped). `detail`: the error.
   */
  scanFailed(r: ReaderRuntime, kind: 'timeout' | 'error' | 'dropped', seq: number, detail: string): void;
}

export interface ReaderStats {
  /** Reads handed to the pipeline. */
  reads: number;
  /** Reads the PLC made that never arrived, and the gaps they came in. */
  lostReads: number;
  gaps: number;
  /** Reads delivered again (initial values, republished notifications, duplicate events): not decided twice. */
  replayed: number;
  seqResets: number;
  /** Values that carried no usable read (bad status, undecodable structure, EPC data...). */
  unusable: number;
  /** The PLC's queue for this reader overflowed (reads dropped at the PLC; the gap shows how many). */
  queueOverflows: number;
  /** Scan calls that failed or timed out (decided as NO_READ); of them, timed out. */
  scanErrors: number;
  scanTimeouts: number;
  /** Scan calls that answered without a code: a genuine no-read (decided as NO_READ). */
  scanNoReads: number;
  /** Triggers dropped from a full backlog of Scan calls (decided as NO_READ without a Scan). */
  scansDropped: number;
  /** Triggers waiting now behind the Scan call in progress (at most MAX_SCANS_WAITING). */
  scansWaiting: number;
  /** Times the reader was bound again after the PLC deleted its node and created it again. */
  rebinds: number;
  decisionsWritten: number;
  decisionWriteErrors: number;
  decisionsExpired: number;
  /** Reads refused because the gateway was shutting down. */
  refused: number;
  lastSeq: number | null;
  lastLostAtMs: number | null;
}

/** What a session resolved for this reader (node ids, the decision plan); null when the reader cannot run. */
export interface ReaderBinding {
  device?: NodeId;
  dataNode?: NodeId;
  codeNode?: NodeId;
  counterNode?: NodeId;
  triggerNode?: NodeId;
  scanMethod?: NodeId;
  /** Builds the ScanSettings argument of Scan. */
  scanSettings?: () => unknown;
  plan: DecisionPlan | null;
}

/** Event fields selected, in this order (see eventFilter in binding.ts). */
export const EVENT_FIELD = { eventId: 0, eventType: 1, time: 2, scanResult: 3, deviceName: 4, seq: 5 } as const;
/** EventQueueOverflowEventType (OPC UA Part 5 6.4.33): the server dropped events for this item. */
const EVENT_QUEUE_OVERFLOW = 3035;
/** Event ids remembered per reader to drop an event delivered twice. */
const EVENT_ID_MEMORY = 4096;
/** Way scan: triggers waiting behind the Scan call in progress, at most (scan-queue.ts). */
export const MAX_SCANS_WAITING = 4;
const EMPTY = Buffer.alloc(0);

export class ReaderRuntime {
  readonly cfg: OpcuaReaderConfig;
  readonly endpointId: string;
  readonly station: StationContext;
  /** `device` of the reads (ScanEvent.device): `{endpoint}.{reader}`. */
  readonly device: string;
  readonly seq: SeqTracker;
  readonly stats: ReaderStats = {
    reads: 0,
    lostReads: 0,
    gaps: 0,
    replayed: 0,
    seqResets: 0,
    unusable: 0,
    queueOverflows: 0,
    scanErrors: 0,
    scanTimeouts: 0,
    scanNoReads: 0,
    scansDropped: 0,
    scansWaiting: 0,
    rebinds: 0,
    decisionsWritten: 0,
    decisionWriteErrors: 0,
    decisionsExpired: 0,
    refused: 0,
    lastSeq: null,
    lastLostAtMs: null,
  };
  binding: ReaderBinding | null = null;
  session: ClientSession | null = null;
  /** Why the reader is idle (a node that does not resolve), for the status. */
  error: { code: string; message: string } | null = null;
  private readonly sink: ReadSink;
  private readonly eventIds = new Set<string>();
  private readonly eventIdOrder: string[] = [];
  private eventIdNext = 0;
  /** Reads numbered by the gateway when the PLC's events carry no seq. */
  private localSeq = 0;
  /** Counter way: one round trip at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Scan way: one Scan call at a time, a bounded backlog behind it. */
  private readonly scans: ScanQueue;
  /** Scan way: how long a Scan call may take (the endpoint's requestTimeoutMs). */
  private readonly scanWaitMs: number;
  /** Field names of the data structure as the PLC spells them, found on the first value. */
  private keys: { seq: string; code: string; ts: string } | null = null;

  /** `scanWaitMs`: how long a Scan call may take before it is a Scan error (the endpoint's requestTimeoutMs). */
  constructor(cfg: OpcuaReaderConfig, endpointId: string, station: StationContext, sink: ReadSink, replayWindow: number, scanWaitMs = 10_000) {
    this.cfg = cfg;
    this.endpointId = endpointId;
    this.station = station;
    this.sink = sink;
    this.device = `${endpointId}.${cfg.id}`;
    this.seq = new SeqTracker(replayWindow);
    this.scanWaitMs = scanWaitMs;
    this.scans = new ScanQueue(MAX_SCANS_WAITING, (job) => this.dropScan(job));
  }

  /** Seq tracking: account for a step and report lost reads. */
  /** `codes`: what the read carries, when known before it is tracked (a seq seen again with other codes is new). */
  private track(seq: number, baselineIfFirst: boolean, codes?: readonly string[]): boolean {
    const step = this.seq.step(seq, baselineIfFirst, codes === undefined ? undefined : readPrint(codes));
    const s = this.stats;
    s.lastSeq = this.seq.last ?? null;
    s.replayed = this.seq.replayed;
    s.seqResets = this.seq.resets;
    if (step.lost > 0) {
      s.lostReads += step.lost;
      s.gaps++;
      s.lastLostAtMs = Date.now();
      this.sink.lost(this, step.lostFrom, step.lost);
    }
    return step.decide;
  }

  private emit(codes: string[], seq: number, tsMs: number | undefined): void {
    let env: ReadEnvelope;
    let raw: Buffer;
    if (codes.length === 0) {
      raw = EMPTY;
      env = { code: '', seq, device: this.device, raw };
    } else if (codes.length === 1) {
      const c = codes[0]!;
      raw = Buffer.from(c, 'latin1');
      env = { code: withSymbology(stripIso15434(c), this.cfg.symbologyId), seq, device: this.device, raw };
    } else {
      raw = Buffer.from(codes.join('\n'), 'latin1');
      env = { code: '', codes: codes.map((c) => withSymbology(stripIso15434(c), this.cfg.symbologyId)), seq, device: this.device, raw };
    }
    if (tsMs !== undefined) env.tsMs = tsMs;
    this.stats.reads++;
    this.sink.read(this, env, raw, seq);
  }

  /** Way event: one AutoID scan event (fields in EVENT_FIELD order). */
  onEvent(fields: readonly Variant[]): void {
    const type = fields[EVENT_FIELD.eventType]?.value as NodeId | null | undefined;
    if (type !== null && type !== undefined && type.namespace === 0 && type.value === EVENT_QUEUE_OVERFLOW) {
      this.stats.queueOverflows++;
      return;
    }
    const id = fields[EVENT_FIELD.eventId]?.value;
    if (Buffer.isBuffer(id)) {
      const key = id.toString('base64');
      if (this.eventIds.has(key)) {
        this.stats.replayed++;
        return;
      }
      this.rememberEventId(key);
    }
    const scan = scanResultCodes(fields[EVENT_FIELD.scanResult]?.value);
    let echo: number;
    if (this.cfg.seqField !== undefined) {
      // The PLC numbers its events: one whose seq is missing or not an integer is not numbered by the gateway
      // instead (its number would collide with the PLC's); it is refused, and the gap shows it as lost.
      const raw = fields[EVENT_FIELD.seq]?.value;
      const seqField = seqValue(raw);
      if (seqField === undefined) {
        this.refuseValue(`event field ${this.cfg.seqField.name} is ${shown(raw)}, not a non-negative integer`);
        return;
      }
      if (!this.track(seqField, false, scan.codes)) return;
      echo = seqField;
    } else {
      this.localSeq = next(this.localSeq);
      echo = this.localSeq;
    }
    if (scan.unreadable > 0 && scan.codes.length === 0) this.stats.unusable++;
    const time = fields[EVENT_FIELD.time]?.value;
    this.emit(scan.codes, echo, scan.tsMs ?? (time instanceof Date ? time.getTime() : undefined));
  }

  private rememberEventId(key: string): void {
    if (this.eventIdOrder.length < EVENT_ID_MEMORY) this.eventIdOrder.push(key);
    else {
      this.eventIds.delete(this.eventIdOrder[this.eventIdNext]!);
      this.eventIdOrder[this.eventIdNext] = key;
      this.eventIdNext = (this.eventIdNext + 1) % EVENT_ID_MEMORY;
    }
    this.eventIds.add(key);
  }

  /** Way data: the `{seq, code, ts}` structure changed. */
  onData(dv: DataValue): void {
    if (!this.usable(dv)) return;
    const raw = dv.value.value as unknown;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Buffer.isBuffer(raw) || raw instanceof Date) {
      this.refuseValue(`the value of the data node is ${shown(raw)}, not a structure {seq, code, ts}`);
      return;
    }
    const v = raw as Record<string, unknown>;
    if (Buffer.isBuffer(v.buffer)) {
      this.refuseValue(`the read structure could not be decoded (${v.buffer.length} bytes of an unknown encoding: the PLC's DataType definition was not readable)`);
      return;
    }
    const k = (this.keys ??= this.findKeys(v));
    if (!(k.seq in v)) {
      this.refuseValue(`the read structure has no field ${k.seq} (its fields are ${fieldsOf(v)}): check fields.seq`);
      return;
    }
    const seq = seqValue(v[k.seq]);
    if (seq === undefined) {
      this.refuseValue(`field ${k.seq} of the read structure is ${shown(v[k.seq])}, not a non-negative integer (check fields.seq)`);
      return;
    }
    // A null String is no code (a no-read); a missing field or another type is not one: decided as NO_READ all
    // the same (the seq is the PLC's, the product gets its decision), and counted and logged.
    const code = v[k.code];
    let c = '';
    let wrong: string | null = null;
    if (typeof code === 'string') c = code;
    else if (Buffer.isBuffer(code)) c = code.toString('latin1');
    else if (!(k.code in v)) wrong = `the read structure has no field ${k.code} (its fields are ${fieldsOf(v)}): check fields.code`;
    else if (code !== null && code !== undefined) wrong = `field ${k.code} of the read structure is ${shown(code)}, not a String or ByteString (check fields.code)`;
    const ts = v[k.ts];
    const codes = c === '' ? [] : [c];
    if (!this.track(seq, true, codes)) return;
    if (wrong !== null) this.refuseValue(`${wrong}; seq ${seq} decided as NO_READ`);
    this.emit(codes, seq, ts instanceof Date && ts.getTime() > 0 ? ts.getTime() : undefined);
  }

  private findKeys(v: Record<string, unknown>): { seq: string; code: string; ts: string } {
    const find = (name: string) => {
      if (name in v) return name;
      const lower = name.toLowerCase();
      return Object.keys(v).find((x) => x.toLowerCase() === lower) ?? name;
    };
    return { seq: find(this.cfg.fields.seq), code: find(this.cfg.fields.code), ts: find(this.cfg.fields.ts) };
  }

  /** A value that cannot be used: counted and logged (rate-limited by the sink). */
  private refuseValue(what: string): void {
    this.stats.unusable++;
    this.sink.unusable(this, what);
  }

  private usable(dv: DataValue): boolean {
    if (!goodSeverity(dv)) {
      this.refuseValue(`the PLC sent the value with status ${dv.statusCode.toString()} (not read; the value after it is)`);
      return false;
    }
    // Part 4 7.39.1: the Overflow info bit says the PLC's queue for this item dropped values.
    if (dv.statusCode.hasOverflowBit) this.stats.queueOverflows++;
    return true;
  }

  /** Way counter: the counter changed; read it again together with the code, in one request. */
  onCounter(dv: DataValue): void {
    if (!this.usable(dv)) return;
    const c = seqValue(dv.value.value);
    if (c === undefined) {
      this.refuseValue(`the counter is ${shown(dv.value.value)}, not a non-negative integer`);
      return;
    }
    if (this.seq.last === undefined) {
      this.track(c, true); // the count before the gateway came: a baseline
      return;
    }
    if (c === this.seq.last) {
      this.track(c, true);
      return;
    }
    const session = this.session;
    const b = this.binding;
    if (session === null || b === null || b.codeNode === undefined || b.counterNode === undefined) return;
    const counterNode = b.counterNode;
    const codeNode = b.codeNode;
    this.chain = this.chain.then(async () => {
      let values: DataValue[];
      try {
        values = await session.read([
          { nodeId: counterNode, attributeId: AttributeIds.Value },
          { nodeId: codeNode, attributeId: AttributeIds.Value },
        ]);
      } catch {
        // The session broke: the seq gap shows the read as lost when the next count arrives.
        return;
      }
      const [cv, code] = values;
      if (cv === undefined || code === undefined || !goodSeverity(cv) || !goodSeverity(code)) {
        this.refuseValue(`reading the counter and the code after a count answered ${cv?.statusCode.toString() ?? 'nothing'}, ${code?.statusCode.toString() ?? 'nothing'} (a gap shows the read as lost)`);
        return;
      }
      // A newer count than the notification means the code belongs to it: the earlier read was overwritten (lost).
      const seq = seqValue(cv.value.value);
      if (seq === undefined) {
        this.refuseValue(`the counter is ${shown(cv.value.value)}, not a non-negative integer`);
        return;
      }
      // LastScanData is BaseDataType in AutoID: a String, a ByteString or a ScanData union.
      const raw = code.value.value as unknown;
      const known = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('latin1') : raw === null || raw === undefined ? '' : scanDataCode(raw);
      const s = known ?? '';
      const codes = s === '' ? [] : [s];
      if (!this.track(seq, false, codes)) return;
      if (known === null) this.refuseValue(`the code node holds ${shown(raw)}, not a String, ByteString or ScanData; seq ${seq} decided as NO_READ`);
      this.emit(codes, seq, code.sourceTimestamp?.getTime() ?? undefined);
    });
  }

  /** Way scan: a product is at the reader (the trigger counted up); call Scan and decide what it returns. */
  onTrigger(dv: DataValue): void {
    if (!this.usable(dv)) return;
    const t = seqValue(dv.value.value);
    if (t === undefined) {
      this.refuseValue(`the trigger is ${shown(dv.value.value)}, not a non-negative integer`);
      return;
    }
    if (!this.track(t, true)) return;
    const session = this.session;
    const b = this.binding;
    if (session === null || b === null || b.device === undefined || b.scanMethod === undefined || b.scanSettings === undefined) return;
    const device = b.device;
    const method = b.scanMethod;
    const settings = b.scanSettings();
    this.scans.push({
      seq: t,
      run: async () => {
        this.stats.scansWaiting = this.scans.length;
        let codes: string[] = [];
        let tsMs: number | undefined;
        try {
          const call = session.call({ objectId: device, methodId: method, inputArguments: [{ dataType: DataType.ExtensionObject, value: settings }] });
          // node-opcua waits at least 5 s for any answer: the gateway waits requestTimeoutMs.
          const res = await withTimeout(call, this.scanWaitMs, 'waiting for the Scan call to answer');
          if (res.statusCode.isNotGood()) throw new Error(`Scan answered ${res.statusCode.toString()}`);
          const scan = scanResultCodes(res.outputArguments?.[0]?.value);
          // The call's Status output (AutoIdOperationStatusEnumeration): a reader that failed (DEVICE_FAULT,
          // READ_ERROR...) and found nothing is a Scan error, not a no-read; NO_IDENTIFIER or none is a no-read.
          const failed = scanFailure(res.outputArguments?.[1]?.value);
          if (scan.codes.length === 0 && failed !== null) throw new Error(`Scan answered Status ${failed}`);
          codes = scan.codes;
          tsMs = scan.tsMs;
          if (codes.length === 0) this.stats.scanNoReads++;
        } catch (err) {
          // The product is at the gate: it gets a decision (NO_READ), never silence; the log says it was no read.
          const m = err instanceof Error ? err.message : String(err);
          const timedOut = err instanceof PlcTimeout;
          this.stats.scanErrors++;
          if (timedOut) this.stats.scanTimeouts++;
          this.sink.scanFailed(this, timedOut ? 'timeout' : 'error', t, m);
        }
        this.emit(codes, t, tsMs);
      },
    });
    this.stats.scansWaiting = this.scans.length;
  }

  /** A trigger pushed out of the Scan backlog: decided as NO_READ at once (the PLC rejects that product). */
  private dropScan(job: ScanJob): void {
    this.stats.scansDropped++;
    this.sink.scanFailed(this, 'dropped', job.seq, `${MAX_SCANS_WAITING} triggers were already waiting for a Scan call`);
    this.emit([], job.seq, undefined);
  }
}
