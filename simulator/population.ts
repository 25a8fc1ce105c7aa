/**
 * The serial population of a simulated site, generated from a seed: products under the GS1 demo prefix 952
 * with valid check digits, lots and expiry dates, serials in GS1 character set 82, SSCCs for cases and
 * pallets. Everything here is computed independently of the gateway's own parser (the simulator checks the
 * gateway, so it must not borrow the gateway's code for what it checks).
 */

/** GS1 character set 82 (GS1 General Specifications 7.11, figure 7.11-1): what AI 21 and AI 10 may hold. */
export const CSET82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
export const GS = '\u001d';

/** A small, fast, seedable PRNG (sfc32); the same seed gives the same population and workload. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** GS1 check digit of a GTIN/SSCC/GLN body: weights 3,1,3,... from the rightmost digit (GS1 GenSpecs 7.9.1). */
export function checkDigit(body: string): string {
  let sum = 0;
  for (let i = body.length - 1, w = 3; i >= 0; i--, w = 4 - w) sum += (body.charCodeAt(i) - 48) * w;
  return String((10 - (sum % 10)) % 10);
}

/** A check digit that is wrong for this body (for BAD_CHECK_DIGIT reads). */
export function wrongCheckDigit(body: string): string {
  return String((Number(checkDigit(body)) + 1 + (body.charCodeAt(body.length - 1) % 8)) % 10);
}

export interface Lot {
  readonly gtin: string;
  readonly lot: string;
  /** YYYY-MM-DD */
  readonly expiry: string;
  /** YYMMDD as printed in AI 17. */
  readonly yymmdd: string;
  readonly hold: boolean;
  readonly recall: boolean;
}

export interface Product {
  readonly gtin: string;
  readonly lots: Lot[];
}

function isoOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function yymmddOf(iso: string): string {
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

/** Serial statuses as the protocol numbers them (DOMAIN.md "Status machine"). */
export const ST = { UNKNOWN: 0, ASSIGNED: 1, EXPECTED: 2, COMMISSIONED: 3, RECEIVED: 4, PACKED: 5, SHIPPED: 6 } as const;
export const STATUS_NAMES = ['UNKNOWN', 'ASSIGNED', 'EXPECTED', 'COMMISSIONED', 'RECEIVED', 'PACKED', 'SHIPPED', 'DECOMMISSIONED', 'DESTROYED', 'SAMPLED'] as const;

/** Not seeded: the gateway must not know this serial. */
export const NOT_SEEDED = 255;

/**
 * Every serial of the run, as parallel arrays (hundreds of thousands of them: no object per serial).
 * `seedStatus` is the status the cache is seeded with (NOT_SEEDED for serials the gateway must not know).
 */
export class Population {
  readonly runTag: string;
  readonly ssccTag: string;
  readonly products: Product[];
  /** The product nobody orders (GTIN_NOT_ON_ORDER reads). */
  readonly offOrder: Product;
  readonly heldLots: Lot[] = [];
  readonly recalledLots: Lot[] = [];
  /** A lot that expired (EXPIRED reads). */
  readonly expiredLots: Lot[] = [];
  serials: string[] = [];
  lots: Lot[] = [];
  seedStatus: Uint8Array = new Uint8Array(1024);
  /** `"]d2..."`: the code as a JSON string literal, built once per serial. */
  private codeJson: (string | undefined)[] = [];
  private readonly seen = new Set<string>();
  private readonly rng: Rng;
  private ssccNext = 0;

  constructor(rng: Rng, runId: number, products: number, today: Date = new Date()) {
    this.rng = rng;
    this.runTag = tagOf(runId, 4);
    this.ssccTag = String(runId % 100_000).padStart(5, '0');
    const mk = (i: number, base: Date, minDays: number, spanDays: number, nLots: number): Product => {
      const body = `0952${String(100_000 + ((runId * 7 + i * 7919) % 900_000)).padStart(6, '0')}${String(i % 1000).padStart(3, '0')}`;
      const gtin = body + checkDigit(body);
      const lots: Lot[] = [];
      for (let k = 0; k < nLots; k++) {
        const d = new Date(base.getTime() + (minDays + rng.int(spanDays)) * 86_400_000);
        const expiry = isoOf(d);
        lots.push({ gtin, lot: `L${expiry.slice(2, 4)}${rng.chars(UPPER, 4)}`, expiry, yymmdd: yymmddOf(expiry), hold: false, recall: false });
      }
      return { gtin, lots };
    };
    this.products = [];
    for (let i = 0; i < products; i++) this.products.push(mk(i, today, 400, 1400, 3));
    this.offOrder = mk(products, today, 400, 1400, 1);
    for (const p of this.products) {
      const flagged = (hold: boolean, recall: boolean, prefix: string): Lot => {
        const base = p.lots[0]!;
        return { ...base, lot: `${prefix}${rng.chars(UPPER, 5)}`, hold, recall };
      };
      this.heldLots.push(flagged(true, false, 'H'));
      this.recalledLots.push(flagged(false, true, 'R'));
      // Expired 30-400 days ago, with a real day (DD 00 is a separate policy).
      const d = new Date(today.getTime() - (30 + rng.int(370)) * 86_400_000);
      const expiry = isoOf(d);
      this.expiredLots.push({ gtin: p.gtin, lot: `X${rng.chars(UPPER, 5)}`, expiry, yymmdd: yymmddOf(expiry), hold: false, recall: false });
    }
  }

  get size(): number {
    return this.serials.length;
  }

  /** A new unique serial in `lot`, seeded with `status` (or NOT_SEEDED). Returns its index. */
  add(lot: Lot, status: number): number {
    let s: string;
    do s = this.runTag + this.rng.chars(CSET82, 7 + this.rng.int(6));
    while (this.seen.has(lot.gtin + s));
    this.seen.add(lot.gtin + s);
    const i = this.serials.length;
    this.serials.push(s);
    this.lots.push(lot);
    if (i >= this.seedStatus.length) {
      const grown = new Uint8Array(this.seedStatus.length * 2);
      grown.set(this.seedStatus);
      this.seedStatus = grown;
    }
    this.seedStatus[i] = status;
    return i;
  }

  /** A serial of one of the ordered products, in one of its normal lots. */
  addWorkflow(status: number): number {
    const p = this.products[this.rng.int(this.products.length)]!;
    return this.add(p.lots[this.rng.int(p.lots.length)]!, status);
  }

  gtin(i: number): string {
    return this.lots[i]!.gtin;
  }

  /** GS1 DataMatrix element string as a scanner with AIM ids on sends it: 01, 17, 10, GS, 21. */
  code(i: number): string {
    const l = this.lots[i]!;
    return `]d201${l.gtin}17${l.yymmdd}10${l.lot}${GS}21${this.serials[i]}`;
  }

  /** The same item printed with its AIs in another order (a reprint of the label): another code, the same serial. */
  reprint(i: number): string {
    const l = this.lots[i]!;
    return `]d201${l.gtin}21${this.serials[i]}${GS}17${l.yymmdd}10${l.lot}`;
  }

  /** The code as a JSON string literal (quotes included). */
  codeJsonOf(i: number): string {
    let c = this.codeJson[i];
    if (c === undefined) {
      c = JSON.stringify(this.code(i));
      this.codeJson[i] = c;
    }
    return c;
  }

  /** Drop the cached JSON literal of a serial that will not be read again. */
  forgetCode(i: number): void {
    this.codeJson[i] = undefined;
  }

  /** A new SSCC (extension 0, prefix 952, the run's tag, a counter) with its check digit. */
  newSscc(): string {
    const body = `0952${this.ssccTag}${String(this.ssccNext++).padStart(8, '0')}`;
    return body + checkDigit(body);
  }
}

/** Short alphanumeric tag of a number (serial prefix of a run, so runs never share a serial). */
export function tagOf(n: number, len: number): string {
  let s = '';
  let x = n >>> 0;
  for (let i = 0; i < len; i++) {
    s += ALNUM[x % ALNUM.length];
    x = Math.floor(x / ALNUM.length);
  }
  return s;
}

/**
 * Codes that no GS1 parser may accept, each MALFORMED for a different reason. `unique` (digits) makes every
 * one differ, so that none is taken for a duplicate read of another.
 */
export function malformedCode(rng: Rng, gtin: string, unique: number): string {
  const u = String(unique);
  switch (rng.int(5)) {
    case 0:
      return `]d201${u.padStart(13, '0').slice(-13)}`; // AI 01 one digit short
    case 1:
      return `]d201${gtin}21SN ${u}`; // a space is not in character set 82
    case 2:
      return `]d2XY${u}`; // no AI where one must be
    case 3:
      return `]d201${gtin}21M${u}${GS}1712`; // ends inside AI 17
    default:
      return `hello, scanner ${u}`; // not an element string at all
  }
}
