/**
 * The decision engine: one entry per kind of read, each deciding from the local cache alone and returning
 * the decision with its staged writes; `commit` applies them in the caller's event turn.
 */
import type { Cache } from '../cache/cache.js';
import type { ParseResult } from '../parse/index.js';
import { STATUSES } from '../reasons.js';
import type { StationContext } from '../stations.js';
import { decideCamera } from './camera.js';
import { decideSscc } from './containers.js';
import { refused, rejectOf, type DecideContext } from './context.js';
import { control, type ControlOutcome } from './control.js';
import { Draft } from './draft.js';
import { decideItem } from './item.js';
import { resolveRules, type StationRules } from './rules.js';
import type { Decision, Effects } from './types.js';

export class Engine {
  readonly cache: Cache;
  private readonly rules = new Map<string, StationRules>();

  constructor(cache: Cache) {
    this.cache = cache;
  }

  private context(st: StationContext, todayDays: number, nowMs: number): DecideContext {
    let rules = this.rules.get(st.key);
    if (rules === undefined) {
      rules = resolveRules(st.config);
      this.rules.set(st.key, rules);
    }
    return { cache: this.cache, rules, stationKey: st.key, stationId: this.cache.stationId(st.key), todayDays, nowS: Math.floor(nowMs / 1000) };
  }

  /** One code: an item (GTIN + serial) or a container (SSCC). */
  decide(st: StationContext, parsed: ParseResult, todayDays: number, nowMs: number): Decision {
    if (!parsed.ok) return refused(rejectOf(parsed.reason, parsed.message), STATUSES.UNKNOWN);
    const ctx = this.context(st, todayDays, nowMs);
    const draft = new Draft(this.cache);
    if (parsed.gtin !== undefined) {
      if (parsed.serial === undefined) {
        return refused(rejectOf('MISSING_AI', 'AI 21 (serial number) is required at a serialised station'), STATUSES.UNKNOWN);
      }
      return decideItem(ctx, draft, { gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot, expiry: parsed.expiry });
    }
    if (parsed.sscc !== undefined) return decideSscc(ctx, draft, parsed.sscc);
    return refused(rejectOf('MISSING_AI', 'the code carries neither a GTIN with a serial nor an SSCC'), STATUSES.UNKNOWN);
  }

  /** A camera read: several item codes into one parent, all or nothing. */
  decideCodes(st: StationContext, codes: readonly { code: string; parsed: ParseResult }[], parent: string | undefined, todayDays: number, nowMs: number): Decision {
    return decideCamera(this.context(st, todayDays, nowMs), new Draft(this.cache), codes, parent);
  }

  control(st: StationContext, cmd: unknown, todayDays: number, nowMs: number): ControlOutcome {
    return control(this.context(st, todayDays, nowMs), new Draft(this.cache), cmd, st.parse);
  }

  /** Apply staged writes now (in the caller's event turn, with the events that record them). */
  commit(e: Effects): void {
    // A failed write fails the whole LMDB transaction, and with it the event append the read waits on: the read
    // is not acknowledged. Cache.writeErrors counts it (the cache handles the rejection).
    for (let i = 0; i < e.serials.length; i++) {
      const s = e.serials[i]!;
      void this.cache.putSerial(s.gtin, s.serial, s.rec);
    }
    if (e.containers.size > 0) for (const [sscc, rec] of e.containers) void this.cache.putContainer(sscc, rec);
    if (e.station !== null) void this.cache.putStation(e.station.key, e.station.state).catch(noop);
  }
}

function noop(): void {}
