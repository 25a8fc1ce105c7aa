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
import { decideItem, type ItemRead } from './item.js';
import { resolveRules } from './rules.js';
import type { Decision, Effects } from './types.js';

export class Engine {
  readonly cache: Cache;
  /**
   * The one draft of every decision, emptied for each: a decision's writes are applied (commit) or dropped before
   * the next decision begins, so no draft outlives its decision.
   */
  private readonly draft: Draft;
  /** Each station's context, made once: a decision only sets its time. */
  private readonly contexts = new Map<string, DecideContext>();

  constructor(cache: Cache) {
    this.cache = cache;
    this.draft = new Draft(cache);
  }

  /** The station's context at this time (the same object for every decision: nothing keeps it past one). */
  private context(st: StationContext, todayDays: number, nowMs: number): DecideContext {
    let ctx = this.contexts.get(st.key);
    if (ctx === undefined) {
      ctx = { cache: this.cache, rules: resolveRules(st.config), stationKey: st.key, stationId: this.cache.stationId(st.key), todayDays, nowS: 0 };
      this.contexts.set(st.key, ctx);
    }
    ctx.todayDays = todayDays;
    ctx.nowS = Math.floor(nowMs / 1000);
    return ctx;
  }

  /** One code: an item (GTIN + serial) or a container (SSCC). */
  decide(st: StationContext, parsed: ParseResult, todayDays: number, nowMs: number): Decision {
    if (!parsed.ok) return refused(rejectOf(parsed.reason, parsed.message), STATUSES.UNKNOWN);
    const ctx = this.context(st, todayDays, nowMs);
    const draft = this.draft.reset();
    if (parsed.gtin !== undefined) {
      if (parsed.serial === undefined) {
        return refused(rejectOf('MISSING_AI', 'AI 21 (serial number) is required at a serialised station'), STATUSES.UNKNOWN);
      }
      return decideItem(ctx, draft, parsed as ItemRead);
    }
    if (parsed.sscc !== undefined) return decideSscc(ctx, draft, parsed.sscc);
    return refused(rejectOf('MISSING_AI', 'the code carries neither a GTIN with a serial nor an SSCC'), STATUSES.UNKNOWN);
  }

  /** A camera read: several item codes into one parent, all or nothing. */
  decideCodes(st: StationContext, codes: readonly { code: string; parsed: ParseResult }[], parent: string | undefined, todayDays: number, nowMs: number): Decision {
    return decideCamera(this.context(st, todayDays, nowMs), this.draft.reset(), codes, parent);
  }

  control(st: StationContext, cmd: unknown, todayDays: number, nowMs: number): ControlOutcome {
    return control(this.context(st, todayDays, nowMs), this.draft.reset(), cmd, st.parse);
  }

  /** Apply staged writes now (in the caller's event turn, with the events that record them). */
  commit(e: Effects): void {
    // A failed write fails the whole LMDB transaction, and with it the event append the read waits on: the read
    // is not acknowledged. Cache.writeErrors counts it (the cache handles the rejection).
    for (let i = 0; i < e.serialCount; i++) {
      const s = e.serialAt(i);
      void this.cache.putSerial(s.gtin, s.serial, s.rec);
    }
    if (e.containers.size > 0) for (const [sscc, rec] of e.containers) void this.cache.putContainer(sscc, rec);
    if (e.station !== null) void this.cache.putStation(e.station.key, e.station.state).catch(noop);
  }
}

function noop(): void {}
