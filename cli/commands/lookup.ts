/** `scangate lookup CODE`: what the cache knows of a serial (CODE is any read the parser accepts). */
import { configFrom, parse } from '../args.js';
import { lookupContainer, lookupSerial } from '../../gateway/lookup.js';
import { parseRead } from '../../gateway/parse/index.js';
import { Store } from '../../gateway/store.js';
import { GatewayError } from '../../gateway/errors.js';

const USAGE = 'scangate lookup CODE [--config FILE]   (CODE: a read such as "(01)09520123456788(21)SN1" or "(00)095201234567890122"; <GS> stands for 0x1D)';

export default async function lookup(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new GatewayError('SG_ERR_USAGE', `give one CODE\nusage: ${USAGE}`);
  const parsed = parseRead(positionals[0]!.replaceAll('<GS>', '\u001d'));
  if (!parsed.ok) {
    process.stdout.write(`${JSON.stringify({ found: false, reason: parsed.reason, message: parsed.message })}\n`);
    return 1;
  }
  const { config } = configFrom(values.config as string | undefined);
  const store = Store.openExisting(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  try {
    if (parsed.gtin === undefined && parsed.sscc !== undefined) {
      const c = lookupContainer(store, parsed.sscc);
      process.stdout.write(`${JSON.stringify(c === undefined ? { found: false, sscc: parsed.sscc } : { found: true, ...c })}\n`);
      return c === undefined ? 1 : 0;
    }
    if (parsed.gtin === undefined || parsed.serial === undefined) {
      process.stdout.write(`${JSON.stringify({ found: false, message: 'the code needs a GTIN (01) with a serial (21), or an SSCC (00)' })}\n`);
      return 1;
    }
    const v = lookupSerial(store, parsed.gtin, parsed.serial);
    process.stdout.write(`${JSON.stringify(v === undefined ? { found: false, gtin: parsed.gtin, serial: parsed.serial } : { found: true, ...v })}\n`);
    return v === undefined ? 1 : 0;
  } finally {
    await store.close();
  }
}
