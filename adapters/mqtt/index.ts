/**
 * The MQTT adapter: one switch (`mqtt.mode`) between the embedded broker and a client of an external broker.
 * The rest of the gateway sees only this interface.
 */
import type { Logger } from 'pino';
import type { Config } from '../../gateway/config/index.js';
import type { Outbox } from '../../gateway/outbox/outbox.js';
import type { Pipeline } from '../../gateway/pipeline.js';
import type { StationRegistry } from '../../gateway/stations.js';
import type { Store } from '../../gateway/store.js';
import { EmbeddedBroker } from './embedded.js';
import { ExternalClient } from './external.js';
import { Ingress, type IngressOptions } from './ingress.js';
import { MqttStats } from './stats.js';
import { TopicMap } from './topics.js';

export { MqttStats, REFUSAL_REASONS, type RefusalReason } from './stats.js';
export { hashPassword, verifyPassword } from './auth.js';

export interface MqttAdapter {
  readonly mode: 'embedded' | 'external';
  readonly stats: MqttStats;
  readonly ingress: Ingress;
  /** Bound ports of the embedded broker's listeners (0 when off, and always 0 in external mode). */
  readonly port: number;
  readonly tlsPort: number;
  readonly wsPort: number;
  /** External mode: resolves on the first connection to the broker; embedded: at once. */
  readonly ready: Promise<void>;
  start(): Promise<void>;
  /** Stop taking reads (they stay unacknowledged: redelivered later); wait for those in flight to be durable. */
  stopAccepting(): Promise<void>;
  close(): Promise<void>;
}

export interface MqttAdapterDeps {
  pipeline: Pipeline;
  stations: StationRegistry;
  outbox: Outbox;
  store: Store;
  log: Logger;
}

export function createMqttAdapter(config: Config, deps: MqttAdapterDeps, extra: Pick<IngressOptions, 'latencyProbe'> = {}): MqttAdapter {
  const topics = new TopicMap(deps.stations);
  const stats = new MqttStats(deps.log);
  const ingress = new Ingress({ verdictQos: config.mqtt.verdictQos, maxHoldMs: config.mqtt.maxHoldMs, ...extra }, { pipeline: deps.pipeline, topics, outbox: deps.outbox, store: deps.store, stats, log: deps.log });
  if (config.mqtt.mode === 'external') {
    const client = new ExternalClient(
      { mqtt: config.mqtt, gatewayId: config.gatewayId, lines: config.site.lines.map((l) => l.id) },
      { ingress, topics, stats, log: deps.log },
    );
    ingress.attach(client);
    return {
      mode: 'external',
      stats,
      ingress,
      port: 0,
      tlsPort: 0,
      wsPort: 0,
      ready: client.connected,
      start: () => client.start(),
      stopAccepting: () => client.stopAccepting(),
      close: () => client.close(),
    };
  }
  const broker = new EmbeddedBroker({ mqtt: config.mqtt, gatewayId: config.gatewayId }, { ingress, topics, stats, log: deps.log });
  ingress.attach(broker);
  return {
    mode: 'embedded',
    stats,
    ingress,
    get port() {
      return broker.port;
    },
    get tlsPort() {
      return broker.tlsPort;
    },
    get wsPort() {
      return broker.wsPort;
    },
    ready: Promise.resolve(),
    start: () => broker.start(),
    stopAccepting: () => broker.stopAccepting(),
    close: () => broker.close(),
  };
}
