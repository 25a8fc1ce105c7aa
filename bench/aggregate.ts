/**
 * Aggregation bench: an aggregate station filling containers of a given capacity (an SSCC read opens one, item
 * reads become its children), through the core pipeline with the durable outbox. Prints, per capacity, the
 * main thread's time per read and the durable rate: a container's record (its list of children) is written
 * whole at every child, so the cost per read grows with the capacity.
 * `npm run bench -- aggregate` (AGG_CAPACITIES=10,100,1000 and AGG_ITEMS=40000 to change).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Cache } from '../gateway/cache/cache.js';
import { serialKey } from '../gateway/cache/keys.js';
import { encodeRecord, newRecord } from '../gateway/cache/record.js';
import { configSchema } from '../gateway/config/index.js';
import { Outbox } from '../gateway/outbox/outbox.js';
import { gs1CheckDigit } from '../gateway/parse/index.js';
import { Pipeline } from '../gateway/pipeline.js';
import { STATUSES } from '../gateway/reasons.js';
import { StationRegistry } from '../gateway/stations.js';
import { Store } from '../gateway/store.js';

const CAPACITIES = (process.env.AGG_CAPACITIES ?? '10,100,1000').split(',').map(Number);
const ITEMS = Number(process.env.AGG_ITEMS ?? 40_000);
const log = pino({ level: 'silent' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const withCheck = (body: string) => body + gs1CheckDigit(body);
const GTIN = withCheck('0952012345678');
const sscc = (n: number) => withCheck(`0952012345${String(n).padStart(7, '0')}`);

async function fill(capacity: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-agg-'));
  const store = Store.open(dir, { groupCommitMs: 2 });
  try {
    const value = encodeRecord(newRecord(STATUSES.COMMISSIONED, 'L1', '2031-12-31'));
    await store.root.transaction(() => {
      for (let j = 0; j < ITEMS; j++) void store.serials.put(serialKey(GTIN, `S${j}`), value);
    });
    const config = configSchema.parse({
      dataDir: dir,
      site: { id: 's', lines: [{ id: 'L1', stations: [{ id: 'agg', operation: 'aggregate', capacity, duplicateReadWindowMs: 0 }] }] },
    });
    const st = new StationRegistry(config).get('L1', 'agg')!;
    const outbox = new Outbox(store, { gatewayId: 'gw', site: 's', maxEvents: 500, maxBytes: 1_000_000, maxDelayMs: 100, outboxMaxBytes: 2 ** 40, durability: 'sync' }, log);
    const pipeline = new Pipeline({ cache: new Cache(store), outbox, gatewayId: 'gw', log });
    const reads: Buffer[] = [];
    for (let j = 0, c = 1; j < ITEMS; j++) {
      if (j % capacity === 0) reads.push(Buffer.from(`]C100${sscc(c++)}`, 'latin1'));
      reads.push(Buffer.from(`]d201${GTIN}17311231\u001d10L1\u001d21S${j}`, 'latin1'));
    }
    let accepted = 0;
    const t0 = performance.now();
    const elu0 = performance.eventLoopUtilization();
    for (let i = 0; i < reads.length; i += 200) {
      const end = Math.min(i + 200, reads.length);
      for (let k = i; k < end; k++) if (pipeline.handleRead(st, reads[k]!).verdict.verdict === 'accept') accepted++;
      await new Promise((r) => setImmediate(r)); // let the write queue issue its groups and lmdb-js settle them
    }
    await outbox.flush();
    const wallMs = performance.now() - t0;
    const mainMs = performance.eventLoopUtilization(elu0).active;
    outbox.close();
    if (accepted !== reads.length) throw new Error(`capacity ${capacity}: ${reads.length - accepted} of ${reads.length} reads were refused`);
    return `capacity ${String(capacity).padStart(5)}: ${fmt(reads.length)} reads, main thread ${((mainMs * 1000) / reads.length).toFixed(1)} us/read, durable ${fmt(reads.length / (wallMs / 1000))} reads/s`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  for (const c of CAPACITIES) console.log(await fill(c));
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
