/**
 * Reject reasons with their stable numeric codes (DOMAIN.md "Reject reasons").
 * The number is what a PLC sees; the name is what MQTT/JSON carry. Numbers are never reused.
 */
export const REASONS = {
  OK: 0,
  NO_READ: 1,
  MALFORMED: 2,
  BAD_CHECK_DIGIT: 3,
  BAD_DATE: 4,
  MISSING_AI: 5,
  UNKNOWN_SERIAL: 6,
  DUPLICATE_READ: 7,
  DUPLICATE_SERIAL: 8,
  WRONG_STATUS: 9,
  EXPIRED: 10,
  LOT_ON_HOLD: 11,
  LOT_RECALLED: 12,
  GTIN_NOT_ON_ORDER: 13,
  DATA_MISMATCH: 14,
  PARENT_UNKNOWN: 15,
  PARENT_CLOSED: 16,
  CHILD_AGGREGATED_ELSEWHERE: 17,
  CAPACITY_EXCEEDED: 18,
  INVALID_HIERARCHY: 19,
  SYSTEM_UNAVAILABLE: 20,
  SYMBOLOGY_NOT_ALLOWED: 21,
  SERIAL_BLOCKED: 22,
  UNAUTHORIZED_STATION: 23,
} as const;

export type ReasonName = keyof typeof REASONS;
export type ReasonCode = (typeof REASONS)[ReasonName];

/** The names of a name -> code table, indexed by code. */
function byCode<K extends string>(table: Readonly<Record<K, number>>): K[] {
  const out: K[] = [];
  for (const [name, code] of Object.entries(table) as [K, number][]) out[code] = name;
  return out;
}

const BY_CODE = byCode(REASONS);

/** Name of a numeric reason code, or undefined when the code is not defined. */
export function reasonName(code: number): ReasonName | undefined {
  return BY_CODE[code];
}

/** Serial statuses (DOMAIN.md "Status machine"); numbers match the protobuf `Status` enum. */
export const STATUSES = {
  UNKNOWN: 0,
  ASSIGNED: 1,
  EXPECTED: 2,
  COMMISSIONED: 3,
  RECEIVED: 4,
  PACKED: 5,
  SHIPPED: 6,
  DECOMMISSIONED: 7,
  DESTROYED: 8,
  SAMPLED: 9,
} as const;

export type StatusName = keyof typeof STATUSES;
export type StatusCode = (typeof STATUSES)[StatusName];

const STATUS_BY_CODE = byCode(STATUSES);

/** Name of a numeric status code, or undefined when the code is not defined. */
export function statusName(code: number): StatusName | undefined {
  return STATUS_BY_CODE[code];
}

/**
 * Whether `code` is a status this gateway knows, other than UNKNOWN: a code from central or a peer that is not
 * (STATUS_UNKNOWN, or a newer central's value) carries no status.
 */
export function isKnownStatus(code: number): code is Exclude<StatusCode, 0> {
  return code !== STATUSES.UNKNOWN && STATUS_BY_CODE[code] !== undefined;
}

/** Station operations; numbers match the protobuf `Operation` enum. */
export const OPERATIONS = {
  commission: 1,
  receive: 2,
  pack: 3,
  aggregate: 4,
  disaggregate: 5,
  ship: 6,
  decommission: 7,
  destroy: 8,
  sample: 9,
  verify: 10,
} as const;

export type OperationName = keyof typeof OPERATIONS;

const OPERATION_BY_CODE = byCode(OPERATIONS);

/** Name of a numeric operation code, or undefined when the code is not defined. */
export function operationName(code: number): OperationName | undefined {
  return OPERATION_BY_CODE[code];
}
