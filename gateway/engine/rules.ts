/**
 * The default status machine (DOMAIN.md "Status machine"), as data: for each operation, the statuses a serial
 * may be in and the status it moves to. `null` target = status unchanged (verify). Container-level rules
 * (aggregate into an open container, ship of a container) live with the container logic.
 */
import { STATUSES, type OperationName, type StatusCode } from '../reasons.js';

const S = STATUSES;

export interface OperationRule {
  from: ReadonlySet<StatusCode>;
  /** Target status; 'previous' = back to the status before the last transition; null = unchanged. */
  to: StatusCode | 'previous' | null;
  /** Whether the operation clears the parent link (e.g. decommission disaggregates). */
  clearsParent: boolean;
}

const set = (...s: StatusCode[]): ReadonlySet<StatusCode> => new Set(s);
const NON_TERMINAL_EXCEPT_SHIPPED = set(S.ASSIGNED, S.EXPECTED, S.COMMISSIONED, S.RECEIVED, S.PACKED);
const ANY = set(S.ASSIGNED, S.EXPECTED, S.COMMISSIONED, S.RECEIVED, S.PACKED, S.SHIPPED, S.DECOMMISSIONED, S.DESTROYED, S.SAMPLED);

export const DEFAULT_RULES: Readonly<Record<OperationName, OperationRule>> = {
  commission: { from: set(S.ASSIGNED), to: S.COMMISSIONED, clearsParent: false },
  receive: { from: set(S.EXPECTED, S.COMMISSIONED), to: S.RECEIVED, clearsParent: false },
  pack: { from: set(S.RECEIVED), to: S.PACKED, clearsParent: false },
  aggregate: { from: set(S.RECEIVED, S.COMMISSIONED), to: S.PACKED, clearsParent: false },
  disaggregate: { from: set(S.PACKED), to: 'previous', clearsParent: true },
  ship: { from: set(S.PACKED, S.RECEIVED), to: S.SHIPPED, clearsParent: false },
  decommission: { from: set(S.COMMISSIONED, S.RECEIVED, S.PACKED), to: S.DECOMMISSIONED, clearsParent: true },
  destroy: { from: NON_TERMINAL_EXCEPT_SHIPPED, to: S.DESTROYED, clearsParent: true },
  sample: { from: set(S.COMMISSIONED, S.RECEIVED, S.PACKED), to: S.SAMPLED, clearsParent: true },
  verify: { from: ANY, to: null, clearsParent: false },
};
