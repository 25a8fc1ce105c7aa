/**
 * The composition root: opens the store, builds the core, starts the adapters, and stops them in reverse
 * order. Signals are handled by the caller (cli/commands/start.ts), never here.
 */
import type { Logger } from 'pino';
import { createMqttAdapter, type MqttAdapter } from '../adapters/mqtt/index.js';
import type { Forwarder } from '../adapters/nats/forwarder.js';
import { Uplink } from '../adapters/nats/uplink.js';
import { HttpServer } from '../adapters/http/server.js';
import type { Config } from '../gateway/config/index.js';
import { Outbox, outboxOptions } from '../gateway/outbox/outbox.js';
import { Pipeline } from '../gateway/pipeline.js';
import { Cache } from '../gateway/cache/cache.js';
import { StationRegistry } from '../gateway/stations.js';
import { Store } from '../gateway/store.js';
import { lookupSerial } from '../gateway/lookup.js';
import { buildRegistry, withMqttMetrics, withOpcuaMetrics } from './metrics.js';
import type { OpcuaAdapter } from '../adapters/opcua/index.js';
import { describeError } from '../gateway/errors.js';
import { interruptedError, interruptedImports } from '../gateway/import/index.js';
import { DiskGuard } from '../gateway/disk-guard.js';

/** How often the daemon looks for an import's stamp (a lot hold imported counts within this long). */
const IMPORT_WATCH_MS = 1_000;

export interface Gateway {
  readonly config: Config;
  readonly store: Store;
  readonly cache: Cache;
  readonly outbox: Outbox;
  readonly pipeline: Pipeline;
  readonly forwarder: Forwarder;
  /** NATS: forwarder, status sync, peer sync, queries. */
  readonly uplink: Uplink;
  readonly mqttPort: number;
  /** The MQTT adapter (embedded broker or external client): ports, stats. */
  readonly mqtt: MqttAdapter;
  readonly httpPort: number | null;
  /** PLCs over OPC UA; null unless opcua.enabled. */
  readonly opcua: OpcuaAdapter | null;
  /** Ordered graceful shutdown within config.shutdown.timeoutMs. */
  close(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const store = Store.open(config.dataDir, { mapSizeBytes: config.cache.mapSizeBytes, groupCommitMs: config.outbox.groupCommitMs });
  const outbox = new Outbox(
    store,
    outboxOptions(config),
    log.child({ component: 'outbox' }),
  );
  // Before any adapter takes a read: a disk already low holds the first read too.
  const minFree = config.outbox.minFreeDiskBytes;
  const disk = new DiskGuard({ dir: config.dataDir, minFreeBytes: minFree }, (low, free) => outbox.setDiskLow(low, free, minFree));
  disk.start();
  const stations = new StationRegistry(config);
  const cache = new Cache(store);
  const pipeline = new Pipeline({ cache, outbox, gatewayId: config.gatewayId, log: log.child({ component: 'pipeline' }) });
  let uplink: Uplink;
  let mqtt: MqttAdapter;
  try {
    // Both read the files their config names (NATS credentials, TLS) and throw on one they cannot use.
    uplink = new Uplink(config, {
      outbox,
      cache,
      store,
      log: log.child({ component: 'nats' }),
      lookups: { serial: (gtin, serial) => lookupSerial(store, gtin, serial, cache), container: (sscc) => cache.getContainer(sscc) },
    });
    // mqtt.mode chooses the embedded broker or a client of an external broker; nothing else here depends on it.
    mqtt = createMqttAdapter(config, { pipeline, stations, outbox, store, log: log.child({ component: 'mqtt' }) });
  } catch (err) {
    disk.stop();
    outbox.close();
    await store.close();
    throw err;
  }
  const forwarder = uplink.forwarder;
  let http: HttpServer | null = null;
  let opcua: OpcuaAdapter | null = null;
  let ready = false;

  const stopAll = async () => {
    await opcua?.close().catch(() => undefined);
    await http?.close();
    await mqtt.close().catch(() => undefined);
    await uplink.close();
    disk.stop();
    outbox.close();
    await store.close();
  };

  try {
    uplink.start(); // background: an unreachable NATS never blocks the start
    await mqtt.start();
    if (config.opcua.enabled) {
      // Loaded only when used: node-opcua is large. Connects in the background and never gives up.
      const { OpcuaAdapter } = await import('../adapters/opcua/index.js');
      opcua = new OpcuaAdapter(config.opcua, {
        pipeline,
        stations,
        outbox,
        dataDir: config.dataDir,
        log: log.child({ component: 'opcua' }),
        publishVerdict: (st, v) => mqtt.ingress.publishStationVerdict(st, v),
      });
      opcua.start();
    }
    if (config.http.enabled) {
      http = new HttpServer(config.http.host, config.http.port, {
        status: () => ({
          gatewayId: config.gatewayId,
          site: config.site.id,
          ready,
          counters: pipeline.counters,
          mqtt: {
            mode: mqtt.mode,
            clients: mqtt.stats.clients,
            refusals: mqtt.stats.refusalsByReason(),
            droppedToSlowSubscribers: mqtt.stats.droppedToSlowSubscribers,
            verdictLatency: mqtt.stats.verdictLatency.summary(),
            ackLatency: mqtt.stats.ackLatency.summary(),
          },
          outbox: outbox.stats(),
          disk: { freeBytes: Number.isNaN(disk.freeBytes) ? null : disk.freeBytes, minFreeBytes: minFree, low: disk.low, lastError: disk.lastError },
          nats: forwarder.stats,
          uplink: uplink.stats(),
          ...(opcua !== null ? { opcua: opcua.status() } : {}),
        }),
        // Not ready while reads are held unacknowledged (outbox full, disk low): none gets a verdict.
        ready: () => (!ready ? 'starting or stopping' : outbox.full ? outbox.fullCode : true),
        lookup: (gtin, serial) => lookupSerial(store, gtin, serial, cache),
        registry: withOpcuaMetrics(withMqttMetrics(buildRegistry(pipeline.counters, outbox, forwarder.stats, uplink, disk), mqtt.stats), () => opcua?.status() ?? null, opcua?.decisionLatency),
        log: log.child({ component: 'http' }),
      });
      await http.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  ready = true;
  log.info({ site: config.site.id, mqttPort: mqtt.port, httpPort: http?.port ?? null }, 'scangate started');
  for (const m of interruptedImports(store)) {
    const e = interruptedError(m);
    log.warn({ code: e.code, hint: e.hint, file: m.file }, e.message);
  }
  // Lots and products imported by `scangate import` while running: holds and recalls count from the next second.
  const importWatch = setInterval(() => {
    try {
      const loaded = cache.reloadAfterImport();
      if (loaded !== null) log.info(loaded, 'lots and products loaded again after an import');
    } catch (err) {
      log.error({ err: describeError(err) }, 'lots and products could not be loaded again after an import; retrying');
    }
  }, IMPORT_WATCH_MS);
  importWatch.unref();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const t0 = Date.now();
      const budget = config.shutdown.timeoutMs;
      ready = false;
      clearInterval(importWatch);
      log.info('shutting down: no new reads');
      const stopped = Promise.all([mqtt.stopAccepting(), opcua?.stopAccepting()]);
      const inTime = await Promise.race([stopped.then(() => true), delay(budget / 3).then(() => false)]);
      if (!inTime) log.warn({ code: 'SG_ERR_SHUTDOWN_TIMEOUT' }, 'reads in flight did not settle in time; they were not acknowledged and will be redelivered');
      await outbox.flush(); // the open batch is sealed and everything written is on disk
      await opcua?.close(Math.min(1_000, budget / 5)); // decisions still queued are written, sessions closed
      await mqtt.close();
      await http?.close();
      await uplink.drain(Math.max(0, budget - (Date.now() - t0) - 300));
      const left = outbox.stats();
      disk.stop();
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
    uplink,
    mqttPort: mqtt.port,
    mqtt,
    httpPort: http?.port ?? null,
    opcua,
    close,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}


