/**
 * `scangate outbox stats|list|replay`: inspect the durable outbox, or send it.
 *   stats   counts (unsent events, bytes, sealed batches, numbering, sync positions); read-only, safe while the
 *           daemon runs;
 *   list    the sealed batches with their Nats-Msg-Id (and, with --events, their events); read-only;
 *   replay  forward every unsent batch to NATS now, with the daemon's rules (same ids, same bytes, in order,
 *           exactly once), then exit: for a gateway that is being retired or cannot start. Refused while the
 *           daemon runs (SG_ERR_UPLINK_LOCKED). --dry-run says what would be sent without connecting.
 */
import { eventBytes, eventCount, forEachEvent } from '../../gateway/outbox/block.js';
import { pino } from 'pino';
import { lockUplink } from '../../adapters/nats/lock.js';
import { Uplink } from '../../adapters/nats/uplink.js';
import { Cache } from '../../gateway/cache/cache.js';
import type { Config } from '../../gateway/config/index.js';
import { GatewayError } from '../../gateway/errors.js';
import { Outbox, outboxOptions } from '../../gateway/outbox/outbox.js';
import { Store, type BatchMarker } from '../../gateway/store.js';
import { META_PEER_SEQ, META_STATUS_SEQ } from '../../gateway/sync/index.js';
import { ScanEvent, AggregationEvent } from '../../protocol/index.js';
import { configFrom, parse } from '../args.js';

const USAGE = 'scangate outbox stats|list|replay [--limit N] [--events] [--timeout-ms N] [--dry-run] [--config FILE]';

function positiveInt(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new GatewayError('SG_ERR_USAGE', `${name} takes a positive whole number`);
  return n;
}

function print(x: unknown): void {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

export default async function outbox(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      config: { type: 'string', short: 'c' },
      limit: { type: 'string' },
      events: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const sub = positionals[0] ?? 'stats';
  if (sub !== 'stats' && sub !== 'list' && sub !== 'replay') throw new GatewayError('SG_ERR_USAGE', `unknown outbox command "${sub}"\nusage: ${USAGE}`);
  const limit = positiveInt(values.limit, '--limit', 20);
  const timeoutMs = positiveInt(values['timeout-ms'], '--timeout-ms', 60_000);
  const { config } = configFrom(values.config as string | undefined);
  if (sub === 'replay' && values['dry-run'] !== true) return replay(config, timeoutMs);
  const store = Store.openExisting(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  try {
    const stats = inspect(store, config);
    if (sub === 'stats') {
      print(stats);
      return 0;
    }
    const offset = stats.batchSeqOffset;
    const batches: unknown[] = [];
    for (const { key, value } of store.batches.getRange()) {
      if (batches.length >= limit) break;
      batches.push(describeBatch(store, config, key, key + offset, value, values.events === true));
    }
    print(sub === 'list' ? { ...stats, batches } : { dryRun: true, wouldSend: { batches: stats.sealedBatches, events: stats.events, bytes: stats.bytes }, batches });
    return 0;
  } finally {
    await store.close();
  }
}

function inspect(store: Store, config: Config) {
  let events = 0;
  let bytes = 0;
  let oldest: number | null = null;
  for (const { key, value } of store.journal.getRange()) {
    oldest ??= key;
    events += eventCount(value);
    bytes += eventBytes(value);
  }
  let sealed = 0;
  let sealedEvents = 0;
  for (const { value } of store.batches.getRange()) {
    sealed++;
    sealedEvents += value.count;
  }
  const offset = (store.meta.get('batchSeqOffset') as number | undefined) ?? 0;
  return {
    gatewayId: config.gatewayId,
    events,
    bytes,
    full: bytes >= config.outbox.maxBytes,
    maxBytes: config.outbox.maxBytes,
    sealedBatches: sealed,
    unsealedEvents: events - sealedEvents,
    oldestEventSeq: oldest,
    lastBatchSeq: ((store.meta.get('batchSeq') as number | undefined) ?? 0) + offset,
    batchSeqOffset: offset,
    statusSeq: (store.meta.get(META_STATUS_SEQ) as number | undefined) ?? 0,
    peerSeq: (store.meta.get(META_PEER_SEQ) as number | undefined) ?? 0,
  };
}

function describeBatch(store: Store, config: Config, local: number, published: number, m: BatchMarker, withEvents: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { batchSeq: published, msgId: `${config.gatewayId}.${published}`, events: m.count, bytes: m.bytes, firstEventSeq: m.first, lastEventSeq: m.last, created: new Date(m.createdMs).toISOString() };
  if (local !== published) out.localSeq = local;
  if (withEvents) {
    const evs: unknown[] = [];
    const values: Buffer[] = [];
    for (const { value } of store.journal.getRange({ start: m.first, end: m.last + 1 })) forEachEvent(value, (ev) => values.push(ev));
    for (const value of values) {
      if (value[0] === 5) {
        const a = AggregationEvent.decode(value.subarray(1));
        evs.push({ kind: 'aggregation', eventId: a.eventId, parent: a.parentSscc, action: a.action, children: a.children.length });
      } else {
        const e = ScanEvent.decode(value.subarray(1));
        evs.push({ kind: 'scan', eventId: e.eventId, station: `${e.line}/${e.station}`, gtin: e.gtin || undefined, serial: e.serial || undefined, sscc: e.sscc || undefined, reason: e.reason, time: new Date(e.eventTimeMs).toISOString() });
      }
    }
    out.eventList = evs;
  }
  return out;
}

/** Forward the whole outbox, then exit: 0 when it is empty, 1 when something is left (timeout). */
async function replay(config: Config, timeoutMs: number): Promise<number> {
  const log = pino({ level: config.log.level === 'info' ? 'warn' : config.log.level }, process.stderr);
  Store.mustExist(config.dataDir);
  // Before the outbox is opened: opening it seals recovered events, which only the owner of the uplink may do.
  const release = lockUplink(config.dataDir, 'outbox replay');
  let store: Store;
  try {
    store = Store.openExisting(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  } catch (err) {
    release();
    throw err;
  }
  const outbox = new Outbox(
    store,
    outboxOptions(config),
    log,
  );
  // Only the forwarder: no cache changes, no queries, from a process that is not the gateway.
  const cfg: Config = { ...config, nats: { ...config.nats, statusSync: false, peerSync: false, query: false } };
  const uplink = new Uplink(cfg, { outbox, cache: new Cache(store), store, log, lookups: { serial: () => undefined } });
  const t0 = Date.now();
  const before = outbox.stats();
  try {
    uplink.start();
    outbox.seal(); // events recovered after a crash form the last batch
    await outbox.committed();
    const end = t0 + timeoutMs;
    while (outbox.stats().sealedBatches > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await uplink.close();
    outbox.close();
    release();
  }
  const f = uplink.forwarder.stats;
  await store.close();
  const left = { batches: outbox.stats().sealedBatches, events: outbox.stats().events };
  print({
    replayed: { batches: f.published, events: f.events, bytes: f.bytes, duplicates: f.duplicates, foundStored: f.resyncStored },
    before: { batches: before.sealedBatches, events: before.events },
    left,
    connected: uplink.link.stats.connects > 0,
    lastError: f.lastError ?? uplink.link.stats.lastError,
    ms: Date.now() - t0,
  });
  return left.batches === 0 ? 0 : 1;
}
