/**
 * The workload: every read of a run, generated before the run starts, each with the verdict, reason and
 * status the gateway must give it. Reads follow the products down their lines: a pallet's worth of items is
 * commissioned, then received and inspected, packed into cases (the case's SSCC opens it, the last item closes
 * it), the cases go onto a pallet, and the pallet ships. Stage s of pallet k runs in tick k + s * lag, so a
 * serial's next step comes `lag` ticks after the previous one; a read is also never sent before the read it
 * depends on is acknowledged (its decision is durable), so its expected verdict holds whatever the load.
 * Injected errors use serials of their own, so the workflow's expectations never depend on them.
 * Memory: typed arrays, a few tens of bytes per read; payloads are built when a read is sent.
 */
import { Generator } from './flow.js';
import { Kind, type ErrorKindName } from './kinds.js';
import { Population, Rng } from './population.js';
import { siteStations, type SimStation, type SiteLayout } from './site.js';

export { ANY_STATUS, ERROR_KINDS, Kind, REASON, REASON_BY_NAME, REASON_NAMES, type ErrorKindName } from './kinds.js';

export interface WorkloadOptions {
  layout: SiteLayout;
  /** Reads in total. */
  reads: number;
  seed: number;
  runId: number;
  /** Share of injected error reads, 0..0.5. */
  errorRate: number;
  /** Relative weight of each error kind (missing: 0). */
  errorMix: Partial<Record<ErrorKindName, number>>;
  /** Ticks between two steps of one serial. */
  lagTicks: number;
  products: number;
  /** Device names start with this. */
  devicePrefix: string;
}

export class Workload {
  readonly stations: SimStation[];
  readonly population: Population;
  readonly n: number;
  readonly station: Uint16Array;
  readonly kind: Uint8Array;
  /** Serial index (item kinds), container index (SSCC kinds), or the read repeated (DuplicateRead, Redelivery). */
  readonly ref: Int32Array;
  readonly expReason: Uint8Array;
  readonly expStatus: Uint8Array;
  /** Read that must be acknowledged before this one is sent; -1 none. */
  readonly dep: Int32Array;
  /** Codes of reads that are not a serial's or container's code (malformed, bad check digit...). */
  readonly special = new Map<number, string>();
  /** SSCCs of the run's cases and pallets. */
  readonly containers: string[] = [];
  /** Reads of each station, in order. */
  readonly queues: Int32Array[];
  /** Injected error reads by kind name. */
  readonly errorsPlanned: Record<string, number> = {};
  /** GTINs on every pack station's order. */
  readonly orderGtins: string[];

  constructor(o: WorkloadOptions) {
    const rng = new Rng(o.seed);
    this.population = new Population(rng, o.runId, o.products);
    this.stations = siteStations(o.layout, o.devicePrefix);
    this.orderGtins = this.population.products.map((p) => p.gtin);
    const cap = o.reads;
    this.station = new Uint16Array(cap);
    this.kind = new Uint8Array(cap);
    this.ref = new Int32Array(cap);
    this.expReason = new Uint8Array(cap);
    this.expStatus = new Uint8Array(cap);
    this.dep = new Int32Array(cap);
    const gen = new Generator(this, o, rng);
    this.n = gen.run();
    const counts = new Int32Array(this.stations.length);
    for (let i = 0; i < this.n; i++) counts[this.station[i]!]!++;
    this.queues = this.stations.map((_, s) => new Int32Array(counts[s]!));
    const fill = new Int32Array(this.stations.length);
    for (let i = 0; i < this.n; i++) {
      const s = this.station[i]!;
      this.queues[s]![fill[s]!++] = i;
    }
  }

  /** True when the gateway must record an event for this read (not for a duplicate read). */
  expectsEvent(i: number): boolean {
    const k = this.kind[i]!;
    return k !== Kind.DuplicateRead && k !== Kind.Redelivery;
  }

  /** The read's seq in its JSON (a redelivery carries the seq of the read it repeats). */
  seqOf(i: number): number {
    return this.kind[i] === Kind.Redelivery ? this.ref[i]! + 1 : i + 1;
  }

  /** The code the scanner reads. */
  code(i: number): string {
    const k = this.kind[i]!;
    if (k === Kind.DuplicateRead || k === Kind.Redelivery) return this.code(this.ref[i]!);
    const sp = this.special.get(i);
    if (sp !== undefined) return sp;
    if (k === Kind.CaseOpen || k === Kind.PalletOpen || k === Kind.CaseOnPallet || k === Kind.Ship) return `]C100${this.containers[this.ref[i]!]}`;
    return this.population.code(this.ref[i]!);
  }

  /** The read's JSON payload, as the scanner publishes it. */
  payload(i: number): string {
    const k = this.kind[i]!;
    const src = k === Kind.DuplicateRead || k === Kind.Redelivery ? this.ref[i]! : i;
    const sk = this.kind[src]!;
    const isSerial = sk <= Kind.Inspect || sk === Kind.PackItem || sk === Kind.DuplicateSerialFirst || sk === Kind.WrongStatus || sk === Kind.UnknownSerial || sk === Kind.Expired || sk === Kind.LotOnHold || sk === Kind.LotRecalled;
    const code = isSerial && !this.special.has(src) ? this.population.codeJsonOf(this.ref[src]!) : JSON.stringify(this.code(src));
    return `{"code":${code},"seq":${this.seqOf(i)},"device":"${this.stations[this.station[i]!]!.device}"}`;
  }

  /** A read of a case's or pallet's SSCC. */
  isContainerRead(i: number): boolean {
    const k = this.kind[i]!;
    return k === Kind.CaseOpen || k === Kind.PalletOpen || k === Kind.CaseOnPallet || k === Kind.Ship;
  }

  /** Serial index an item read must name, or -1 (container reads, codes that do not parse, duplicates...). */
  serialOf(i: number): number {
    const k = this.kind[i]!;
    if (this.isContainerRead(i) || k === Kind.DuplicateRead || k === Kind.Redelivery || k === Kind.NoRead || k === Kind.NotOnOrder || k === Kind.BadCheckDigit || k === Kind.Malformed) return -1;
    return this.ref[i]!;
  }
}
