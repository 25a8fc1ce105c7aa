/**
 * The GS1 Application Identifier table, as data (GS1 General Specifications section 3.2, Figure 3.2-1,
 * cross-checked with the GS1 Barcode Syntax Dictionary). Compiled once at load into arrays indexed by
 * the AI's digits, so the hot path looks an AI up without hashing a string.
 *
 * Spec syntax per component: type (N digits, X set 82, Y set 39, Z set 64), length (`14` fixed, `..20`
 * variable 1-20), optional `,lint`; `[...]` marks an optional last component.
 * Rules: `req=A,B` (one of A, B must be in the read; several req= must all hold), `ex=A,B` (may not
 * appear together), `dl` (GS1 Digital Link primary key), `dl=22,10,21|235` (with its path qualifiers, in
 * order; `|` separates alternative sequences).
 */
import { CS_N, CS_X, CS_Y, CS_Z, type CharSet } from './charset.js';

/** Component checks ('linters' in the GS1 Barcode Syntax Dictionary), by id. */
export const L_NONE = 0;
export const L_CSUM = 1;
export const L_YYMMD0 = 2;
export const L_YYMMDD = 3;
export const L_HHMM = 4;
export const L_YYMMDDHH = 5;
export const L_MMOPTSS = 6;
export const L_NONZERO = 7;
export const L_ZERO = 8;
export const L_WINDING = 9;
export const L_PIECEOFTOTAL = 10;
export const L_YESNO = 11;
export const L_HYPHEN = 12;
export const L_IMPORTERIDX = 13;
export const L_LATITUDE = 14;
export const L_LONGITUDE = 15;
export const L_NOZEROPREFIX = 16;
export const L_CSUMALPHA = 17;
export const L_LIST3 = 18;
export const L_YYYYMMDD = 19;
export const L_PCENC = 20;

const LINTS: Record<string, number> = {
  csum: L_CSUM, yymmd0: L_YYMMD0, yymmdd: L_YYMMDD, hhmm: L_HHMM, yymmddhh: L_YYMMDDHH, mmoptss: L_MMOPTSS,
  nonzero: L_NONZERO, zero: L_ZERO, winding: L_WINDING, pieceoftotal: L_PIECEOFTOTAL, yesno: L_YESNO,
  hyphen: L_HYPHEN, importeridx: L_IMPORTERIDX, latitude: L_LATITUDE, longitude: L_LONGITUDE,
  nozeroprefix: L_NOZEROPREFIX, csumalpha: L_CSUMALPHA, list3: L_LIST3, yyyymmdd: L_YYYYMMDD, pcenc: L_PCENC,
};

/** One component of an AI's data field. */
export interface Component {
  cs: CharSet;
  min: number;
  max: number;
  optional: boolean;
  lint: number;
}

/** One AI, ready for the parser. */
export interface AiEntry {
  ai: string;
  /** Position in the lookup array (0-99 two-digit, 100-1099 three-digit, 1100-11099 four-digit AIs). */
  idx: number;
  title: string;
  comps: Component[];
  /** Data length bounds (without the AI). */
  minLen: number;
  maxLen: number;
  /** Data length when the AI is in the predefined-length list (never followed by GS), else -1. */
  fixedLen: number;
  predefined: boolean;
  /** Some component carries a mod-10 check digit. */
  check: boolean;
  /** Some component is a date. */
  date: boolean;
  /** Each inner list: one of these AIs must be present. */
  req: string[][];
  /** `req` as lookup indices. */
  reqIdx: number[][];
  /** None of these AIs may be present. */
  ex: string[];
  /** `ex` as lookup indices. */
  exIdx: number[];
  /** 31xx-36xx: indices of the other decimal-point variants of the same measure (only one may appear). */
  familyIdx: number[];
  /** Digital Link primary key: allowed qualifier sequences ([] = none); null when not a primary key. */
  dlQualifiers: string[][] | null;
  /** How a check-digit message names the key, e.g. 'GTIN' or 'AI 414 GLN'. */
  keyLabel: string;
  /** Hot-path shape: FAST_N_FIXED, FAST_X_VAR or FAST_NONE (validated component by component). */
  fast: number;
  /** Lint of the single component of a fast entry. */
  lint: number;
}

export const FAST_NONE = 0;
/** One fixed-length numeric component; lint none, csum or a date. */
export const FAST_N_FIXED = 1;
/** One variable-length set-82 component without lint. */
export const FAST_X_VAR = 2;

// GenSpecs 7.8.5 (predefined-length element strings): total length (AI + data) by the AI's first two digits.
const PREDEFINED: Record<number, number> = {
  0: 20, 1: 16, 2: 16, 3: 16, 4: 18, 11: 8, 12: 8, 13: 8, 14: 8, 15: 8, 16: 8, 17: 8, 18: 8, 19: 8, 20: 4,
  31: 10, 32: 10, 33: 10, 34: 10, 35: 10, 36: 10, 41: 16,
};

/** AI length (2-4) by its first two digits; 0 = no AI starts with these digits. */
export const AI_LEN = new Uint8Array(100);
for (let p = 0; p <= 22; p++) AI_LEN[p] = 2;
for (const p of [30, 37, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99]) AI_LEN[p] = 2;
for (const p of [23, 24, 25, 40, 41, 42, 71]) AI_LEN[p] = 3;
// 43 is four digits since the 4300-4333 shipping AIs (GenSpecs 3.2); Table K in older TDT said three.
for (const p of [31, 32, 33, 34, 35, 36, 39, 43, 70, 72, 80, 81, 82]) AI_LEN[p] = 4;

const G = 'req=01,02,03,8006,8026'; // trade-item attributes: any GTIN-carrying key
const T = 'req=01,02'; // trade measures
const L = 'req=00,01'; // logistic measures

type Row = [ai: string, spec: string, rules: string, title: string];

const ROWS: Row[] = [
  ['00', 'N18,csum', 'dl', 'SSCC'],
  ['01', 'N14,csum', 'ex=02,37 dl=22,10,21|235', 'GTIN'],
  ['02', 'N14,csum', 'req=37', 'CONTENT'],
  ['03', 'N14,csum', 'ex=01,02,37', 'MTO GTIN'],
  ['10', 'X..20', G, 'BATCH/LOT'],
  ['11', 'N6,yymmd0', G, 'PROD DATE'],
  ['12', 'N6,yymmd0', 'req=8020', 'DUE DATE'],
  ['13', 'N6,yymmd0', G, 'PACK DATE'],
  ['15', 'N6,yymmd0', G, 'BEST BEFORE or BEST BY'],
  ['16', 'N6,yymmd0', G, 'SELL BY'],
  ['17', 'N6,yymmd0', G, 'USE BY or EXPIRY'],
  ['20', 'N2', G, 'VARIANT'],
  ['21', 'X..20', 'req=01,8006 ex=235', 'SERIAL'],
  ['22', 'X..20', 'req=01', 'CPV'],
  ['235', 'X..28', 'req=01', 'TPX'],
  ['240', 'X..30', G, 'ADDITIONAL ID'],
  ['241', 'X..30', G, 'CUST. PART No.'],
  ['242', 'N..6', G, 'MTO VARIANT'],
  ['243', 'X..20', 'req=01', 'PCN'],
  ['250', 'X..30', 'req=01,8006 req=21', 'SECONDARY SERIAL'],
  ['251', 'X..30', 'req=01,8006', 'REF. TO SOURCE'],
  ['253', 'N13,csum [X..17]', 'dl', 'GDTI'],
  ['254', 'X..20', 'req=414', 'GLN EXTENSION COMPONENT'],
  ['255', 'N13,csum [N..12]', 'ex=01,02 dl', 'GCN'],
  ['30', 'N..8', T, 'VAR. COUNT'],
  ['37', 'N..8', 'req=02,8026', 'COUNT'],
  ['3900-3909', 'N..15', 'req=255,8020', 'AMOUNT'],
  ['3910-3919', 'N3 N..15', 'req=8020', 'AMOUNT'],
  ['3920-3929', 'N..15', 'req=01', 'PRICE'],
  ['3930-3939', 'N3 N..15', 'req=01', 'PRICE'],
  ['3940-3943', 'N4', 'req=255', 'PRCNT OFF'],
  ['3950-3955', 'N6', '', 'PRICE/UoM'],
  ['400', 'X..30', '', 'ORDER NUMBER'],
  ['401', 'X..30', 'dl', 'GINC'],
  ['402', 'N17,csum', 'dl', 'GSIN'],
  ['403', 'X..30', 'req=00', 'ROUTE'],
  ['410', 'N13,csum', '', 'SHIP TO LOC'],
  ['411', 'N13,csum', '', 'BILL TO'],
  ['412', 'N13,csum', '', 'PURCHASE FROM'],
  ['413', 'N13,csum', '', 'SHIP FOR LOC'],
  ['414', 'N13,csum', 'dl=254|7040', 'LOC No.'],
  ['415', 'N13,csum', 'req=8020 dl=8020', 'PAY TO'],
  ['416', 'N13,csum', '', 'PROD/SERV LOC'],
  ['417', 'N13,csum', 'dl=7040', 'PARTY'],
  ['420', 'X..20', 'ex=421', 'SHIP TO POST'],
  ['421', 'N3 X..9', '', 'SHIP TO POST'],
  ['422', 'N3', 'req=01,02,8006,8026 ex=426', 'ORIGIN'],
  ['423', 'N..15,list3', 'req=01,02 ex=426', 'COUNTRY - INITIAL PROCESS'],
  ['424', 'N3', 'req=01,02 ex=426', 'COUNTRY - PROCESS'],
  ['425', 'N..15,list3', 'req=01,02 ex=426', 'COUNTRY - DISASSEMBLY'],
  ['426', 'N3', 'req=01,02', 'COUNTRY - FULL PROCESS'],
  ['427', 'X..3', 'req=01,02 req=422', 'ORIGIN SUBDIVISION'],
  ['4300-4301', 'X..35,pcenc', 'req=00', 'SHIP TO COMP/NAME'],
  ['4302', 'X..70,pcenc', 'req=00', 'SHIP TO ADD1'],
  ['4303', 'X..70,pcenc', 'req=4302', 'SHIP TO ADD2'],
  ['4304-4306', 'X..70,pcenc', 'req=00', 'SHIP TO SUB/LOC/REG'],
  ['4307', 'X2', 'req=00', 'SHIP TO COUNTRY'],
  ['4308', 'X..30', 'req=00', 'SHIP TO PHONE'],
  ['4309', 'N10,latitude N10,longitude', 'req=00', 'SHIP TO GEO'],
  ['4310-4311', 'X..35,pcenc', 'req=00', 'RTN TO COMP/NAME'],
  ['4312', 'X..70,pcenc', 'req=00', 'RTN TO ADD1'],
  ['4313', 'X..70,pcenc', 'req=4312', 'RTN TO ADD2'],
  ['4314-4316', 'X..70,pcenc', 'req=00', 'RTN TO SUB/LOC/REG'],
  ['4317', 'X2', 'req=00', 'RTN TO COUNTRY'],
  ['4318', 'X..20', 'req=00', 'RTN TO POST'],
  ['4319', 'X..30', 'req=00', 'RTN TO PHONE'],
  ['4320', 'X..35,pcenc', 'req=00', 'SRV DESCRIPTION'],
  ['4321-4323', 'N1,yesno', 'req=00', 'DANGEROUS GOODS/AUTH LEAVE/SIG REQUIRED'],
  ['4324-4325', 'N6,yymmd0 N4,hhmm', 'req=00', 'NOT BEF/AFT DEL DT'],
  ['4326', 'N6,yymmdd', 'req=00', 'REL DATE'],
  ['4330-4333', 'N6 [X1,hyphen]', 'req=00', 'MAX/MIN TEMP'],
  ['7001', 'N13', 'req=01,02,8006,8026', 'NSN'],
  ['7002', 'X..30', T, 'MEAT CUT'],
  ['7003', 'N6,yymmdd N4,hhmm', T, 'EXPIRY TIME'],
  ['7004', 'N..4', 'req=01 req=10', 'ACTIVE POTENCY'],
  ['7005', 'X..12', T, 'CATCH AREA'],
  ['7006', 'N6,yymmdd', T, 'FIRST FREEZE DATE'],
  ['7007', 'N6,yymmdd [N6,yymmdd]', T, 'HARVEST DATE'],
  ['7008', 'X..3', T, 'AQUATIC SPECIES'],
  ['7009', 'X..10', T, 'FISHING GEAR TYPE'],
  ['7010', 'X..2', T, 'PROD METHOD'],
  ['7011', 'N6,yymmdd [N4,hhmm]', T, 'TEST BY DATE'],
  ['7020', 'X..20', 'req=01,8006 req=416', 'REFURB LOT'],
  ['7021', 'X..20', 'req=01,8006', 'FUNC STAT'],
  ['7022', 'X..20', 'req=7021', 'REV STAT'],
  ['7023', 'X..30', '', 'GIAI - ASSEMBLY'],
  ['7030-7039', 'N3 X..27', T, 'PROCESSOR # s'],
  ['7040', 'N1 X1 X1 X1,importeridx', '', 'UIC+EXT'],
  ['710', 'X..20', 'req=01', 'NHRN PZN'],
  ['711', 'X..20', 'req=01', 'NHRN CIP'],
  ['712', 'X..20', 'req=01', 'NHRN CN'],
  ['713', 'X..20', 'req=01', 'NHRN DRN'],
  ['714', 'X..20', 'req=01', 'NHRN AIM'],
  ['715', 'X..20', 'req=01', 'NHRN NDC'],
  ['716', 'X..20', 'req=01', 'NHRN AIC'],
  ['717', 'X..20', 'req=01', 'NHRN SRN'],
  ['7230-7239', 'X2 X..28', 'req=01,8004', 'CERT # s'],
  ['7240', 'X..20', 'req=01,8006', 'PROTOCOL'],
  ['7241', 'N2', 'req=8017,8018', 'AIDC MEDIA TYPE'],
  ['7242', 'X..25', 'req=8017,8018', 'VCN'],
  ['7250', 'N8,yyyymmdd', '', 'DOB'],
  ['7251', 'N8,yyyymmdd N4,hhmm', '', 'DOB TIME'],
  ['7252', 'N1', '', 'BIO SEX'],
  ['7253-7254', 'X..40', '', 'FAMILY/GIVEN NAME'],
  ['7255', 'X..10', '', 'SUFFIX'],
  ['7256', 'X..90', '', 'FULL NAME'],
  ['7257', 'X..70', '', 'PERSON ADDR'],
  ['7258', 'N1 X1 N1', '', 'BIRTH SEQUENCE'],
  ['7259', 'X..40', '', 'BABY'],
  ['8001', 'N4,nonzero N5,nonzero N3,nonzero N1,winding N1', 'req=01', 'DIMENSIONS'],
  ['8002', 'X..20', '', 'CMT No.'],
  ['8003', 'N1,zero N13,csum [X..16]', 'dl', 'GRAI'],
  ['8004', 'X..30', 'dl=7040', 'GIAI'],
  ['8005', 'N6', T, 'PRICE PER UNIT'],
  ['8006', 'N14,csum N4,pieceoftotal', 'ex=01,37 dl=22,10,21', 'ITIP'],
  ['8007', 'X..34', 'req=415', 'IBAN'],
  ['8008', 'N8,yymmddhh [N..4,mmoptss]', T, 'PROD TIME'],
  ['8009', 'X..50', 'req=00,01', 'OPTSEN'],
  ['8010', 'Y..30', 'dl=8011', 'CPID'],
  ['8011', 'N..12,nozeroprefix', 'req=8010', 'CPID SERIAL'],
  ['8012', 'X..20', 'req=01,8006', 'VERSION'],
  ['8013', 'X..25,csumalpha', 'dl', 'GMN'],
  ['8017', 'N18,csum', 'ex=8018 dl=8019', 'GSRN - PROVIDER'],
  ['8018', 'N18,csum', 'dl=8019', 'GSRN - RECIPIENT'],
  ['8019', 'N..10', 'req=8017,8018', 'SRIN'],
  ['8020', 'X..25', 'req=415', 'REF No.'],
  ['8026', 'N14,csum N4,pieceoftotal', 'req=37 ex=02,8006', 'ITIP CONTENT'],
  ['8030', 'Z..90', 'req=00,01,253,255,8003,8004,8006,8010,8017,8018', 'DIGSIG'],
  ['8110', 'X..70', '', 'COUPON'],
  ['8111', 'N4', 'req=255', 'POINTS'],
  ['8112', 'X..70', '', 'COUPON'],
  ['8200', 'X..70', 'req=01', 'PRODUCT URL'],
  ['90', 'X..30', '', 'INTERNAL'],
  ['91-99', 'X..90', '', 'INTERNAL'],
];

// Measures 31nn-36nn (GenSpecs 3.6): the last digit is the implied decimal point position, 0-5 only.
const MEASURES: [family: string, rules: string, title: string][] = [
  ['310', T, 'NET WEIGHT (kg)'], ['311', T, 'LENGTH (m)'], ['312', T, 'WIDTH (m)'], ['313', T, 'HEIGHT (m)'],
  ['314', T, 'AREA (m2)'], ['315', T, 'NET VOLUME (l)'], ['316', T, 'NET VOLUME (m3)'],
  ['320', T, 'NET WEIGHT (lb)'], ['321', T, 'LENGTH (in)'], ['322', T, 'LENGTH (ft)'], ['323', T, 'LENGTH (yd)'],
  ['324', T, 'WIDTH (in)'], ['325', T, 'WIDTH (ft)'], ['326', T, 'WIDTH (yd)'], ['327', T, 'HEIGHT (in)'],
  ['328', T, 'HEIGHT (ft)'], ['329', T, 'HEIGHT (yd)'],
  ['330', L, 'GROSS WEIGHT (kg)'], ['331', L, 'LENGTH (m), log'], ['332', L, 'WIDTH (m), log'],
  ['333', L, 'HEIGHT (m), log'], ['334', L, 'AREA (m2), log'], ['335', L, 'VOLUME (l), log'],
  ['336', L, 'VOLUME (m3), log'], ['337', 'req=01', 'KG PER m2'],
  ['340', L, 'GROSS WEIGHT (lb)'], ['341', L, 'LENGTH (in), log'], ['342', L, 'LENGTH (ft), log'],
  ['343', L, 'LENGTH (yd), log'], ['344', L, 'WIDTH (in), log'], ['345', L, 'WIDTH (ft), log'],
  ['346', L, 'WIDTH (yd), log'], ['347', L, 'HEIGHT (in), log'], ['348', L, 'HEIGHT (ft), log'],
  ['349', L, 'HEIGHT (yd), log'],
  ['350', T, 'AREA (in2)'], ['351', T, 'AREA (ft2)'], ['352', T, 'AREA (yd2)'], ['353', L, 'AREA (in2), log'],
  ['354', L, 'AREA (ft2), log'], ['355', L, 'AREA (yd2), log'], ['356', T, 'NET WEIGHT (troy oz)'],
  ['357', T, 'NET VOLUME (oz)'],
  ['360', T, 'NET VOLUME (qt)'], ['361', T, 'NET VOLUME (gal.)'], ['362', L, 'VOLUME (qt), log'],
  ['363', L, 'VOLUME (gal.), log'], ['364', T, 'VOLUME (in3)'], ['365', T, 'VOLUME (ft3)'],
  ['366', T, 'VOLUME (yd3)'], ['367', L, 'VOLUME (in3), log'], ['368', L, 'VOLUME (ft3), log'],
  ['369', L, 'VOLUME (yd3), log'],
];

const KEY_LABEL: Record<string, string> = {
  '00': 'SSCC', '01': 'GTIN', '02': 'GTIN', '03': 'GTIN', '253': 'GDTI', '255': 'GCN', '402': 'GSIN',
  '8003': 'GRAI', '8006': 'GTIN', '8013': 'GMN', '8017': 'GSRN', '8018': 'GSRN', '8026': 'GTIN',
};

function parseSpec(spec: string): Component[] {
  return spec.split(' ').map((part) => {
    const optional = part.startsWith('[');
    const body = optional ? part.slice(1, -1) : part;
    const [typeLen = '', lintName] = body.split(',');
    const cs = ({ N: CS_N, X: CS_X, Y: CS_Y, Z: CS_Z } as const)[typeLen[0] as 'N' | 'X' | 'Y' | 'Z'];
    const variable = typeLen.slice(1, 3) === '..';
    const n = Number(typeLen.slice(variable ? 3 : 1));
    const lint = lintName === undefined ? L_NONE : LINTS[lintName];
    if (cs === undefined || !(n > 0) || lint === undefined) throw new Error(`bad AI spec '${spec}'`);
    return { cs, min: variable ? 1 : n, max: n, optional, lint };
  });
}

/** Size of the lookup arrays indexed by AiEntry.idx. */
export const AI_INDEX_SIZE = 11100;
/** Every AI, indexed by aiIndex(). */
const BY_INDEX: (AiEntry | null)[] = new Array<AiEntry | null>(AI_INDEX_SIZE).fill(null);
/** Lookup index of an AI given as digits ('01' -> 1, '235' -> 335, '3103' -> 4203). */
export function aiIndex(ai: string): number {
  const n = Number(ai);
  return ai.length === 2 ? n : ai.length === 3 ? 100 + n : 1100 + n;
}
/** All entries, in table order. */
export const AI_ENTRIES: AiEntry[] = [];

function add(ai: string, spec: string, rules: string, title: string): void {
  const comps = parseSpec(spec);
  let minLen = 0;
  let maxLen = 0;
  for (const c of comps) {
    if (!c.optional) minLen += c.min;
    maxLen += c.max;
  }
  const total = PREDEFINED[Number(ai.slice(0, 2))];
  const req: string[][] = [];
  const ex: string[] = [];
  let dlQualifiers: string[][] | null = null;
  for (const rule of rules.split(' ')) {
    if (rule.startsWith('req=')) req.push(rule.slice(4).split(','));
    else if (rule.startsWith('ex=')) ex.push(...rule.slice(3).split(','));
    else if (rule === 'dl') dlQualifiers = [];
    else if (rule.startsWith('dl=')) dlQualifiers = rule.slice(3).split('|').map((alt) => alt.split(','));
  }
  const only = comps.length === 1 ? comps[0] : undefined;
  let fast = FAST_NONE;
  if (only !== undefined && only.cs === CS_N && only.min === only.max &&
      (only.lint === L_NONE || only.lint === L_CSUM || only.lint === L_YYMMD0 || only.lint === L_YYMMDD)) fast = FAST_N_FIXED;
  if (only !== undefined && only.cs === CS_X && only.lint === L_NONE) fast = FAST_X_VAR;
  const measure = ai.length === 4 && ai >= '3100' && ai <= '3699';
  const entry: AiEntry = {
    ai, idx: aiIndex(ai), title, comps, minLen, maxLen,
    fixedLen: total === undefined ? -1 : total - ai.length,
    predefined: total !== undefined,
    check: comps.some((c) => c.lint === L_CSUM),
    date: comps.some((c) => c.lint === L_YYMMD0 || c.lint === L_YYMMDD || c.lint === L_YYYYMMDD || c.lint === L_YYMMDDHH),
    req, reqIdx: req.map((g) => g.map(aiIndex)), ex, exIdx: ex.map(aiIndex),
    familyIdx: measure ? [0, 1, 2, 3, 4, 5].map((d) => aiIndex(ai.slice(0, 3) + d)).filter((i) => i !== aiIndex(ai)) : [],
    dlQualifiers,
    fast,
    lint: only === undefined ? L_NONE : only.lint,
    keyLabel: ai === '00' || ai === '01' ? (KEY_LABEL[ai] ?? '') : `AI ${ai} ${KEY_LABEL[ai] ?? (ai.startsWith('41') ? 'GLN' : 'key')}`,
  };
  BY_INDEX[aiIndex(ai)] = entry;
  AI_ENTRIES.push(entry);
}

for (const [ai, spec, rules, title] of ROWS) {
  const dash = ai.indexOf('-');
  if (dash < 0) {
    add(ai, spec, rules, title);
    continue;
  }
  const from = Number(ai.slice(0, dash));
  const to = Number(ai.slice(dash + 1));
  for (let n = from; n <= to; n++) add(String(n).padStart(dash, '0'), spec, rules, title);
}
for (const [family, rules, title] of MEASURES) {
  for (let d = 0; d <= 5; d++) add(family + d, 'N6', rules, title);
}

/**
 * Entry for the AI whose digits are s[pos..pos+len), or null. The caller has checked that they are digits.
 */
export function entryAt(s: string, pos: number, len: number): AiEntry | null {
  let n = 0;
  for (let i = 0; i < len; i++) n = n * 10 + s.charCodeAt(pos + i) - 48;
  return BY_INDEX[len === 2 ? n : len === 3 ? 100 + n : 1100 + n] ?? null;
}

/** Entry for an AI given as a string ('01', '3103'), or null when it is not an AI. */
export function lookupAi(ai: string): AiEntry | null {
  const len = ai.length;
  if (len < 2 || len > 4) return null;
  for (let i = 0; i < len; i++) {
    const d = ai.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
  }
  if (AI_LEN[(ai.charCodeAt(0) - 48) * 10 + ai.charCodeAt(1) - 48] !== len) return null;
  return entryAt(ai, 0, len);
}
