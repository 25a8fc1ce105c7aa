/** What the simulator's reads are, and the reasons and statuses it expects for them (DOMAIN.md numbers). */

/** Reason codes (DOMAIN.md "Reject reasons"); the names are what verdicts carry. */
export const REASON = {
  OK: 0, NO_READ: 1, MALFORMED: 2, BAD_CHECK_DIGIT: 3, UNKNOWN_SERIAL: 6, DUPLICATE_READ: 7, DUPLICATE_SERIAL: 8,
  WRONG_STATUS: 9, EXPIRED: 10, LOT_ON_HOLD: 11, LOT_RECALLED: 12, GTIN_NOT_ON_ORDER: 13,
} as const;
export const REASON_NAMES = [
  'OK', 'NO_READ', 'MALFORMED', 'BAD_CHECK_DIGIT', 'BAD_DATE', 'MISSING_AI', 'UNKNOWN_SERIAL', 'DUPLICATE_READ', 'DUPLICATE_SERIAL',
  'WRONG_STATUS', 'EXPIRED', 'LOT_ON_HOLD', 'LOT_RECALLED', 'GTIN_NOT_ON_ORDER', 'DATA_MISMATCH', 'PARENT_UNKNOWN', 'PARENT_CLOSED',
  'CHILD_AGGREGATED_ELSEWHERE', 'CAPACITY_EXCEEDED', 'INVALID_HIERARCHY', 'SYSTEM_UNAVAILABLE', 'SYMBOLOGY_NOT_ALLOWED', 'SERIAL_BLOCKED',
  'UNAUTHORIZED_STATION',
] as const;
export const REASON_BY_NAME: Record<string, number> = Object.fromEntries(REASON_NAMES.map((n, i) => [n, i]));

/** What a read is. Workflow kinds first, then injected errors. */
export const Kind = {
  Commission: 0, Receive: 1, Inspect: 2, CaseOpen: 3, PackItem: 4, PalletOpen: 5, CaseOnPallet: 6, Ship: 7,
  BadCheckDigit: 8, Malformed: 9, NoRead: 10, UnknownSerial: 11, WrongStatus: 12, DuplicateSerialFirst: 13, DuplicateSerial: 14,
  DuplicateRead: 15, Redelivery: 16, Expired: 17, LotOnHold: 18, LotRecalled: 19, NotOnOrder: 20,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Error kinds of the mix (`--errors`), by their command-line names. */
export const ERROR_KINDS = {
  'bad-check-digit': Kind.BadCheckDigit,
  malformed: Kind.Malformed,
  'unknown-serial': Kind.UnknownSerial,
  'wrong-status': Kind.WrongStatus,
  'duplicate-serial': Kind.DuplicateSerial,
  'duplicate-read': Kind.DuplicateRead,
  redelivery: Kind.Redelivery,
  expired: Kind.Expired,
  'lot-on-hold': Kind.LotOnHold,
  'lot-recalled': Kind.LotRecalled,
  'not-on-order': Kind.NotOnOrder,
  'no-read': Kind.NoRead,
} as const;
export type ErrorKindName = keyof typeof ERROR_KINDS;

/** Expected status not checked (the verdict carries none, or it does not matter). */
export const ANY_STATUS = 255;
