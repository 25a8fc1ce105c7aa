/**
 * How the workload's reads are generated: tick by tick, line by line, each pallet's worth of items through the
 * stations in turn, with injected errors after workflow reads. See workload.ts for what a read is.
 */
import { ANY_STATUS, ERROR_KINDS, Kind, REASON, type ErrorKindName } from './kinds.js';
import { NOT_SEEDED, ST, malformedCode, wrongCheckDigit, type Population, type Rng } from './population.js';
import { Role, type SiteLayout } from './site.js';
import type { Workload, WorkloadOptions } from './workload.js';

interface Step {
  kind: Kind;
  station: number;
  ref: number;
  reason: number;
  status: number;
  /** Index into the pallet's step record this step depends on, resolved to a read index when emitted. */
  depOn?: () => number;
  onEmit?: (read: number) => void;
}

/** Produces the reads, tick by tick, line by line, until the budget of reads is spent. */
export class Generator {
  private readonly w: Workload;
  private readonly o: WorkloadOptions;
  private readonly rng: Rng;
  private i = 0;
  private readonly errorKinds: { kind: Kind; name: string; weight: number }[];
  private readonly errorWeight: number;

  constructor(w: Workload, o: WorkloadOptions, rng: Rng) {
    this.w = w;
    this.o = o;
    this.rng = rng;
    this.errorKinds = Object.entries(o.errorMix)
      .filter(([, v]) => (v ?? 0) > 0)
      .map(([name, weight]) => ({ kind: ERROR_KINDS[name as ErrorKindName], name, weight: weight! }));
    this.errorWeight = this.errorKinds.reduce((s, e) => s + e.weight, 0);
    for (const e of this.errorKinds) w.errorsPlanned[e.name] = 0;
  }

  run(): number {
    const lay = this.o.layout;
    const perLine = this.w.stations.length / lay.lines;
    const roles = this.w.stations.slice(0, perLine).map((s) => s.role);
    const stages = roles.length; // one stage per station
    const lag = Math.max(1, this.o.lagTicks);
    const lines = Array.from({ length: lay.lines }, (_, l) => new LineFlow(this, l * perLine, roles, lay));
    for (let tick = 0; this.i < this.o.reads; tick++) {
      const lists: Step[][] = [];
      for (const lf of lines) {
        for (let s = 0; s < stages; s++) {
          const k = tick - s * lag;
          if (k >= 0) lists.push(lf.stage(k, s));
        }
        lf.forget(tick - stages * lag - 1);
      }
      if (!this.emitMerged(lists)) break;
    }
    return this.i;
  }

  /** Emit the lists interleaved by their relative position, so every station gets an even flow. */
  private emitMerged(lists: Step[][]): boolean {
    const items: { pos: number; step: Step }[] = [];
    for (const l of lists) for (let j = 0; j < l.length; j++) items.push({ pos: (j + 0.5) / l.length, step: l[j]! });
    items.sort((a, b) => a.pos - b.pos);
    for (const { step } of items) {
      if (!this.emit(step)) return false;
      if (this.errorWeight > 0 && this.rng.float() < this.o.errorRate / (1 - this.o.errorRate)) {
        if (!this.injectError(step)) return false;
      }
    }
    return true;
  }

  /** Append one read; false when the budget is spent. */
  emit(s: Step): boolean {
    if (this.i >= this.o.reads) return false;
    const w = this.w;
    const i = this.i++;
    w.station[i] = s.station;
    w.kind[i] = s.kind;
    w.ref[i] = s.ref;
    w.expReason[i] = s.reason;
    w.expStatus[i] = s.status;
    w.dep[i] = s.depOn ? s.depOn() : -1;
    s.onEmit?.(i);
    return true;
  }

  /** The station of `role` on the line of `station`. */
  private sameLine(station: number, role: Role): number {
    const perLine = this.w.stations.length / this.o.layout.lines;
    const base = station - (station % perLine);
    for (let j = base; j < base + perLine; j++) if (this.w.stations[j]!.role === role) return j;
    return base;
  }

  private injectError(after: Step): boolean {
    let r = this.rng.float() * this.errorWeight;
    let e = this.errorKinds[0]!;
    for (const x of this.errorKinds) {
      if ((r -= x.weight) < 0) {
        e = x;
        break;
      }
    }
    const w = this.w;
    const pop = w.population;
    const prev = this.i - 1;
    const receive = this.sameLine(after.station, Role.Receive);
    const commission = this.sameLine(after.station, Role.Commission);
    const st = (kind: Kind, station: number, ref: number, reason: number, status: number): Step => ({ kind, station, ref, reason, status });
    let ok = true;
    switch (e.kind) {
      case Kind.DuplicateRead:
      case Kind.Redelivery: {
        // The same code again at the same station (or the same message again), right after the read.
        if (after.kind === Kind.NoRead) return true;
        ok = this.emit(st(e.kind, after.station, prev, w.expReason[prev]!, ANY_STATUS));
        break;
      }
      case Kind.BadCheckDigit: {
        const p = pop.products[this.rng.int(pop.products.length)]!;
        const lot = p.lots[0]!;
        const body = p.gtin.slice(0, 13);
        const code = `]d201${body}${wrongCheckDigit(body)}17${lot.yymmdd}10${lot.lot}\u001d21${pop.runTag}BAD${this.i}`;
        ok = this.emit({ ...st(e.kind, receive, -1, REASON.BAD_CHECK_DIGIT, ANY_STATUS), onEmit: (i) => w.special.set(i, code) });
        break;
      }
      case Kind.Malformed: {
        const code = malformedCode(this.rng, pop.products[0]!.gtin, this.i);
        ok = this.emit({ ...st(e.kind, after.station, -1, REASON.MALFORMED, ANY_STATUS), onEmit: (i) => w.special.set(i, code) });
        break;
      }
      case Kind.NoRead:
        ok = this.emit({ ...st(e.kind, after.station, -1, REASON.NO_READ, ANY_STATUS), onEmit: (i) => w.special.set(i, 'NOREAD') });
        break;
      case Kind.UnknownSerial:
        ok = this.emit(st(e.kind, receive, pop.addWorkflow(NOT_SEEDED), REASON.UNKNOWN_SERIAL, ANY_STATUS));
        break;
      case Kind.WrongStatus:
        // Received before it was commissioned.
        ok = this.emit(st(e.kind, receive, pop.addWorkflow(ST.ASSIGNED), REASON.WRONG_STATUS, ST.ASSIGNED));
        break;
      case Kind.DuplicateSerial: {
        // Commissioned, then the same serial on a reprinted label: a counterfeit or reprint signal.
        const s = pop.addWorkflow(ST.ASSIGNED);
        let first = -1;
        ok = this.emit({ ...st(Kind.DuplicateSerialFirst, commission, s, REASON.OK, ST.COMMISSIONED), onEmit: (i) => (first = i) });
        if (ok) ok = this.emit({ ...st(e.kind, commission, s, REASON.DUPLICATE_SERIAL, ST.COMMISSIONED), depOn: () => first, onEmit: (i) => w.special.set(i, pop.reprint(s)) });
        break;
      }
      case Kind.Expired: {
        const lot = pop.expiredLots[this.rng.int(pop.expiredLots.length)]!;
        ok = this.emit(st(e.kind, receive, pop.add(lot, ST.COMMISSIONED), REASON.EXPIRED, ST.COMMISSIONED));
        break;
      }
      case Kind.LotOnHold: {
        const lot = pop.heldLots[this.rng.int(pop.heldLots.length)]!;
        ok = this.emit(st(e.kind, receive, pop.add(lot, ST.COMMISSIONED), REASON.LOT_ON_HOLD, ST.COMMISSIONED));
        break;
      }
      case Kind.LotRecalled: {
        const lot = pop.recalledLots[this.rng.int(pop.recalledLots.length)]!;
        ok = this.emit(st(e.kind, receive, pop.add(lot, ST.COMMISSIONED), REASON.LOT_RECALLED, ST.COMMISSIONED));
        break;
      }
      case Kind.NotOnOrder: {
        const pack = this.sameLine(after.station, Role.Pack);
        ok = this.emit(st(e.kind, pack, pop.add(pop.offOrder.lots[0]!, NOT_SEEDED), REASON.GTIN_NOT_ON_ORDER, ANY_STATUS));
        break;
      }
    }
    if (ok) w.errorsPlanned[e.name] = (w.errorsPlanned[e.name] ?? 0) + 1;
    return ok;
  }

  get population(): Population {
    return this.w.population;
  }

  newContainer(): number {
    this.w.containers.push(this.w.population.newSscc());
    return this.w.containers.length - 1;
  }
}

/** One pallet's worth of work on one line: its items, cases, pallet, and the read that did each step last. */
interface PalletWork {
  items: number[];
  cases: number[];
  pallet: number;
  /** Last read (index) of each item, by position in `items`. */
  lastRead: Int32Array;
  /** Read that closed each case (its last item's pack read). */
  caseClosed: Int32Array;
  /** Read that closed the pallet (its last case). */
  palletClosed: number;
}

class LineFlow {
  private readonly g: Generator;
  private readonly first: number;
  private readonly roles: Role[];
  private readonly lay: SiteLayout;
  private readonly pallets = new Map<number, PalletWork>();

  constructor(g: Generator, firstStation: number, roles: Role[], lay: SiteLayout) {
    this.g = g;
    this.first = firstStation;
    this.roles = roles;
    this.lay = lay;
  }

  private pallet(k: number): PalletWork {
    let p = this.pallets.get(k);
    if (p === undefined) {
      const n = this.lay.caseSize * this.lay.casesPerPallet;
      const items: number[] = [];
      for (let j = 0; j < n; j++) items.push(this.g.population.addWorkflow(ST.ASSIGNED));
      const cases: number[] = [];
      for (let c = 0; c < this.lay.casesPerPallet; c++) cases.push(this.g.newContainer());
      p = { items, cases, pallet: this.g.newContainer(), lastRead: new Int32Array(n).fill(-1), caseClosed: new Int32Array(this.lay.casesPerPallet).fill(-1), palletClosed: -1 };
      this.pallets.set(k, p);
    }
    return p;
  }

  forget(k: number): void {
    const p = this.pallets.get(k);
    if (p === undefined) return;
    for (const s of p.items) this.g.population.forgetCode(s);
    this.pallets.delete(k);
  }

  /** The reads of stage `s` (the line's s-th station) for pallet `k`. */
  stage(k: number, s: number): Step[] {
    const p = this.pallet(k);
    const station = this.first + s;
    const role = this.roles[s]!;
    const out: Step[] = [];
    const item = (kind: Kind, status: number) =>
      p.items.map((ref, j): Step => ({
        kind,
        station,
        ref,
        reason: REASON.OK,
        status,
        depOn: () => p.lastRead[j]!,
        onEmit: (i) => (p.lastRead[j] = i),
      }));
    switch (role) {
      case Role.Commission:
        return item(Kind.Commission, ST.COMMISSIONED);
      case Role.Receive:
        return item(Kind.Receive, ST.RECEIVED);
      case Role.Inspect:
        return item(Kind.Inspect, ST.RECEIVED);
      case Role.Pack: {
        const C = this.lay.caseSize;
        for (let c = 0; c < p.cases.length; c++) {
          // The case's SSCC opens it (a new container is COMMISSIONED); its C-th item closes it.
          out.push({ kind: Kind.CaseOpen, station, ref: p.cases[c]!, reason: REASON.OK, status: ST.COMMISSIONED });
          for (let j = c * C; j < (c + 1) * C; j++) {
            const last = j === (c + 1) * C - 1;
            out.push({
              kind: Kind.PackItem,
              station,
              ref: p.items[j]!,
              reason: REASON.OK,
              status: ST.PACKED,
              depOn: () => p.lastRead[j]!,
              onEmit: (i) => {
                p.lastRead[j] = i;
                if (last) p.caseClosed[c] = i;
              },
            });
          }
        }
        return out;
      }
      case Role.Palletize: {
        out.push({ kind: Kind.PalletOpen, station, ref: p.pallet, reason: REASON.OK, status: ST.COMMISSIONED });
        for (let c = 0; c < p.cases.length; c++) {
          const last = c === p.cases.length - 1;
          out.push({
            kind: Kind.CaseOnPallet,
            station,
            ref: p.cases[c]!,
            reason: REASON.OK,
            status: ST.PACKED,
            depOn: () => p.caseClosed[c]!,
            onEmit: (i) => {
              if (last) p.palletClosed = i;
            },
          });
        }
        return out;
      }
      case Role.Ship:
        return [{ kind: Kind.Ship, station, ref: p.pallet, reason: REASON.OK, status: ST.SHIPPED, depOn: () => p.palletClosed }];
    }
    return out;
  }
}
