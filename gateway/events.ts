/** CBV 2.0 bizStep and disposition per operation (DOMAIN.md "Events upstream"). */
import type { OperationName } from './reasons.js';

export const CBV: Readonly<Record<OperationName, { bizStep: string; disposition: string }>> = {
  commission: { bizStep: 'commissioning', disposition: 'active' },
  receive: { bizStep: 'receiving', disposition: 'in_progress' },
  pack: { bizStep: 'packing', disposition: 'in_progress' },
  aggregate: { bizStep: 'packing', disposition: 'in_progress' },
  disaggregate: { bizStep: 'unpacking', disposition: '' },
  ship: { bizStep: 'shipping', disposition: 'in_transit' },
  decommission: { bizStep: 'decommissioning', disposition: 'inactive' },
  destroy: { bizStep: 'destroying', disposition: 'destroyed' },
  sample: { bizStep: 'sampling', disposition: '' },
  verify: { bizStep: 'inspecting', disposition: 'conformant' },
};

/** Disposition of a rejected read: an inspection that fails is non-conformant; others carry none. */
export function rejectDisposition(op: OperationName): string {
  return op === 'verify' ? 'non_conformant' : '';
}
