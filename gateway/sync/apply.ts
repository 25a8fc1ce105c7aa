/**
 * Apply central's status updates and peers' accepted transitions to the cache, exactly once per stream
 * message: every write of one message and the record of its stream sequence (in `meta`) are issued in one
 * synchronous call, so lmdb-js commits them in one transaction; a redelivered message (sequence not above
 * the recorded one) is skipped. No sockets here: adapters/nats feeds the decoded messages in.
 */
import type { Cache } from '../cache/cache.js';
import { containerChildId, type ContainerRecord } from '../cache/container.js';
import { FLAG_ON_HOLD, FLAG_RECALLED, isoToDays } from '../cache/record.js';
import { STATUSES, isKnownStatus, type StatusCode } from '../reasons.js';
import type { Store } from '../store.js';
import type { DecodedEventBatch, DecodedStatusUpdateBatch } from '../../protocol/index.js';
import { mergeCentral, mergePeer, type CentralSerial } from './merge.js';
import { checkSscc } from '../import/rows.js';
import { MAX_CLOCK_AHEAD_MS, isSerialUpdate, lotUpdateProblem, normalExpiry, peerEventProblem, updateFieldsProblem, updateKeyProblem } from './validate.js';

/** meta keys of the last applied stream sequences. */
export const META_STATUS_SEQ = 'sync.statusSeq';
export const META_PEER_SEQ = 'sync.peerSeq';

const VERDICT_ACCEPT = 1;
const AGGREGATION_ADD = 1;
const AGGREGATION_DELETE = 2;

export interface ApplyCounts {
  /** Records created, changed, already equal, kept because the local change is newer. */
  created: number;
  applied: number;
  same: number;
  keptLocal: number;
  /** Peer transitions this gateway also made itself (both accepted the same serial). */
  conflicts: number;
  lots: number;
  containers: number;
  /** Entries that name nothing this gateway keeps (another site, rejects...). */
  ignored: number;
  /** Entries refused as not valid (validate.ts): nothing of them written but, when their key is valid, their hold/recall flags. */
  invalid: number;
}

export interface ApplyResult extends ApplyCounts {
  /** False when the message was applied before (redelivery): nothing was written. */
  fresh: boolean;
  /** Resolves when the writes and the sequence record are committed. */
  written: Promise<unknown>;
  /** Serials the peer transitions conflicted on, `gtin/serial` (for the log). */
  conflictKeys: string[];
  /** The first problems of the entries refused (`update 3: ...`), for the log. */
  problems: string[];
  /** The site a batch named when it was another site's (nothing of it applied), for the log. */
  otherSite: string | null;
  /** How far the furthest updated_ms was ahead of this clock, when beyond MAX_CLOCK_AHEAD_MS (taken as now); else 0. */
  clockAheadMs: number;
}

export function emptyCounts(): ApplyCounts {
  return { created: 0, applied: 0, same: 0, keptLocal: 0, conflicts: 0, lots: 0, containers: 0, ignored: 0, invalid: 0 };
}

/** Add `from` counts into `to`. */
export function addCounts(to: ApplyCounts, from: ApplyCounts): void {
  for (const k of Object.keys(to) as (keyof ApplyCounts)[]) to[k] += from[k];
}

/** The last stream sequence applied under `key` (0 when none). */
export function appliedSeq(store: Store, key: string): number {
  return (store.meta.get(key) as number | undefined) ?? 0;
}

function result(fresh: boolean, written: Promise<unknown>): ApplyResult {
  return { ...emptyCounts(), fresh, written, conflictKeys: [], problems: [], otherSite: null, clockAheadMs: 0 };
}

const MAX_PROBLEMS = 10;

function refuse(r: ApplyResult, what: string, problem: string): void {
  r.invalid++;
  if (r.problems.length < MAX_PROBLEMS) r.problems.push(`${what}: ${problem}`);
}

/** Move an item between containers' child lists (when those containers are cached). */
function moveChild(cache: Cache, childId: string, from: string, to: string, r: ApplyCounts): void {
  if (from === to) return;
  // A parent that is no SSCC (stored by an older version that did not check) names no container to edit.
  if (from !== '' && checkSscc(from, 'parent') !== null) from = '';
  if (to !== '' && checkSscc(to, 'parent') !== null) to = '';
  if (from !== '') {
    const c = cache.getContainer(from);
    if (c !== undefined && c.children.includes(childId)) {
      void cache.putContainer(from, { ...c, children: c.children.filter((x) => x !== childId) });
      r.containers++;
    }
  }
  if (to !== '') {
    const c = cache.getContainer(to);
    if (c !== undefined && !c.children.includes(childId)) {
      void cache.putContainer(to, { ...c, children: [...c.children, childId] });
      r.containers++;
    }
  }
}

/** A StatusUpdate as it is applied: fields copied (a decoded message keeps its defaults on its prototype). */
interface CentralUpdate extends CentralSerial {
  gtin: string;
  serial: string;
  sscc: string;
}

/**
 * Copy of an update as this gateway applies it: a status it does not know (a newer central's) is no status, an
 * expiry with day 00 is the month's last day, an updated_ms more than MAX_CLOCK_AHEAD_MS ahead of this clock is
 * now (counted; such a time would keep every later update from central out of the record).
 */
function centralUpdate(u: DecodedStatusUpdateBatch['updates'][number], nowMs: number, r: ApplyResult): CentralUpdate {
  let updatedMs = Number(u.updatedMs);
  if (!Number.isFinite(updatedMs) || updatedMs < 0) updatedMs = 0;
  if (updatedMs > nowMs + MAX_CLOCK_AHEAD_MS) {
    r.clockAheadMs = Math.max(r.clockAheadMs, updatedMs - nowMs);
    updatedMs = nowMs;
  }
  return {
    gtin: u.gtin,
    serial: u.serial,
    sscc: u.sscc,
    status: isKnownStatus(u.status) ? u.status : STATUSES.UNKNOWN,
    lot: u.lot,
    expiry: normalExpiry(u.expiry),
    parent: u.parent,
    onHold: u.onHold,
    recalled: u.recalled,
    updatedMs,
  };
}

/** The hold and recall flags of a refused update whose key is valid, on the cached record (central's, always). Counted as invalid, not applied. */
function flagsOnly(cache: Cache, u: CentralUpdate, r: ApplyResult): void {
  const want = (u.onHold ? FLAG_ON_HOLD : 0) | (u.recalled ? FLAG_RECALLED : 0);
  const mask = FLAG_ON_HOLD | FLAG_RECALLED;
  if (isSerialUpdate(u)) {
    const cur = cache.getSerial(u.gtin, u.serial);
    if (cur === undefined || (cur.flags & mask) === want) return;
    void cache.putSerial(u.gtin, u.serial, { ...cur, flags: (cur.flags & ~mask) | want });
  } else {
    const cur = cache.getContainer(u.sscc);
    if (cur === undefined || (cur.flags & mask) === want) return;
    void cache.putContainer(u.sscc, { ...cur, flags: (cur.flags & ~mask) | want });
  }
}

/**
 * Apply one StatusUpdateBatch (stream sequence `seq`). Serial updates follow merge.ts; container updates set
 * the container's status, parent and flags (creating it, closed, when unknown); lot updates replace the lot's
 * hold/recall flags and expiry.
 */
export function applyStatusBatch(cache: Cache, store: Store, batch: DecodedStatusUpdateBatch, seq: number, site: string): ApplyResult {
  if (seq <= appliedSeq(store, META_STATUS_SEQ)) return result(false, Promise.resolve());
  const r = result(true, Promise.resolve());
  if (batch.site !== '' && batch.site !== site) {
    r.ignored += batch.updates.length + batch.lots.length;
    r.otherSite = batch.site;
  } else {
    // Every entry checked before any is written: one that is not valid is refused whole (its hold and recall
    // flags excepted, when its key is valid), the others applied.
    const nowMs = Date.now();
    const valid: CentralUpdate[] = [];
    batch.updates.forEach((raw, i) => {
      const u = centralUpdate(raw, nowMs, r);
      const keyBad = updateKeyProblem(u);
      const problem = keyBad ?? updateFieldsProblem(u);
      if (problem === null) return void valid.push(u);
      refuse(r, `update ${i}`, keyBad === null ? `${problem} (its hold/recall flags applied)` : problem);
      if (keyBad === null) flagsOnly(cache, u, r);
    });
    // Containers first, so items of the same batch find their container to join.
    const ordered = [...valid.filter((u) => !isSerialUpdate(u)), ...valid.filter((u) => isSerialUpdate(u))];
    for (const u of ordered) {
      if (isSerialUpdate(u)) {
        const cur = cache.getSerial(u.gtin, u.serial);
        const m = mergeCentral(cur, u);
        if (m.next !== undefined) {
          void cache.putSerial(u.gtin, u.serial, m.next);
          moveChild(cache, u.gtin + u.serial, cur?.parent ?? '', m.next.parent, r);
        }
        if (m.outcome === 'created') r.created++;
        else if (m.outcome === 'applied') r.applied++;
        else if (m.outcome === 'same') r.same++;
        else r.keptLocal++;
      } else {
        const cur = cache.getContainer(u.sscc);
        const status = (u.status > 0 ? u.status : (cur?.status ?? STATUSES.UNKNOWN)) as StatusCode;
        const flags = ((cur?.flags ?? 0) & ~(FLAG_ON_HOLD | FLAG_RECALLED)) | (u.onHold ? FLAG_ON_HOLD : 0) | (u.recalled ? FLAG_RECALLED : 0);
        const next: ContainerRecord =
          cur === undefined
            ? { state: 'CLOSED', status, prevStatus: status, capacity: 0, parent: u.parent, children: [], gtin: '', lot: u.lot, station: '', flags }
            : { ...cur, status, prevStatus: status !== cur.status ? cur.status : cur.prevStatus, parent: u.parent, flags };
        void cache.putContainer(u.sscc, next);
        moveChild(cache, containerChildId(u.sscc), cur?.parent ?? '', u.parent, r);
        r.containers++;
      }
    }
    for (const [i, l] of batch.lots.entries()) {
      const bad = lotUpdateProblem(l);
      if (bad !== null) refuse(r, `lot ${i}`, bad.keyOk ? `${bad.problem} (its hold/recall flags applied)` : bad.problem);
      if (bad !== null && !bad.keyOk) continue;
      // A bad expiry keeps the one the lot had; the flags apply either way.
      const expiryDays = bad === null ? isoToDays(normalExpiry(l.expiry)) : (cache.getLot(l.gtin, l.lot)?.expiryDays ?? 0);
      void cache.putLot(l.gtin, l.lot, { flags: (l.onHold ? FLAG_ON_HOLD : 0) | (l.recalled ? FLAG_RECALLED : 0), expiryDays });
      r.lots++;
    }
  }
  r.written = store.writes.put(store.meta, META_STATUS_SEQ, seq);
  return r;
}

/**
 * Apply one peer gateway's EventBatch (stream sequence `seq`): its accepted transitions of serials and
 * containers, and its aggregations. Batches of `ownGatewayId` are never applied (they are this gateway's own
 * decisions), but their sequence is recorded.
 */
export function applyPeerBatch(cache: Cache, store: Store, batch: DecodedEventBatch, seq: number, site: string, ownGatewayId: string): ApplyResult {
  if (seq <= appliedSeq(store, META_PEER_SEQ)) return result(false, Promise.resolve());
  const r = result(true, Promise.resolve());
  if (batch.gatewayId === ownGatewayId || (batch.site !== '' && batch.site !== site)) {
    r.ignored += batch.events.length + batch.aggregations.length;
    r.written = store.writes.put(store.meta, META_PEER_SEQ, seq);
    return r;
  }
  const isLocal = (id: number) => !cache.stationKey(id).includes(':');
  for (const [i, ev] of batch.events.entries()) {
    if (ev.verdict !== VERDICT_ACCEPT || ev.statusAfter === STATUSES.UNKNOWN) {
      r.ignored++;
      continue;
    }
    const bad = peerEventProblem(ev);
    if (bad !== null) {
      refuse(r, `event ${i}`, bad);
      continue;
    }
    const station = cache.stationId(`${ev.gatewayId || batch.gatewayId}:${ev.line}/${ev.station}`);
    if (ev.gtin !== '' && ev.serial !== '') {
      if (ev.statusAfter === ev.statusBefore) {
        r.same++; // verify/inspect: nothing moved (parent changes come as aggregation events)
        continue;
      }
      const cur = cache.getSerial(ev.gtin, ev.serial);
      const m = mergePeer(
        cur,
        { operation: ev.operation, statusBefore: ev.statusBefore, statusAfter: ev.statusAfter, lot: ev.lot, expiry: normalExpiry(ev.expiry), parent: ev.parent, eventTimeMs: ev.eventTimeMs, station },
        isLocal,
      );
      if (m.next !== undefined) {
        void cache.putSerial(ev.gtin, ev.serial, m.next);
        moveChild(cache, ev.gtin + ev.serial, cur?.parent ?? '', m.next.parent, r);
      }
      if (m.outcome === 'created') r.created++;
      else if (m.outcome === 'applied') r.applied++;
      else if (m.outcome === 'same') r.same++;
      else if (m.outcome === 'conflict') {
        r.conflicts++;
        r.conflictKeys.push(`${ev.gtin}/${ev.serial}`);
      } else r.keptLocal++;
    } else if (ev.sscc !== '') {
      const cur = cache.getContainer(ev.sscc);
      if (cur === undefined || cur.status === ev.statusAfter) {
        r.same++;
        continue;
      }
      void cache.putContainer(ev.sscc, { ...cur, status: ev.statusAfter as StatusCode, prevStatus: cur.status });
      r.containers++;
    } else {
      r.ignored++;
    }
  }
  for (const [i, ag] of batch.aggregations.entries()) {
    const bad = ag.parentSscc === '' ? null : checkSscc(ag.parentSscc, 'parent_sscc');
    if (bad !== null) {
      refuse(r, `aggregation ${i}`, bad);
      continue;
    }
    if (ag.parentSscc === '' || (ag.action !== AGGREGATION_ADD && ag.action !== AGGREGATION_DELETE)) {
      r.ignored++;
      continue;
    }
    for (const ch of ag.children) {
      if (isSerialUpdate(ch)) {
        if (updateKeyProblem({ ...ch, sscc: '', lot: '', expiry: '', parent: '' }) !== null) continue;
        const cur = cache.getSerial(ch.gtin, ch.serial);
        if (cur === undefined) continue;
        const parent = ag.action === AGGREGATION_ADD ? ag.parentSscc : cur.parent === ag.parentSscc ? '' : cur.parent;
        if (parent !== cur.parent) void cache.putSerial(ch.gtin, ch.serial, { ...cur, parent });
        moveChild(cache, ch.gtin + ch.serial, cur.parent, parent, r);
      } else if (ch.sscc !== '' && checkSscc(ch.sscc, 'sscc') === null) {
        const cur = cache.getContainer(ch.sscc);
        if (cur === undefined) continue;
        const parent = ag.action === AGGREGATION_ADD ? ag.parentSscc : cur.parent === ag.parentSscc ? '' : cur.parent;
        if (parent !== cur.parent) void cache.putContainer(ch.sscc, { ...cur, parent });
        moveChild(cache, containerChildId(ch.sscc), cur.parent, parent, r);
      }
    }
  }
  r.written = store.writes.put(store.meta, META_PEER_SEQ, seq);
  return r;
}
