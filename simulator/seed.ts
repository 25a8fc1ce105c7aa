/**
 * Seeding the gateway's cache the way production does it: central publishes the serials' statuses and the
 * lots' holds and recalls on the status stream (`scangate.v1.status.{site}`, StatusUpdateBatch), and the
 * gateway's durable consumer `scangate-{gatewayId}` applies them. The simulator waits until that consumer has
 * acknowledged the last message (everything applied and durable) before the first read.
 * Or, for a gateway the simulator starts itself, an NDJSON file for `scangate import` before it starts.
 */
import { writeFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { encodeStatusUpdateBatch, type ILotUpdate, type IStatusUpdate } from '../protocol/index.js';
import { STATUS_STREAM } from './central.js';
import { NOT_SEEDED, STATUS_NAMES, type Lot, type Population } from './population.js';

/** Updates per message: ~60 bytes each, well under NATS's default 1 MB payload limit. */
const PER_MESSAGE = 4000;
/** Publishes awaiting their PubAck at once. */
const WINDOW = 16;

/** Indices of the serials to seed, in LMDB key order (GTIN, then serial bytes): sequential puts are cheap. */
function seededInKeyOrder(pop: Population): number[] {
  const idx: number[] = [];
  for (let i = 0; i < pop.size; i++) if (pop.seedStatus[i] !== NOT_SEEDED) idx.push(i);
  const key = (i: number) => pop.gtin(i) + pop.serials[i]!;
  return idx.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function flaggedLots(pop: Population): Lot[] {
  return [...pop.heldLots, ...pop.recalledLots];
}

export interface SeedResult {
  serials: number;
  lots: number;
  messages: number;
  ms: number;
}

/**
 * Publish the population on the status stream and wait until the gateway applied it.
 * @param progress called now and then with (applied messages, total).
 */
export async function seedViaStream(
  nc: NatsConnection,
  pop: Population,
  o: { site: string; gatewayId: string; timeoutMs: number; progress?: (done: number, total: number) => void },
): Promise<SeedResult> {
  const t0 = performance.now();
  const js = jetstream(nc);
  const subject = `scangate.v1.status.${o.site}`;
  const order = seededInKeyOrder(pop);
  const lots: ILotUpdate[] = flaggedLots(pop).map((l) => ({ gtin: l.gtin, lot: l.lot, onHold: l.hold, recalled: l.recall, expiry: l.expiry }));
  const total = Math.max(1, Math.ceil(order.length / PER_MESSAGE));
  let lastSeq = 0;
  const pending: Promise<unknown>[] = [];
  for (let m = 0; m < total; m++) {
    const updates: IStatusUpdate[] = [];
    for (let k = m * PER_MESSAGE; k < Math.min(order.length, (m + 1) * PER_MESSAGE); k++) {
      const i = order[k]!;
      const l = pop.lots[i]!;
      updates.push({ gtin: l.gtin, serial: pop.serials[i]!, status: pop.seedStatus[i]!, lot: l.lot, expiry: l.expiry });
    }
    const bytes = encodeStatusUpdateBatch({ site: o.site, createdMs: Date.now(), updates, lots: m === 0 ? lots : [] });
    pending.push(js.publish(subject, bytes).then((ack) => (lastSeq = Math.max(lastSeq, ack.seq))));
    if (pending.length >= WINDOW) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await waitApplied(nc, `scangate-${o.gatewayId}`, lastSeq, o.timeoutMs, (d) => o.progress?.(d, total), total);
  return { serials: order.length, lots: lots.length, messages: total, ms: Math.round(performance.now() - t0) };
}

/** Wait until the gateway's status consumer acknowledged stream sequence `seq`. */
async function waitApplied(nc: NatsConnection, consumer: string, seq: number, timeoutMs: number, progress: (done: number) => void, total: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + timeoutMs;
  let first = -1;
  let lastReport = 0;
  for (;;) {
    const info = await jsm.consumers.info(STATUS_STREAM, consumer).catch(() => null);
    const floor = info?.ack_floor.stream_seq ?? 0;
    if (floor >= seq) return;
    if (info !== null && first < 0) first = floor;
    if (Date.now() - lastReport > 1000 && first >= 0) {
      lastReport = Date.now();
      progress(Math.max(0, Math.min(total, total - (seq - floor))));
    }
    if (Date.now() > deadline) {
      throw new Error(
        info === null
          ? `the gateway's status consumer ${consumer} does not exist after ${timeoutMs} ms: is the gateway connected to this NATS, with nats.statusSync on and this gatewayId?`
          : `the gateway applied the status stream only up to ${floor} of ${seq} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** NDJSON for `scangate import`: the flagged lots, then every seeded serial. Returns the record count. */
export function writeImportFile(file: string, pop: Population): number {
  const lines: string[] = [];
  for (const l of flaggedLots(pop)) lines.push(JSON.stringify({ type: 'lot', gtin: l.gtin, lot: l.lot, hold: l.hold, recall: l.recall, expiry: l.expiry }));
  for (const i of seededInKeyOrder(pop)) {
    const l = pop.lots[i]!;
    lines.push(JSON.stringify({ gtin: l.gtin, serial: pop.serials[i], lot: l.lot, expiry: l.expiry, status: STATUS_NAMES[pop.seedStatus[i]!] }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return lines.length;
}
