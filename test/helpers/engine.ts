/** The core on a real LMDB in a temp dir, driven through the pipeline exactly as the MQTT adapter drives it. */
import { Cache } from '../../gateway/cache/cache.js';
import { newRecord, type SerialRecord } from '../../gateway/cache/record.js';
import { configSchema, type ConfigInput } from '../../gateway/config/index.js';
import { Outbox } from '../../gateway/outbox/outbox.js';
import { Pipeline, type VerdictMessage } from '../../gateway/pipeline.js';
import { STATUSES, type StatusName } from '../../gateway/reasons.js';
import { StationRegistry, type StationContext } from '../../gateway/stations.js';
import { Store } from '../../gateway/store.js';
import { silentLog, tempDir } from './gateway.js';

type StationInput = NonNullable<NonNullable<NonNullable<ConfigInput['site']>['lines']>[number]['stations']>[number];

export interface Harness {
  store: Store;
  cache: Cache;
  outbox: Outbox;
  pipeline: Pipeline;
  /** A station of line L1, by id. */
  station(id: string): StationContext;
  read(station: string, code: string | object): VerdictMessage;
  /** Read and wait until its writes are committed. */
  readSettled(station: string, code: string | object): Promise<VerdictMessage>;
  control(station: string, cmd: object): Record<string, unknown>;
  seed(gtin: string, serial: string, status: StatusName, extra?: Partial<SerialRecord> & { expiry?: string }): void;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export function engineHarness(stations: StationInput[], nowMs = () => Date.now()): Harness {
  const tmp = tempDir('sg-engine-');
  const config = configSchema.parse({
    gatewayId: 'gw',
    dataDir: tmp.dir,
    site: { id: 's', lines: [{ id: 'L1', stations: stations.map((s) => ({ duplicateReadWindowMs: 0, ...s })) }] },
  });
  const store = Store.open(tmp.dir);
  const cache = new Cache(store);
  const outbox = new Outbox(store, { gatewayId: 'gw', site: 's', maxEvents: 500, maxBytes: 1_000_000, maxDelayMs: 50, outboxMaxBytes: 1e9, durability: 'commit' }, silentLog);
  const pipeline = new Pipeline({ cache, outbox, gatewayId: 'gw', log: silentLog, now: nowMs });
  const registry = new StationRegistry(config);
  const st = (id: string) => {
    const s = registry.get('L1', id);
    if (s === undefined) throw new Error(`no station ${id}`);
    return s;
  };
  const payload = (code: string | object) => Buffer.from(typeof code === 'string' ? code : JSON.stringify(code), typeof code === 'string' ? 'latin1' : 'utf8');
  return {
    store,
    cache,
    outbox,
    pipeline,
    station: st,
    read: (station, code) => pipeline.handleRead(st(station), payload(code)).verdict,
    async readSettled(station, code) {
      const out = pipeline.handleRead(st(station), payload(code));
      await out.durable;
      return out.verdict;
    },
    control: (station, cmd) => pipeline.control(st(station), cmd).reply,
    seed(gtin, serial, status, extra = {}) {
      const rec = { ...newRecord(STATUSES[status], extra.lot ?? 'L1', extra.expiry ?? '2031-12-31'), ...extra };
      void cache.putSerial(gtin, serial, rec);
    },
    settle: () => outbox.settled(),
    async close() {
      outbox.close();
      await store.close();
      tmp.dispose();
    },
  };
}
