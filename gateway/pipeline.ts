/**
 * One read, start to end, in the gateway core: payload -> parse -> duplicate check -> cache lookup -> decide
 * -> cache write + event append (one LMDB transaction) -> verdict. The verdict is returned at once; `durable`
 * resolves when the event is on disk, and only then may the read be acknowledged to the scanner.
 * Nothing here opens a socket or logs per read.
 */
import type { Logger } from 'pino';
import { ScanEvent, type IScanEvent } from '../protocol/index.js';
import { Cache } from './cache/cache.js';
import { Counters } from './counters.js';
import { DupCache } from './dup-cache.js';
import { decideItem, type Decision } from './engine/decide.js';
import { CBV, rejectDisposition } from './events.js';
import { KIND_SCAN } from './outbox/encode.js';
import type { Outbox } from './outbox/outbox.js';
import type { ParseResult } from './parse/index.js';
import { OPERATIONS, REASONS, STATUSES, statusName, type ReasonName, type StatusCode } from './reasons.js';
import type { StationContext } from './stations.js';
import { readEnvelope, type ReadEnvelope } from './read-envelope.js';

/** What the line sees (DESIGN.md verdict topic). Absent fields are unknown. */
export interface VerdictMessage {
  seq?: number;
  device?: string;
  code?: string;
  gtin?: string;
  serial?: string;
  sscc?: string;
  lot?: string;
  expiry?: string;
  verdict: 'accept' | 'reject';
  reason: ReasonName;
  reasonCode: number;
  status?: string;
  eventId?: string;
  ts: number;
  message?: string;
  duplicateRead?: true;
}

export interface Outcome {
  verdict: VerdictMessage;
  /** Resolves when the read's event is durable; null when there is nothing to store (duplicate read). */
  durable: Promise<void> | null;
}

export interface PipelineDeps {
  cache: Cache;
  outbox: Outbox;
  gatewayId: string;
  log: Logger;
  counters?: Counters;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

export class Pipeline {
  readonly counters: Counters;
  private readonly cache: Cache;
  private readonly outbox: Outbox;
  private readonly gatewayId: string;
  private readonly now: () => number;
  private readonly dups = new DupCache<VerdictMessage>();
  private tzOffsetMin = 0;
  private todayDays = 0;
  private calendarUntilMs = 0;

  constructor(deps: PipelineDeps) {
    this.cache = deps.cache;
    this.outbox = deps.outbox;
    this.gatewayId = deps.gatewayId;
    this.counters = deps.counters ?? new Counters();
    this.now = deps.now ?? Date.now;
  }

  /** Local calendar facts, refreshed once a minute rather than per read. */
  private calendar(nowMs: number): void {
    if (nowMs < this.calendarUntilMs) return;
    const d = new Date(nowMs);
    this.tzOffsetMin = -d.getTimezoneOffset();
    this.todayDays = Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(2000, 0, 1)) / 86_400_000);
    this.calendarUntilMs = nowMs + 60_000 - (nowMs % 60_000);
  }

  /** A read on a topic whose station is not declared: refused, counted, no event. */
  unauthorized(line: string, station: string): VerdictMessage {
    this.counters.reads++;
    this.counters.rejected++;
    this.counters.unauthorizedStation++;
    this.counters.countReason('UNAUTHORIZED_STATION');
    return {
      verdict: 'reject',
      reason: 'UNAUTHORIZED_STATION',
      reasonCode: REASONS.UNAUTHORIZED_STATION,
      ts: this.now(),
      message: `station ${line}/${station} is not declared in this gateway's configuration`,
    };
  }

  /** Decide one read as it came off the wire (raw or JSON, DESIGN.md read topic). Never throws for any payload. */
  handleRead(st: StationContext, payload: Buffer): Outcome {
    return this.handleEnvelope(st, readEnvelope(payload), payload);
  }

  /**
   * Decide one read already unwrapped by an adapter (e.g. a protobuf ScanRead or an OPC UA scan result).
   * A string envelope is a payload error and is answered with MALFORMED and that message.
   */
  handleEnvelope(st: StationContext, env: ReadEnvelope | string, raw: Buffer): Outcome {
    const nowMs = this.now();
    this.calendar(nowMs);
    this.counters.reads++;
    if (typeof env === 'string') return this.finish(st, { code: '', raw }, nowMs, undefined, 'MALFORMED', env);
    if (env.codes !== undefined) {
      return this.finish(st, env, nowMs, undefined, 'MALFORMED', `multi-code (camera) reads are not supported at station ${st.key}: send one "code" per read`);
    }
    const trimmed = env.code.replace(/[\r\n]+$/, '');
    if (trimmed.length === 0 || trimmed === st.config.noReadToken) {
      return this.finish(st, env, nowMs, undefined, 'NO_READ', 'the scanner reported no read');
    }

    // Duplicate read: the same message again (device, seq), or the same code at this read point in the window.
    const window = st.config.duplicateReadWindowMs;
    const seqKey = env.device !== undefined && env.seq !== undefined ? `${st.key}\u0001${env.device}\u0001${env.seq}` : undefined;
    const codeKey = `${st.key}\u0000${trimmed}`;
    const prior = (seqKey !== undefined ? this.dups.get(seqKey, nowMs, window) : undefined) ?? this.dups.get(codeKey, nowMs, window);
    if (prior !== undefined) {
      this.counters.duplicateReads++;
      const again: VerdictMessage = { ...prior, ts: nowMs, duplicateRead: true };
      if (env.seq !== undefined) again.seq = env.seq;
      if (env.device !== undefined) again.device = env.device;
      return { verdict: again, durable: null };
    }

    const parsed = st.parse(trimmed);
    const out = this.decide(st, env, parsed, nowMs);
    this.dups.set(codeKey, nowMs, out.verdict);
    if (seqKey !== undefined) this.dups.set(seqKey, nowMs, out.verdict);
    return out;
  }

  private decide(st: StationContext, env: ReadEnvelope, parsed: ParseResult, nowMs: number): Outcome {
    if (!parsed.ok) return this.finish(st, env, nowMs, parsed, parsed.reason, parsed.message);
    if (parsed.gtin === undefined) {
      // An SSCC alone: containers are not in this cache yet.
      return this.finish(st, env, nowMs, parsed, 'UNKNOWN_SERIAL', `SSCC ${parsed.sscc ?? ''} is not in the cache`);
    }
    if (parsed.serial === undefined) {
      return this.finish(st, env, nowMs, parsed, 'MISSING_AI', 'AI 21 (serial number) is required at a serialised station');
    }
    const rec = this.cache.getSerial(parsed.gtin, parsed.serial);
    const d = decideItem(st.operation, rec, { gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot, expiry: parsed.expiry }, this.todayDays, Math.floor(nowMs / 1000));
    // Same event turn as the event append in finish(): one LMDB transaction holds both.
    if (d.next !== undefined) void this.cache.putSerial(parsed.gtin, parsed.serial, d.next).catch(() => undefined);
    return this.finish(st, env, nowMs, parsed, d.reason, d.message, d);
  }

  /** Build the verdict and the event, append the event, count. */
  private finish(
    st: StationContext,
    env: ReadEnvelope,
    nowMs: number,
    parsed: ParseResult | undefined,
    reason: ReasonName,
    message: string | undefined,
    d?: Decision,
  ): Outcome {
    const accept = reason === 'OK';
    const seq = this.outbox.reserveSeq();
    const eventId = this.outbox.eventId(seq);
    const before: StatusCode = d?.statusBefore ?? STATUSES.UNKNOWN;
    const after: StatusCode = d?.statusAfter ?? before;
    const v: VerdictMessage = { verdict: accept ? 'accept' : 'reject', reason, reasonCode: REASONS[reason], ts: nowMs, eventId };
    if (env.seq !== undefined) v.seq = env.seq;
    if (env.device !== undefined) v.device = env.device;
    if (env.code) v.code = env.code;
    const ev: IScanEvent = {
      eventId,
      eventTimeMs: env.tsMs ?? nowMs,
      tzOffsetMin: this.tzOffsetMin,
      site: st.site,
      line: st.line,
      station: st.station,
      gatewayId: this.gatewayId,
      device: env.device ?? '',
      readSeq: env.seq ?? 0,
      operation: OPERATIONS[st.operation],
      verdict: accept ? 1 : 2,
      reason: REASONS[reason],
      statusBefore: before,
      statusAfter: after,
      bizStep: CBV[st.operation].bizStep,
      disposition: accept ? CBV[st.operation].disposition : rejectDisposition(st.operation),
      raw: env.raw,
    };
    if (parsed?.ok) {
      if (parsed.gtin !== undefined) ev.gtin = v.gtin = parsed.gtin;
      if (parsed.serial !== undefined) ev.serial = v.serial = parsed.serial;
      if (parsed.sscc !== undefined) ev.sscc = v.sscc = parsed.sscc;
      if (parsed.lot !== undefined) ev.lot = v.lot = parsed.lot;
      if (parsed.expiry !== undefined) ev.expiry = v.expiry = parsed.expiry;
    }
    if (d !== undefined && d.statusBefore !== STATUSES.UNKNOWN) v.status = statusName(after);
    if (message !== undefined && !accept) ev.message = v.message = message;
    const durable = this.outbox.append(seq, KIND_SCAN, ScanEvent.encode(ev).finish());
    this.counters.eventsAppended++;
    if (accept) this.counters.accepted++;
    else this.counters.rejected++;
    this.counters.countReason(reason);
    return { verdict: v, durable };
  }
}
