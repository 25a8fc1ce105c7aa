/**
 * The default status machine (DOMAIN.md "Status machine"), as data, and its per-station overrides.
 * For each operation: the statuses a serial may be in and the status it moves to.
 */
import type { StationConfig } from '../config/index.js';
import { OPERATIONS, STATUSES, type OperationName, type StatusCode, type StatusName } from '../reasons.js';

const S = STATUSES;

export interface OperationRule {
  from: ReadonlySet<StatusCode>;
  /** Target status; 'previous' = back to the status before the last transition; null = unchanged. */
  to: StatusCode | 'previous' | null;
  /** The operation takes the serial out of its container (decommission, destroy, sample, disaggregate). */
  clearsParent: boolean;
  /** Checks of holds, recalls and expiry that do not apply (goods on hold may still be destroyed). */
  skipHold: boolean;
  skipRecall: boolean;
  skipExpiry: boolean;
}

const set = (...s: StatusCode[]): ReadonlySet<StatusCode> => new Set(s);
const ANY = set(S.ASSIGNED, S.EXPECTED, S.COMMISSIONED, S.RECEIVED, S.PACKED, S.SHIPPED, S.DECOMMISSIONED, S.DESTROYED, S.SAMPLED);
const rule = (from: ReadonlySet<StatusCode>, to: OperationRule['to'], o: Partial<OperationRule> = {}): OperationRule => ({
  from, to, clearsParent: false, skipHold: false, skipRecall: false, skipExpiry: false, ...o,
});

export const DEFAULT_RULES: Readonly<Record<OperationName, OperationRule>> = {
  commission: rule(set(S.ASSIGNED), S.COMMISSIONED),
  receive: rule(set(S.EXPECTED, S.COMMISSIONED), S.RECEIVED),
  pack: rule(set(S.RECEIVED), S.PACKED),
  aggregate: rule(set(S.RECEIVED, S.COMMISSIONED), S.PACKED),
  disaggregate: rule(set(S.PACKED), 'previous', { clearsParent: true, skipHold: true, skipRecall: true, skipExpiry: true }),
  ship: rule(set(S.PACKED, S.RECEIVED), S.SHIPPED),
  decommission: rule(set(S.COMMISSIONED, S.RECEIVED, S.PACKED), S.DECOMMISSIONED, { clearsParent: true, skipHold: true, skipRecall: true, skipExpiry: true }),
  destroy: rule(set(S.ASSIGNED, S.EXPECTED, S.COMMISSIONED, S.RECEIVED, S.PACKED), S.DESTROYED, { clearsParent: true, skipHold: true, skipRecall: true, skipExpiry: true }),
  sample: rule(set(S.COMMISSIONED, S.RECEIVED, S.PACKED), S.SAMPLED, { clearsParent: true, skipHold: true, skipExpiry: true }),
  verify: rule(ANY, null),
};

/** A station's rules, resolved once from its config. */
export interface StationRules {
  op: OperationName;
  opCode: number;
  rule: OperationRule;
  allowUnknown: boolean;
  strict: boolean;
  childType: 'item' | 'container';
  capacity: number;
  homogeneous: 'none' | 'gtin' | 'gtin-lot';
  orderGtins: readonly string[];
  shortDateMarginDays: number;
}

export function resolveRules(st: StationConfig): StationRules {
  const base = DEFAULT_RULES[st.operation];
  let from = base.from;
  if (st.allowFrom !== undefined) from = new Set(st.allowFrom.map((n: StatusName) => STATUSES[n]));
  else if (st.returns && st.operation === 'receive') from = new Set([...from, S.SHIPPED]);
  return {
    op: st.operation,
    opCode: OPERATIONS[st.operation],
    rule: { ...base, from },
    allowUnknown: st.allowUnknown,
    strict: st.strictAggregation,
    childType: st.childType,
    capacity: st.capacity,
    homogeneous: st.homogeneous,
    orderGtins: st.orderGtins ?? [],
    shortDateMarginDays: st.shortDateMarginDays,
  };
}
