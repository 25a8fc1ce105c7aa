/**
 * The embedded MQTT broker (aedes) and the read path on it.
 * aedes sends the PUBACK of a QoS 1 PUBLISH *after* `authorizePublish` calls back and *before* its `published`
 * hook runs, so the whole read is handled inside `authorizePublish`: decide, publish the verdict at once, then
 * call back only when the event is durable in the outbox. A read that cannot be stored is never acknowledged:
 * the client is disconnected and its session redelivers the read.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { Outbox } from '../../gateway/outbox/outbox.js';
import type { Pipeline, VerdictMessage } from '../../gateway/pipeline.js';
import type { StationRegistry } from '../../gateway/stations.js';
import { isLoopback, listen } from '../net.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  prefix: string;
  site: string;
  gatewayId: string;
  verdictQos: 0 | 1;
  allowAnonymousLoopback: boolean;
}

export class EmbeddedBroker {
  private broker: Aedes | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly opts: EmbeddedBrokerOptions;
  private readonly pipeline: Pipeline;
  private readonly stations: StationRegistry;
  private readonly outbox: Outbox;
  private readonly log: Logger;
  private readonly readPrefix: string;
  private accepting = true;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Port actually bound (differs from the option when it is 0). */
  port = 0;
  readonly stateTopic: string;

  constructor(opts: EmbeddedBrokerOptions, deps: { pipeline: Pipeline; stations: StationRegistry; outbox: Outbox; log: Logger }) {
    this.opts = opts;
    this.pipeline = deps.pipeline;
    this.stations = deps.stations;
    this.outbox = deps.outbox;
    this.log = deps.log;
    this.readPrefix = `${opts.prefix}/`;
    this.stateTopic = `${opts.prefix}/${opts.site}/gateway/${opts.gatewayId}/state`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker({ id: `scangate-${this.opts.gatewayId}`, drainTimeout: 10_000, maxTopicLevels: 16 });
    this.broker = broker;
    broker.authenticate = (client, username, _password, done) => {
      const addr = (client.conn as Socket | undefined)?.remoteAddress;
      if (username === undefined && this.opts.allowAnonymousLoopback && isLoopback(addr)) return done(null, true);
      this.log.warn({ clientId: client.id, addr }, 'connection refused: anonymous access is only allowed from loopback');
      const err = Object.assign(new Error('not authorized'), { returnCode: 5 });
      done(err as Parameters<typeof done>[0], false);
    };
    broker.authorizePublish = (client, packet, done) => this.onPublish(client, packet, done);
    broker.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client error'));

    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    this.server = server;
    this.port = await listen(server, this.opts.host, this.opts.port, 'mqtt.port', 'SCANGATE_MQTT_PORT');
    await this.publishState('online');
    this.log.info({ host: this.opts.host, port: this.port }, 'embedded MQTT broker listening');
  }

  private onPublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const topic = packet.topic;
    if (client === null) return done(null); // a will published by the broker itself
    if (topic.startsWith('$SYS/')) return done(new Error('$SYS topics are reserved'));
    if (!topic.startsWith(this.readPrefix)) return done(null);
    const parts = topic.slice(this.readPrefix.length).split('/');
    // {site}/{line}/{station}/read
    if (parts.length === 4 && parts[3] === 'read') return this.onRead(parts[0]!, parts[1]!, parts[2]!, packet, done);
    const last = parts[parts.length - 1];
    if (last === 'verdict' || last === 'reject' || (parts[1] === 'gateway' && last === 'state')) {
      // Only the gateway publishes verdicts and state; a client that tries is disconnected.
      this.log.warn({ clientId: client.id, topic }, 'publish refused: only the gateway publishes verdicts and state');
      return done(new Error('only the gateway publishes on this topic'));
    }
    done(null);
  }

  private onRead(site: string, line: string, station: string, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (!this.accepting) return done(new Error('gateway is shutting down')); // not acknowledged: redelivered later
    const st = site === this.opts.site ? this.stations.get(line, station) : undefined;
    if (st === undefined) {
      const base = `${this.readPrefix}${site}/${line}/${station}`;
      this.publishVerdictTo(`${base}/verdict`, `${base}/reject`, this.pipeline.unauthorized(line, station));
      return done(null);
    }
    if (this.outbox.full) {
      // Decide nothing we cannot record: hold the read (no PUBACK) until the outbox has room.
      this.pipeline.counters.readsHeldOutboxFull++;
      this.inFlight++;
      void this.outbox.whenNotFull().then(() => {
        this.settle();
        this.onRead(site, line, station, packet, done);
      });
      return;
    }
    const out = this.pipeline.handleRead(st, packet.payload as Buffer);
    this.publishVerdictTo(st.verdictTopic, st.rejectTopic, out.verdict);
    if (out.durable === null || packet.qos === 0) return done(null);
    this.inFlight++;
    out.durable.then(
      () => {
        this.settle();
        done(null);
      },
      (err: unknown) => {
        this.settle();
        this.pipeline.counters.storeErrors++;
        this.log.error({ code: 'SG_ERR_STORE', err: (err as Error).message }, 'event could not be stored; read not acknowledged');
        done(new Error('event could not be stored'));
      },
    );
  }

  private settle(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  private publishVerdictTo(verdictTopic: string, rejectTopic: string, v: VerdictMessage): void {
    const broker = this.broker;
    if (broker === null) return;
    const payload = Buffer.from(JSON.stringify(v));
    const qos = this.opts.verdictQos;
    broker.publish(verdictPacket(verdictTopic, payload, qos), noop);
    if (v.verdict === 'reject') broker.publish(verdictPacket(rejectTopic, payload, qos), noop);
  }

  private publishState(state: 'online' | 'offline'): Promise<void> {
    const broker = this.broker;
    if (broker === null) return Promise.resolve();
    return new Promise((resolve) => broker.publish({ ...verdictPacket(this.stateTopic, Buffer.from(state), 1), retain: true }, () => resolve()));
  }

  /** Stop taking reads and connections; wait for reads in flight to become durable (and be acknowledged). */
  async stopAccepting(): Promise<void> {
    this.accepting = false;
    this.server?.close();
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.accepting = false;
    await this.publishState('offline');
    const broker = this.broker;
    this.broker = null;
    if (broker !== null) await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function noop(): void {}

function verdictPacket(topic: string, payload: Buffer, qos: 0 | 1): AedesPublishPacket {
  return { cmd: 'publish', topic, payload, qos, retain: false, dup: false } as AedesPublishPacket;
}
