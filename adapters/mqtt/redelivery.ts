/**
 * Reads already decided and stored whose acknowledgement never reached the sender: the connection dropped, or
 * the gateway died between the durable write and the PUBACK. The sender's session redelivers them; this index
 * answers such a read with its original verdict (flagged `duplicateRead`), acknowledges it, and decides
 * nothing again, so a read is decided once even across a crash. Entries come at start from the newest events,
 * in the outbox journal or, once central has them, in the `recent` table, and from reads pending on a
 * connection that closed. A redelivered read is recognised by its (station, device, seq) when it carries them,
 * or, when the MQTT DUP flag is set, by its exact bytes.
 * Kept for RETAIN_MS, then forgotten; nothing is looked up while the index is empty.
 */
import { createHash } from 'node:crypto';
import { ScanEvent } from '../../protocol/index.js';
import { readEnvelope, readKey, type ReadEnvelope } from '../../gateway/read-envelope.js';
import type { VerdictMessage } from '../../gateway/pipeline.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { recentEvent } from '../../gateway/outbox/outbox.js';
import { eventCount, eventsOf } from '../../gateway/outbox/block.js';
import { reasonName, statusName, STATUSES } from '../../gateway/reasons.js';
import type { Store } from '../../gateway/store.js';

/** How long an entry is kept, in ms: long enough for a scanner to reconnect after a gateway restart. */
export const RETAIN_MS = 10 * 60_000;
/** Most entries kept (the newest win). */
export const MAX_ENTRIES = 100_000;
/** Journal events read at start (the newest). */
export const RECOVER_EVENTS = 100_000;

interface Entry {
  atMs: number;
  verdict: VerdictMessage;
  /** rawKey of the stored read (a DUP match is by bytes). */
  raw: string;
  /** The code(s) it carried: a (device, seq) match counts only with the same code. */
  code: string;
}

/** The code a read carries, to tell a resent read (same code) from a new one under a reused seq. */
function codeOf(env: ReadEnvelope | string, raw: Uint8Array): string {
  if (typeof env === 'string') return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  return readKey(env);
}

export function rawKey(stationKey: string, raw: Uint8Array): string {
  return `${stationKey}\u0000${createHash('sha1').update(raw).digest('base64')}`;
}

export function seqKey(stationKey: string, device: string, seq: number): string {
  return `${stationKey}\u0001${device}\u0001${seq}`;
}

export class RedeliveryIndex {
  private readonly bySeq = new Map<string, Entry>();
  private readonly byRaw = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  get size(): number {
    return this.bySeq.size + this.byRaw.size;
  }

  /** Remember a stored read whose acknowledgement may not have reached its sender. */
  add(stationKey: string, raw: Uint8Array, device: string | undefined, seq: number | undefined, verdict: VerdictMessage, atMs = this.now()): void {
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
    const e: Entry = { atMs, verdict, raw: rawKey(stationKey, raw), code: codeOf(readEnvelope(bytes), raw) };
    put(this.byRaw, e.raw, e);
    if (device !== undefined && device !== '' && seq !== undefined) put(this.bySeq, seqKey(stationKey, device, seq), e);
  }

  /** The original verdict of a redelivered read, or undefined. */
  match(stationKey: string, env: ReadEnvelope, raw: Uint8Array, dup: boolean): VerdictMessage | undefined {
    let e: Entry | undefined;
    const rk = rawKey(stationKey, raw);
    if (env.device !== undefined && env.seq !== undefined) {
      e = this.bySeq.get(seqKey(stationKey, env.device, env.seq));
      // The same device and seq with another code is a new read (a scanner that counts from 1 again), not a
      // resent one (which may differ in other fields, a new ts say): decided as usual. The same bytes are the
      // same read whatever its code was taken to be (a stored protobuf read is compared by its bytes).
      if (e !== undefined && e.code !== codeOf(env, raw) && e.raw !== rk) return undefined;
    }
    if (e === undefined && dup) e = this.byRaw.get(rk);
    if (e === undefined) return undefined;
    if (this.now() - e.atMs > RETAIN_MS) return undefined;
    return e.verdict;
  }

  /** Drop entries older than RETAIN_MS (Map order is insertion order, so the old ones are at the front). */
  prune(): void {
    const limit = this.now() - RETAIN_MS;
    for (const m of [this.bySeq, this.byRaw]) {
      for (const [k, e] of m) {
        if (e.atMs >= limit) break;
        m.delete(k);
      }
    }
  }

  /**
   * Load the newest events of the journal: after a crash, the reads decided just before it may not have been
   * acknowledged. Reads with several codes (camera reads) are left out: their verdict is not one event's.
   */
  loadJournal(store: Store, maxEvents = RECOVER_EVENTS): number {
    const found: { key: string; raw: Uint8Array; device: string; seq: number; verdict: VerdictMessage; atMs: number }[] = [];
    for (const { value, atMs } of newestEvents(store, maxEvents, this.now())) {
      if (value[0] !== KIND_SCAN) continue;
      let ev: ScanEvent;
      try {
        ev = ScanEvent.decode(value.subarray(1));
      } catch {
        continue;
      }
      const raw = ev.raw;
      if (raw.length > 0 && isCameraRead(raw)) continue;
      found.push({ key: `${ev.line}/${ev.station}`, raw, device: ev.device, seq: ev.readSeq, verdict: verdictOf(ev), atMs });
    }
    // Oldest first, so the newest entry wins on a clash and the front of the maps stays the oldest.
    for (let i = found.length - 1; i >= 0; i--) {
      const f = found[i]!;
      this.add(f.key, f.raw, f.device === '' ? undefined : f.device, f.device === '' ? undefined : f.seq, f.verdict, f.atMs);
    }
    return found.length;
  }
}

/**
 * The newest `max` events, newest first, of the journal (not yet at central: remembered from now) and of
 * `recent` (at central: remembered from when central acknowledged them, and left out once older than RETAIN_MS).
 * A read whose PUBACK was lost may have its event in either.
 */
function newestEvents(store: Store, max: number, nowMs: number): { value: Buffer; atMs: number }[] {
  const all: { seq: number; value: Buffer; atMs: number }[] = [];
  // Journal values are blocks of events (or single events of an older journal): take values until max events.
  let n = 0;
  for (const { key, value } of store.journal.getRange({ reverse: true })) {
    for (const e of eventsOf(key, value)) all.push({ seq: e.seq, value: e.value, atMs: nowMs });
    if ((n += eventCount(value)) >= max) break;
  }
  n = 0;
  for (const { key, value } of store.recent.getRange({ reverse: true })) {
    const r = recentEvent(value);
    if (r === null || nowMs - r.ackedAtMs > RETAIN_MS) continue;
    for (const e of eventsOf(key, r.value)) all.push({ seq: e.seq, value: e.value, atMs: r.ackedAtMs });
    if ((n += eventCount(r.value)) >= max) break;
  }
  all.sort((a, b) => b.seq - a.seq);
  return all.slice(0, max);
}

function put(m: Map<string, Entry>, k: string, e: Entry): void {
  m.delete(k);
  m.set(k, e);
  if (m.size > MAX_ENTRIES) {
    const oldest = m.keys().next().value;
    if (oldest !== undefined) m.delete(oldest);
  }
}

/** The verdict message of a stored event, as the pipeline published it (DESIGN.md verdict topic). */
export function verdictOf(ev: ScanEvent): VerdictMessage {
  const reason = reasonName(ev.reason) ?? 'SYSTEM_UNAVAILABLE';
  const v: VerdictMessage = { verdict: ev.verdict === 1 ? 'accept' : 'reject', reason, reasonCode: ev.reason, ts: Date.now(), eventId: ev.eventId };
  if (ev.device !== '') {
    v.device = ev.device;
    v.seq = ev.readSeq;
  }
  if (ev.gtin !== '') v.gtin = ev.gtin;
  if (ev.serial !== '') v.serial = ev.serial;
  if (ev.sscc !== '') v.sscc = ev.sscc;
  if (ev.lot !== '') v.lot = ev.lot;
  if (ev.expiry !== '') v.expiry = ev.expiry;
  if (ev.statusBefore !== STATUSES.UNKNOWN) {
    const s = statusName(ev.statusAfter);
    if (s !== undefined) v.status = s;
  }
  if (ev.message !== '') v.message = ev.message;
  v.duplicateRead = true;
  return v;
}

/** Whether a stored read is a camera read (JSON `codes`; a BOM or blanks before the `{` too, as readEnvelope takes them). */
function isCameraRead(raw: Uint8Array): boolean {
  const env = readEnvelope(Buffer.from(raw.buffer, raw.byteOffset, raw.length));
  return typeof env !== 'string' && env.codes !== undefined;
}
