/**
 * The composition root: opens the store, builds the core, starts the adapters, and stops them in reverse
 * order. Signals are handled by the caller (cli/commands/start.ts), never here.
 */
import type { Logger } from 'pino';
import { EmbeddedBroker } from '../adapters/mqtt/embedded.js';
import { Forwarder } from '../adapters/nats/forwarder.js';
import { HttpServer } from '../adapters/http/server.js';
import type { Config } from '../gateway/config/index.js';
import { Outbox } from '../gateway/outbox/outbox.js';
import { Pipeline } from '../gateway/pipeline.js';
import { Cache } from '../gateway/cache/cache.js';
import { StationRegistry } from '../gateway/stations.js';
import { Store } from '../gateway/store.js';
import { lookupSerial } from '../gateway/lookup.js';
import { buildRegistry } from './metrics.js';

export interface Gateway {
  readonly config: Config;
  readonly store: Store;
  readonly cache: Cache;
  readonly outbox: Outbox;
  readonly pipeline: Pipeline;
  readonly forwarder: Forwarder;
  readonly mqttPort: number;
  readonly httpPort: number | null;
  /** Ordered graceful shutdown within config.shutdown.timeoutMs. */
  close(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const store = Store.open(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes });
  const outbox = new Outbox(
    store,
    {
      gatewayId: config.gatewayId,
      site: config.site.id,
      maxEvents: config.batch.maxEvents,
      maxBytes: config.batch.maxBytes,
      maxDelayMs: config.batch.maxDelayMs,
      outboxMaxBytes: config.outbox.maxBytes,
      durability: config.outbox.durability,
    },
    log.child({ component: 'outbox' }),
  );
  const stations = new StationRegistry(config);
  const cache = new Cache(store);
  const pipeline = new Pipeline({ cache, outbox, gatewayId: config.gatewayId, log: log.child({ component: 'pipeline' }) });
  const forwarder = new Forwarder(outbox, { ...config.nats, gatewayId: config.gatewayId, site: config.site.id }, log.child({ component: 'nats' }));
  const mqtt = new EmbeddedBroker(
    { ...config.mqtt, site: config.site.id, gatewayId: config.gatewayId, prefix: config.mqtt.topicPrefix },
    { pipeline, stations, outbox, log: log.child({ component: 'mqtt' }) },
  );
  let http: HttpServer | null = null;
  let ready = false;

  const stopAll = async () => {
    await http?.close();
    await mqtt.close().catch(() => undefined);
    await forwarder.close();
    outbox.close();
    await store.close();
  };

  try {
    forwarder.start(); // background: an unreachable NATS never blocks the start
    await mqtt.start();
    if (config.http.enabled) {
      http = new HttpServer(config.http.host, config.http.port, {
        status: () => ({
          gatewayId: config.gatewayId,
          site: config.site.id,
          ready,
          counters: pipeline.counters,
          outbox: outbox.stats(),
          nats: forwarder.stats,
        }),
        ready: () => ready,
        lookup: (gtin, serial) => lookupSerial(store, gtin, serial),
        registry: buildRegistry(pipeline.counters, outbox, forwarder.stats),
        log: log.child({ component: 'http' }),
      });
      await http.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  ready = true;
  log.info({ gatewayId: config.gatewayId, site: config.site.id, mqttPort: mqtt.port, httpPort: http?.port ?? null }, 'scangate started');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const t0 = Date.now();
      const budget = config.shutdown.timeoutMs;
      ready = false;
      log.info('shutting down: no new reads');
      const stopped = mqtt.stopAccepting();
      const inTime = await Promise.race([stopped.then(() => true), delay(budget / 3).then(() => false)]);
      if (!inTime) log.warn({ code: 'SG_ERR_SHUTDOWN_TIMEOUT' }, 'reads in flight did not settle in time; they were not acknowledged and will be redelivered');
      await outbox.flush(); // the open batch is sealed and everything written is on disk
      await mqtt.close();
      await http?.close();
      await forwarder.drain(Math.max(0, budget - (Date.now() - t0) - 300));
      const left = outbox.stats();
      outbox.close();
      await store.close();
      log.info({ ms: Date.now() - t0, outbox: { events: left.events, batches: left.sealedBatches } }, 'stopped');
    })();
    return closing;
  };

  return {
    config,
    store,
    cache,
    outbox,
    pipeline,
    forwarder,
    mqttPort: mqtt.port,
    httpPort: http?.port ?? null,
    close,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}


