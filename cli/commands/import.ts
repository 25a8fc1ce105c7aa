/** `scangate import FILE`: load serials into the cache (also while the daemon runs: LMDB is multi-process). */
import { configFrom, parse } from '../args.js';
import { importFile } from '../../gateway/import/index.js';
import { Store } from '../../gateway/store.js';
import { GatewayError } from '../../gateway/errors.js';
import { STATUSES, type StatusName } from '../../gateway/reasons.js';

const USAGE = 'scangate import FILE [--status STATUS] [--expect N] [--format csv|ndjson] [--config FILE]';

export default async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { config: { type: 'string', short: 'c' }, status: { type: 'string' }, expect: { type: 'string' }, format: { type: 'string' } },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(
      `${USAGE}\n  CSV: header gtin,serial[,lot,expiry,status,parent,hold,recall,blocked] (expiry YYYY-MM-DD; --status fills empty statuses)\n` +
        '  NDJSON: one object per line; type serial|container|lot|product (see README "Import")\n',
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
  const { config } = configFrom(values.config as string | undefined);
  const store = Store.open(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  try {
    const t0 = performance.now();
    const res = await importFile(store, file, { defaultStatus: status as StatusName | undefined, expect, format: format as 'csv' | 'ndjson' | undefined });
    const ms = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ file, imported: res.records, ...res, ms: Math.round(ms), rowsPerS: Math.round(res.records / (ms / 1000)) })}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
