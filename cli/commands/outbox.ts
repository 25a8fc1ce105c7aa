/** `scangate outbox stats|list`: inspect the durable outbox (read-only; safe while the daemon runs). */
import { configFrom, parse } from '../args.js';
import { Store } from '../../gateway/store.js';
import { GatewayError } from '../../gateway/errors.js';

const USAGE = 'scangate outbox stats|list [--limit N] [--config FILE]';

export default async function outbox(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, limit: { type: 'string' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const sub = positionals[0] ?? 'stats';
  if (sub !== 'stats' && sub !== 'list') throw new GatewayError('SG_ERR_USAGE', `unknown outbox command "${sub}"\nusage: ${USAGE}`);
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1) throw new GatewayError('SG_ERR_USAGE', '--limit takes a positive whole number');
  const { config } = configFrom(values.config as string | undefined);
  const store = Store.open(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  try {
    let events = 0;
    let bytes = 0;
    let oldest: number | null = null;
    for (const { key, value } of store.journal.getRange()) {
      oldest ??= key;
      events++;
      bytes += value.length;
    }
    const batches: unknown[] = [];
    let sealed = 0;
    for (const { key, value } of store.batches.getRange()) {
      sealed++;
      if (sub === 'list' && batches.length < limit) batches.push({ batchSeq: key, msgId: `${config.gatewayId}.${key}`, ...value, created: new Date(value.createdMs).toISOString() });
    }
    const stats = { events, bytes, sealedBatches: sealed, oldestEventSeq: oldest, lastBatchSeq: store.meta.get('batchSeq') ?? 0 };
    process.stdout.write(`${JSON.stringify(sub === 'list' ? { ...stats, batches } : stats)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
