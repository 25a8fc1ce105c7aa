/**
 * Station control commands (DESIGN.md control topic): setOrder, openContainer, closeContainer, and the
 * aggregation repairs resetContainer and replaceItem. Every command is answered; a bad one says why.
 */
import { checkParent, closeContainer, removeChild } from './aggregate.js';
import { openContainer, unpack } from './containers.js';
import type { DecideContext } from './context.js';
import type { Draft } from './draft.js';
import { decideItem } from './item.js';
import type { ParseResult } from '../parse/index.js';
import { isValidGs1Key } from '../parse/index.js';
import { ssccOf } from '../parse/sscc.js';
import { STATUSES } from '../reasons.js';
import { transitioned } from '../cache/record.js';
import type { ReasonName } from '../reasons.js';

export interface ControlOutcome {
  ok: boolean;
  reply: Record<string, unknown>;
  /** Writes to apply when ok. */
  draft?: Draft;
}

/** Most GTINs one order may name (a station's order is kept with its state and checked at every read). */
export const MAX_ORDER_GTINS = 1000;

export const CONTROL_COMMANDS = ['setOrder', 'openContainer', 'closeContainer', 'resetContainer', 'replaceItem'] as const;

const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;

function fail(cmd: string, error: string, reason?: ReasonName): ControlOutcome {
  const reply: Record<string, unknown> = { ok: false, cmd, error };
  if (reason !== undefined) reply.reason = reason;
  return { ok: false, reply };
}

/** The command's `sscc`: 18 digits or any read of an SSCC (parse/sscc.ts); a list holds the error. */
function ssccArg(v: unknown, parse: (code: string) => ParseResult): string | string[] {
  if (typeof v !== 'string' || v === '') return ['"sscc" must be a string: the SSCC\'s 18 digits or a read of it (AI 00)'];
  const s = ssccOf(v, parse);
  return typeof s === 'string' ? s : [`"sscc": ${s.message}`];
}

export function control(ctx: DecideContext, draft: Draft, cmd: unknown, parse: (code: string) => ParseResult): ControlOutcome {
  if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd)) return fail('', 'a command is a JSON object with "cmd"');
  const c = cmd as Record<string, unknown>;
  if (typeof c.cmd !== 'string') return fail('', `"cmd" must be a string, one of ${CONTROL_COMMANDS.join(', ')}`);
  const name = c.cmd;
  const key = ctx.stationKey;
  const state = draft.stationState(key);
  switch (name) {
    case 'setOrder': {
      if (!Array.isArray(c.gtins) || !c.gtins.every((g) => typeof g === 'string')) return fail(name, '"gtins" must be a list of GTIN-14 strings ([] clears the order)');
      const gtins = [...new Set(c.gtins as string[])];
      if (gtins.length > MAX_ORDER_GTINS) return fail(name, `an order names at most ${MAX_ORDER_GTINS} GTINs (got ${gtins.length} different ones)`);
      const bad = gtins.filter((g) => !/^\d{14}$/.test(g) || !isValidGs1Key(g));
      if (bad.length > 0) return fail(name, `not valid GTIN-14: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ` and ${bad.length - 10} more` : ''}`, 'BAD_CHECK_DIGIT');
      if (c.lot !== undefined && (typeof c.lot !== 'string' || !CSET82.test(c.lot))) return fail(name, '"lot" must be 1-20 characters of GS1 character set 82');
      draft.setStation(key, { ...state, orderGtins: gtins, orderLot: (c.lot as string | undefined) ?? '' });
      return { ok: true, reply: { ok: true, cmd: name, gtins, lot: c.lot ?? null }, draft };
    }
    case 'openContainer': {
      const sscc = ssccArg(c.sscc, parse);
      if (Array.isArray(sscc)) return fail(name, sscc[0]!, 'MALFORMED');
      const cap = c.capacity ?? 0;
      if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0 || cap > 100_000) return fail(name, '"capacity" must be a whole number 0-100000');
      const d = openContainer(ctx, draft, sscc, cap || ctx.rules.capacity);
      if (d.reason !== 'OK') return fail(name, d.message ?? d.reason, d.reason);
      return { ok: true, reply: { ok: true, cmd: name, sscc, capacity: draft.getContainer(sscc)?.capacity ?? 0 }, draft };
    }
    case 'closeContainer': {
      const sscc = c.sscc === undefined ? state.open : ssccArg(c.sscc, parse);
      if (Array.isArray(sscc)) return fail(name, sscc[0]!, 'MALFORMED');
      if (sscc === '') return fail(name, 'no container is open at this station', 'PARENT_UNKNOWN');
      const rec = draft.editContainer(sscc);
      if (rec === undefined) return fail(name, `container ${sscc} is not known`, 'PARENT_UNKNOWN');
      if (rec.state === 'CLOSED') return fail(name, `container ${sscc} is already closed`, 'PARENT_CLOSED');
      closeContainer(draft, sscc, rec);
      return { ok: true, reply: { ok: true, cmd: name, sscc, children: rec.children.length }, draft };
    }
    case 'resetContainer': {
      const sscc = c.sscc === undefined ? state.open : ssccArg(c.sscc, parse);
      if (Array.isArray(sscc)) return fail(name, sscc[0]!, 'MALFORMED');
      if (sscc === '') return fail(name, 'no container is open at this station', 'PARENT_UNKNOWN');
      const n = draft.getContainer(sscc)?.children.length ?? 0;
      const d = unpack(ctx, draft, sscc);
      if (d.reason !== 'OK') return fail(name, d.message ?? d.reason, d.reason);
      return { ok: true, reply: { ok: true, cmd: name, sscc, removed: n }, draft };
    }
    case 'replaceItem': {
      if (typeof c.old !== 'string' || typeof c.new !== 'string') return fail(name, '"old" and "new" must be the codes of the two items');
      const o = parse(c.old);
      const n = parse(c.new);
      if (!o.ok) return fail(name, `old: ${o.message}`, o.reason);
      if (!n.ok) return fail(name, `new: ${n.message}`, n.reason);
      if (o.gtin === undefined || o.serial === undefined || n.gtin === undefined || n.serial === undefined) return fail(name, 'both codes need AI 01 and AI 21', 'MISSING_AI');
      const oldRec = draft.getSerial(o.gtin, o.serial);
      if (oldRec === undefined) return fail(name, `old: serial ${o.serial} is not in the cache`, 'UNKNOWN_SERIAL');
      if (oldRec.parent === '') return fail(name, `old: serial ${o.serial} is in no container`, 'PARENT_UNKNOWN');
      const newRec = draft.getSerial(n.gtin, n.serial);
      if (n.gtin !== o.gtin) return fail(name, `new GTIN ${n.gtin} differs from the old one's ${o.gtin}`, 'DATA_MISMATCH');
      const newLot = newRec?.lot || n.lot || '';
      if (newLot !== oldRec.lot) return fail(name, `new lot ${newLot} differs from the old one's ${oldRec.lot}`, 'DATA_MISMATCH');
      const parent = oldRec.parent;
      const oldRef = { kind: 'item' as const, gtin: o.gtin, serial: o.serial };
      // The replacement takes the old item's place: out first, then in through the normal item rules.
      removeChild(draft, parent, oldRef);
      draft.putSerial(o.gtin, o.serial, transitioned(oldRec, oldRec.prevStatus || STATUSES.RECEIVED, ctx.rules.opCode, ctx.stationId, ctx.nowS, { parent: '' }));
      const p = draft.editContainer(parent)!;
      const wasClosed = p.state === 'CLOSED';
      p.state = 'OPEN';
      const bad = checkParent(p, parent, 1);
      if (bad) return fail(name, bad.message, bad.reason);
      const d = decideItem({ ...ctx, rules: { ...ctx.rules, op: 'aggregate', rule: { ...ctx.rules.rule, from: new Set([STATUSES.RECEIVED, STATUSES.COMMISSIONED]) } } }, draft, { gtin: n.gtin, serial: n.serial, lot: n.lot, expiry: n.expiry }, parent);
      if (d.reason !== 'OK') return fail(name, `new: ${d.message ?? d.reason}`, d.reason);
      const after = draft.editContainer(parent)!;
      if (wasClosed) after.state = 'CLOSED';
      return { ok: true, reply: { ok: true, cmd: name, sscc: parent, removed: c.old, added: c.new }, draft };
    }
    default:
      return fail(name, `unknown command "${name}"; known: ${CONTROL_COMMANDS.join(', ')}`);
  }
}
