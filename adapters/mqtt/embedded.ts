/**
 * The embedded MQTT broker (aedes) on TCP, TLS (optionally mutual) and WebSocket, with authentication, ACLs
 * and limits, feeding the shared ingress.
 *
 * No acknowledged read is lost: aedes writes the PUBACK of a QoS 1 PUBLISH when `authorizePublish` calls back,
 * *before* its `published` hook runs, so the read is handled inside authorizePublish and the callback waits
 * for the event to be durable (ingress.ts). aedes hands every packet of one socket read to its handlers at
 * once and reads on when all are done, so the reads of a burst share one LMDB commit (group commit).
 *
 * A subscriber that stops reading never slows ingest or other subscribers: a publisher's PUBLISH completes
 * without waiting for deliveries (mqemitter callbacks are decoupled and unbounded in concurrency); messages
 * for a subscriber whose socket holds more than mqtt.limits.subscriberQueueMaxBytes are dropped and counted;
 * a subscriber that does not drain within mqtt.limits.drainTimeoutMs is disconnected; a persistent session
 * keeps at most mqtt.limits.sessionQueueMaxMessages messages.
 */
import './quiet-debug.js'; // first: before aedes loads mqtt-packet
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { IndexedMemoryPersistence } from './persistence.js';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { Config } from '../../gateway/config/index.js';
import { listen } from '../net.js';
import type { Principal } from './acl.js';
import { Authenticator } from './auth.js';
import { Corker, SubscriptionTracker, boundSessionQueues, decoupleDeliveries, forwardPolicy, type Corkable } from './flow.js';
import type { Ingress, IngressSink } from './ingress.js';
import { ConnectionGuard, limitPacketSize } from './limits.js';
import type { MqttStats, RefusalReason } from './stats.js';
import { embeddedUsesTls, loadTls, verifiedCommonName, type TlsMaterial } from './tls.js';
import type { TopicMap } from './topics.js';
import { WebSocketListener } from './websocket.js';

type MqttConfig = Config['mqtt'];

/** What scangate keeps on an aedes client. */
interface Session {
  principal: Principal | null;
  /** The client sent an empty client id (the broker assigned one). */
  assignedId: boolean;
}
type SgClient = Client & { sg?: Session; conn: Socket | Duplex };

/** Errors scangate raises itself: already counted and logged, not counted again from 'clientError'. */
const COUNTED = Symbol('scangate.counted');

function refusalError(message: string): Error {
  return Object.assign(new Error(message), { [COUNTED]: true });
}

export interface EmbeddedDeps {
  ingress: Ingress;
  topics: TopicMap;
  stats: MqttStats;
  log: Logger;
}

export interface EmbeddedOptions {
  mqtt: MqttConfig;
  gatewayId: string;
}

export class EmbeddedBroker implements IngressSink {
  private broker: Aedes | null = null;
  private readonly servers: Server[] = [];
  private ws: WebSocketListener | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly opts: EmbeddedOptions;
  private readonly ingress: Ingress;
  private readonly topics: TopicMap;
  private readonly stats: MqttStats;
  private readonly log: Logger;
  private readonly auth: Authenticator;
  private readonly guard: ConnectionGuard;
  private readonly subs = new SubscriptionTracker();
  private readonly corker = new Corker();
  private readonly stateTopic: string;
  /** Ports actually bound (0 when the listener is off). */
  port = 0;
  tlsPort = 0;
  wsPort = 0;

  constructor(opts: EmbeddedOptions, deps: EmbeddedDeps) {
    this.opts = opts;
    this.ingress = deps.ingress;
    this.topics = deps.topics;
    this.stats = deps.stats;
    this.log = deps.log;
    const m = opts.mqtt;
    this.auth = new Authenticator({
      prefix: m.topicPrefix,
      site: deps.topics.site,
      users: m.users ?? [],
      allowAnonymousLoopback: m.allowAnonymousLoopback,
      anonymousRole: m.anonymousRole,
    });
    this.guard = new ConnectionGuard(m.limits);
    this.stateTopic = deps.topics.stateTopic(opts.gatewayId);
  }

  async start(): Promise<void> {
    const m = this.opts.mqtt;
    const lim = m.limits;
    const tls = embeddedUsesTls(m) ? loadTls(m.tls, 'mqtt.tls') : null;
    const broker = await Aedes.createBroker({
      id: `scangate-${this.opts.gatewayId}`,
      // 0: no limit on deliveries in progress, so a stalled subscriber never queues everyone else's messages.
      concurrency: 0,
      connectTimeout: lim.connectTimeoutMs,
      drainTimeout: lim.drainTimeoutMs,
      maxTopicLevels: lim.maxTopicLevels,
      // O(1) per delivery and PUBACK for persistent sessions (the stock in-memory one scans the session's queue).
      persistence: new IndexedMemoryPersistence() as never,
    });
    this.broker = broker;
    decoupleDeliveries(broker, this.subs);
    boundSessionQueues(broker, lim.sessionQueueMaxMessages, this.stats);

    broker.preConnect = (client, packet, done) => {
      (client as SgClient).sg = { principal: null, assignedId: packet.clientId === '' || packet.clientId === undefined };
      done(null, true);
    };
    broker.authenticate = (client, username, password, done) => this.authenticate(client as SgClient, username, password, done);
    broker.authorizePublish = (client, packet, done) => this.authorizePublish(client as SgClient | null, packet, done);
    broker.authorizeSubscribe = (client, sub, done) => this.authorizeSubscribe(client as SgClient, sub, done);
    broker.authorizeForward = forwardPolicy(lim.subscriberQueueMaxBytes, this.corker, this.stats);
    broker.on('client', () => this.stats.clients++);
    broker.on('clientDisconnect', () => (this.stats.clients = Math.max(0, this.stats.clients - 1)));
    broker.on('subscribe', (subs, client) => this.subs.add(client.id, subs));
    broker.on('unsubscribe', (topics, client) => this.subs.remove(client.id, topics));
    broker.on('clientError', (client, err) => this.onClientError(client as SgClient, err));
    broker.on('connectionError', (client, err) => this.onClientError(client as SgClient, err));

    const admit = (socket: Socket): boolean => {
      const why = this.guard.admit(socket.remoteAddress);
      if (why !== null) {
        this.stats.refuse(why, { addr: socket.remoteAddress }, why === 'max_connections' ? 'connection refused: mqtt.limits.maxConnections reached' : 'connection refused: too many connections from this address (mqtt.limits.maxConnectsPerAddressPerS)');
        return false;
      }
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.guard.release();
      });
      return true;
    };
    const handle = (stream: Socket | Duplex, req?: IncomingMessage) => {
      const client = broker.handle(stream, req);
      if (!limitPacketSize(client, lim.maxPacketBytes, (length) => this.stats.refuse('packet_too_large', { addr: addressOf(client as SgClient), length }, 'connection closed: packet larger than mqtt.limits.maxPacketBytes'))) {
        this.log.warn('the MQTT parser has an unexpected shape: mqtt.limits.maxPacketBytes is enforced on PUBLISH payloads only');
      }
    };

    if (m.tcpEnabled) {
      const server = createNetServer({ noDelay: true }, (socket) => {
        if (admit(socket)) handle(socket);
        else socket.destroy();
      });
      this.servers.push(server);
      this.port = await listen(server, m.host, m.port, 'mqtt.port', 'SCANGATE_MQTT_PORT');
    }
    if (m.tls.enabled) await this.startTls(tls!, admit, handle);
    if (m.websocket.enabled) {
      this.ws = new WebSocketListener(
        { host: m.websocket.host, port: m.websocket.port, path: m.websocket.path, maxPacketBytes: lim.maxPacketBytes, tls: m.websocket.tls ? tls : null },
        admit,
        handle,
      );
      this.wsPort = await this.ws.start();
    }
    await this.publishState('online');
    this.log.info(
      { tcp: m.tcpEnabled ? `${m.host}:${this.port}` : null, tls: m.tls.enabled ? `${m.tls.host}:${this.tlsPort}` : null, ws: m.websocket.enabled ? `${m.websocket.host}:${this.wsPort}` : null, users: this.auth.userCount },
      'embedded MQTT broker listening',
    );
    if (this.auth.userCount === 0) this.log.info('no MQTT users configured: only anonymous clients from loopback are accepted');
  }

  private async startTls(
    material: TlsMaterial,
    admit: (s: Socket) => boolean,
    handle: (s: Socket | Duplex, req?: IncomingMessage) => void,
  ): Promise<void> {
    const t = this.opts.mqtt.tls;
    const server = createTlsServer({
      ...material,
      // Mutual TLS: a certificate signed by caFile is required; otherwise one is asked for when a CA is set.
      requestCert: t.clientCertRequired || t.caFile !== '',
      rejectUnauthorized: t.clientCertRequired,
      minVersion: 'TLSv1.2',
      handshakeTimeout: this.opts.mqtt.limits.connectTimeoutMs,
    });
    server.on('connection', (raw: Socket) => {
      if (!admit(raw)) raw.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      socket.setNoDelay(true);
      handle(socket);
    });
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const cert = /CERT|certificate/i.test(`${err.code ?? ''} ${err.message}`);
      this.stats.refuse(cert ? 'certificate' : 'tls_handshake', { addr: socket.remoteAddress, err: err.code ?? err.message }, cert ? 'TLS connection refused: client certificate missing or not trusted' : 'TLS handshake failed');
    });
    this.servers.push(server as unknown as Server);
    this.tlsPort = await listen(server as unknown as Server, t.host, t.port, 'mqtt.tls.port', 'SCANGATE_MQTT_TLS_PORT');
  }

  private authenticate(
    client: SgClient,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const certificateName = verifiedCommonName(client.conn);
    this.auth
      .authenticate({
        clientId: client.id,
        assignedClientId: client.sg?.assignedId ?? false,
        username,
        password,
        remoteAddress: addressOf(client),
        certificateName,
      })
      .then(
        (res) => {
          if (res.ok) {
            client.sg = { principal: res.principal, assignedId: client.sg?.assignedId ?? false };
            return done(null, true);
          }
          this.stats.refuse(res.reason, { clientId: client.id, user: username ?? certificateName ?? null, addr: addressOf(client) }, `connection refused: ${res.message}`);
          done(Object.assign(refusalError(res.message), { returnCode: res.returnCode }), false);
        },
        (err: unknown) => {
          this.log.error({ err: (err as Error).message }, 'authentication failed');
          done(Object.assign(refusalError('server unavailable'), { returnCode: 3 }), false);
        },
      );
  }

  private authorizePublish(client: SgClient | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (client === null) return done(null); // published by the broker itself
    const principal = client.sg?.principal;
    if (principal === undefined || principal === null) return done(refusalError('not authenticated'));
    const topic = packet.topic;
    const route = this.topics.route(topic);
    if (client.closed) {
      // A will: never a read or a command, never on a gateway topic.
      if (route !== undefined || !principal.canPublish(topic)) return done(refusalError('will refused'));
      return done(null);
    }
    if (!principal.canPublish(topic)) {
      const owned = principal.isGatewayTopic(topic);
      this.stats.refuse(
        owned ? 'gateway_topic' : 'publish_denied',
        { clientId: client.id, user: principal.username, role: principal.role, topic },
        owned ? 'publish refused and client disconnected: only the gateway publishes verdicts, rejects, replies and state' : 'publish refused and client disconnected: not allowed for this role',
      );
      return done(refusalError('not authorized to publish on this topic'));
    }
    if (route === undefined) return done(null);
    // A read or a command is an event, not a state: never kept as the topic's retained message (a scanner that
    // sets the flag would have its last read replayed to every later subscriber).
    packet.retain = false;
    if (packet.payload.length > this.opts.mqtt.limits.maxPacketBytes) {
      this.stats.refuse('packet_too_large', { clientId: client.id, length: packet.payload.length }, 'connection closed: packet larger than mqtt.limits.maxPacketBytes');
      return done(refusalError('packet too large'));
    }
    if (packet.qos === 0) return this.ingress.handle(route, packet.payload as Buffer, 0, packet.dup, done, client);
    const conn = client.conn as Corkable;
    this.ingress.handle(
      route,
      packet.payload as Buffer,
      packet.qos,
      packet.dup,
      (err) => {
        // A PUBACK goes to the socket in this turn, never held back with corked verdicts: once the event is out
        // of the outbox (sent to central), a PUBACK still in our buffers at a crash would make the read look new.
        this.corker.flushNow(conn);
        done(err);
      },
      client,
    );
  }

  private authorizeSubscribe(client: SgClient, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const principal = client.sg?.principal;
    if (principal === undefined || principal === null || !principal.canSubscribe(sub.topic)) {
      this.stats.refuse('subscribe_denied', { clientId: client.id, user: principal?.username ?? null, role: principal?.role ?? null, filter: sub.topic }, 'subscription refused (SUBACK 0x80): not allowed for this role');
      return done(null, null); // [MQTT-3.9.3] return code 0x80 for this filter; the connection stays
    }
    done(null, sub);
  }

  private onClientError(client: SgClient, err: Error): void {
    if ((err as unknown as Record<symbol, unknown>)[COUNTED] === true) return;
    const msg = err.message;
    let reason: RefusalReason | null = null;
    if (msg.includes('connect did not arrive in time')) reason = 'connect_timeout';
    else if (msg.includes('drain timeout')) reason = 'slow_subscriber';
    else if (msg.includes('too many levels')) reason = 'topic_levels';
    else if (msg.includes('maxPacketBytes')) return; // counted when the length was read
    // (aedes' own refusals of a PUBLISH or SUBSCRIBE topic: wildcards where none may be, an empty topic.)
    else if (/unacceptable protocol|identifier rejected|Invalid header|Packet must not|Invalid protocol|Unknown protocol|Malformed|Client queue limit|not allowed in PUBLISH|only allowed in|to an empty topic|maxInflightInbound/i.test(msg)) reason = 'protocol';
    if (reason === null) {
      this.log.debug({ clientId: client.id, err: msg }, 'client connection error');
      return;
    }
    // aedes reports the error once per write that was waiting: count the client once.
    const flagged = client as SgClient & { sgRefused?: boolean };
    if (flagged.sgRefused === true) return;
    flagged.sgRefused = true;
    const why: Record<string, string> = {
      connect_timeout: 'connection closed: no CONNECT within mqtt.limits.connectTimeoutMs',
      slow_subscriber: 'subscriber disconnected: it did not read its messages within mqtt.limits.drainTimeoutMs',
      topic_levels: 'client disconnected: topic with more than mqtt.limits.maxTopicLevels levels',
      protocol: 'client disconnected: protocol error (err says which)',
    };
    this.stats.refuse(reason, { clientId: client.id ?? null, addr: addressOf(client), err: msg }, why[reason]!);
  }

  // IngressSink
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean): void {
    this.broker?.publish({ cmd: 'publish', topic, payload, qos, retain, dup: false } as AedesPublishPacket, noop);
  }

  wants(topic: string): boolean {
    return this.subs.wants(topic);
  }

  private publishState(state: 'online' | 'offline'): Promise<void> {
    const broker = this.broker;
    if (broker === null) return Promise.resolve();
    return new Promise((resolve) =>
      broker.publish({ cmd: 'publish', topic: this.stateTopic, payload: Buffer.from(state), qos: 1, retain: true, dup: false } as AedesPublishPacket, () => resolve()),
    );
  }

  /** Stop taking connections and reads; wait for reads in flight to become durable (and be acknowledged). */
  async stopAccepting(): Promise<void> {
    for (const s of this.servers) s.close();
    this.ws?.stopListening();
    await this.ingress.stopAccepting();
  }

  async close(): Promise<void> {
    this.ingress.close();
    await this.publishState('offline');
    const broker = this.broker;
    this.broker = null;
    if (broker !== null) await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await this.ws?.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}

function noop(): void {}

function addressOf(client: SgClient): string | undefined {
  const c = client.conn as Partial<Socket>;
  return c.remoteAddress ?? (client.req?.socket?.remoteAddress as string | undefined);
}
