/** `scangate import FILE`: load serials into the cache (also while the daemon runs: LMDB is multi-process). */
import { configFrom, parse } from '../args.js';
import { resolve } from 'node:path';
import { uplinkOwner } from '../../adapters/nats/lock.js';
import { importFile, interruptedError, interruptedImports } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { GatewayError, describeError } from '../../gateway/errors.js';
import { STATUSES, type StatusName } from '../../gateway/reasons.js';

const USAGE = 'scangate import FILE [--status STATUS] [--expect N] [--format csv|ndjson] [--chunk-rows N] [--config FILE]';

/** Serials per transaction while the daemon runs: it is held up for one such transaction at a time (~0.1 s). */
const DAEMON_CHUNK_ROWS = 50_000;

export default async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { config: { type: 'string', short: 'c' }, status: { type: 'string' }, expect: { type: 'string' }, format: { type: 'string' }, 'chunk-rows': { type: 'string' } },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(
      `${USAGE}\n  CSV: header gtin,serial[,lot,expiry,status,parent,hold,recall,blocked] (expiry YYYY-MM-DD; --status fills empty statuses)\n` +
        '  NDJSON: one object per line; type serial|container|lot|product (see README "Import")\n' +
        `  --chunk-rows N: serials per transaction, 0 = all in one (default: ${DAEMON_CHUNK_ROWS.toLocaleString('en-US')} while the daemon runs, else 0)\n`,
    );
    return 0;
  }
  const expect = values.expect === undefined ? undefined : Number(values.expect);
  if (expect !== undefined && (!Number.isInteger(expect) || expect < 0)) throw new GatewayError('SG_ERR_USAGE', '--expect takes a whole number');
  const format = values.format as string | undefined;
  if (format !== undefined && format !== 'csv' && format !== 'ndjson') throw new GatewayError('SG_ERR_USAGE', '--format is csv or ndjson');
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new GatewayError('SG_ERR_USAGE', `give one FILE\nusage: ${USAGE}`);
  const status = (values.status as string | undefined)?.toUpperCase();
  if (status !== undefined && !(status in STATUSES)) {
    throw new GatewayError('SG_ERR_USAGE', `--status ${status} is not one of ${Object.keys(STATUSES).join(', ')}`);
  }
  const chunkArg = values['chunk-rows'] === undefined ? undefined : Number(values['chunk-rows']);
  if (chunkArg !== undefined && (!Number.isInteger(chunkArg) || chunkArg < 0)) throw new GatewayError('SG_ERR_USAGE', '--chunk-rows takes a whole number (0: one transaction)');
  const { config } = configFrom(values.config as string | undefined);
  // LMDB has one writer at a time: a running daemon's writes (its reads' acknowledgements) wait for each of ours.
  const chunkRows = chunkArg ?? (uplinkOwner(config.dataDir) !== null ? DAEMON_CHUNK_ROWS : 0);
  const store = Store.open(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  try {
    for (const m of interruptedImports(store)) {
      if (m.file !== resolve(file)) process.stderr.write(`${describeError(interruptedError(m))}\n`);
    }
    const t0 = performance.now();
    const res = await importFile(store, file, { defaultStatus: status as StatusName | undefined, expect, format: format as 'csv' | 'ndjson' | undefined, chunkRows, minFreeDiskBytes: config.outbox.minFreeDiskBytes });
    const ms = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ file, imported: res.records, ...res, ms: Math.round(ms), rowsPerS: Math.round(res.records / (ms / 1000)) })}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
