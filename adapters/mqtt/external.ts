/**
 * External-broker mode: scangate is an mqtt.js client of an existing broker (Mosquitto, EMQX, HiveMQ) with a
 * persistent session (`clean: false`, fixed client id), optionally in a shared subscription group
 * (`$share/{group}/...`) so that several gateways split the reads, and a retained last will `offline` on the
 * state topic. Authentication and ACLs are the broker's.
 *
 * No acknowledged read is lost: the broker keeps a QoS 1 read in our session until we PUBACK it, and we send
 * that PUBACK only when the read's event is durable. mqtt.js handles incoming packets one at a time and writes
 * the PUBACK when `handleMessage` calls back; waiting there would allow one commit per read. So handleMessage
 * calls back at once, the PUBACK mqtt.js then writes is withheld, and ours goes out when the event is durable:
 * reads keep flowing and share commits (group commit), bounded by the broker's in-flight window
 * (Mosquitto `max_inflight_messages`). A read whose PUBACK could not be sent (the connection dropped) is
 * redelivered by the broker with DUP set, and answered from the redelivery index, not decided again.
 */
import './quiet-debug.js'; // first: before mqtt.js loads
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../../gateway/config/index.js';
import { LogLimit } from '../../gateway/log-limit.js';
import { ackNow, type ConnectionRef, type Ingress, type IngressSink } from './ingress.js';
import type { MqttStats } from './stats.js';
import { externalUsesTls, loadTls } from './tls.js';
import type { TopicMap } from './topics.js';

type MqttConfig = Config['mqtt'];

interface Conn extends ConnectionRef {
  closed: boolean;
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, cbStorePut?: unknown, noStore?: boolean) => void;

export interface ExternalDeps {
  ingress: Ingress;
  topics: TopicMap;
  stats: MqttStats;
  log: Logger;
}

export class ExternalClient implements IngressSink {
  private client: MqttClient | null = null;
  private conn: Conn = { closed: true };
  private send: SendPacket | null = null;
  private readonly opts: { mqtt: MqttConfig; gatewayId: string; lines: string[] };
  private readonly ingress: Ingress;
  private readonly topics: TopicMap;
  private readonly stats: MqttStats;
  private readonly log: Logger;
  private readonly stateTopic: string;
  private readonly filters: string[];
  private pendingVerdicts = 0;
  private lastAlive = 0;
  private stopping = false;
  private everConnected = false;
  private unreachableLogged = false;
  private readonly retainedLog = new LogLimit();
  /** Resolves on the first connection (tests and tools may wait for it). */
  readonly connected: Promise<void>;
  private markConnected!: () => void;
  readonly port = 0;

  constructor(opts: { mqtt: MqttConfig; gatewayId: string; lines: string[] }, deps: ExternalDeps) {
    this.opts = opts;
    this.ingress = deps.ingress;
    this.topics = deps.topics;
    this.stats = deps.stats;
    this.log = deps.log;
    this.stateTopic = deps.topics.stateTopic(opts.gatewayId);
    const group = opts.mqtt.external.sharedGroup;
    this.filters = deps.topics.ingressFilters(opts.lines).map((f) => (group === '' ? f : `$share/${group}/${f}`));
    this.connected = new Promise((resolve) => (this.markConnected = resolve));
  }

  get clientId(): string {
    return this.opts.mqtt.external.clientId !== '' ? this.opts.mqtt.external.clientId : `scangate-${this.opts.gatewayId}`;
  }

  /** Connects in the background: an unreachable broker never blocks the start (reads wait at the broker). */
  async start(): Promise<void> {
    const x = this.opts.mqtt.external;
    const tls = externalUsesTls(x) ? loadTls(x, 'mqtt.external') : {};
    const options: IClientOptions = {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: x.keepaliveS,
      reconnectPeriod: x.reconnectPeriodMs,
      connectTimeout: x.connectTimeoutMs,
      resubscribe: false, // subscribed on every connect below
      queueQoSZero: false,
      will: { topic: this.stateTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...tls,
    };
    if (x.username !== '') options.username = x.username;
    if (x.password !== '') options.password = x.password;
    const client = mqtt.connect(x.url, options);
    this.client = client;
    const send = (client as unknown as { _sendPacket: SendPacket })._sendPacket.bind(client);
    this.send = send;
    // mqtt.js writes a PUBACK as soon as handleMessage calls back; ours go out from ack() when durable.
    (client as unknown as { _sendPacket: SendPacket })._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd === 'puback') return cb?.();
      return send(packet, cb, cbStorePut, noStore);
    };
    client.handleMessage = (packet, cb) => this.onMessage(packet, cb);
    // A resumed session's unacknowledged reads arrive right after CONNACK, before mqtt.js emits 'connect' (it
    // first resends its own stored packets): the connection is current, and its PUBACKs valid, from CONNACK on.
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack' && (packet as { returnCode?: number }).returnCode === 0) {
        this.conn = { closed: false };
        this.stats.clients = 1;
      }
    });
    client.on('connect', (connack) => this.onConnect(connack.sessionPresent));
    client.on('close', () => {
      this.conn.closed = true;
      this.stats.clients = 0;
    });
    client.on('error', (err) => this.onError(err));
    client.on('offline', () => {
      if (!this.everConnected && !this.unreachableLogged) {
        this.unreachableLogged = true;
        this.log.error({ code: 'SG_ERR_MQTT_UNREACHABLE', url: x.url }, 'the external MQTT broker cannot be reached; retrying (reads wait at the broker)');
      }
    });
  }

  private onConnect(sessionPresent: boolean): void {
    const client = this.client!;
    // PUBACKs and verdicts are small: never hold them back for Nagle (a 40 ms delayed-ACK stall otherwise).
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    const first = !this.everConnected;
    this.everConnected = true;
    this.unreachableLogged = false;
    client.subscribe(this.filters, { qos: 1 }, (err, granted) => {
      if (err) return this.log.error({ code: 'SG_ERR_MQTT_UNREACHABLE', err: err.message }, 'subscribing at the external broker failed');
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) this.log.error({ refused }, 'the external broker refused subscriptions (check its ACL for this gateway user)');
    });
    client.publish(this.stateTopic, 'online', { qos: 1, retain: true });
    this.log.info({ url: this.opts.mqtt.external.url, clientId: this.clientId, sessionPresent, filters: this.filters }, first ? 'connected to the external MQTT broker' : 'reconnected to the external MQTT broker');
    this.markConnected();
  }

  private onError(err: Error & { code?: number | string }): void {
    if (err.code === 4 || err.code === 5 || /Not authorized|Bad username/i.test(err.message)) {
      this.log.error({ code: 'SG_ERR_MQTT_UNREACHABLE', err: err.message }, 'the external MQTT broker refused the connection: check mqtt.external.username/password and its ACL');
      return;
    }
    this.log.debug({ err: err.message }, 'external MQTT client error');
  }

  private onMessage(packet: IPublishPacket, cb: (err?: Error) => void): void {
    const route = this.topics.route(packet.topic);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : (packet.payload as Buffer);
    const id = packet.messageId;
    const conn = this.conn;
    this.cork();
    // mqtt.js counts only acknowledgements and PINGRESP as signs of life; a long backlog of PUBLISHes is one too
    // (its PINGRESP may sit behind them for longer than the keepalive).
    const now = Date.now();
    if (now - this.lastAlive > 1000) {
      this.lastAlive = now;
      this.client?.reschedulePing(true);
    }
    if (route === undefined || packet.retain === true) {
      // RETAIN set on a delivery means the broker's stored copy, replayed because we subscribed (MQTT 3.1.1
      // [MQTT-3.3.1-9]: live deliveries carry RETAIN 0): a read or command sent once with the flag would be
      // decided again at every reconnect. Acknowledged, counted, logged; not decided.
      if (route !== undefined) this.retainedIgnored(packet.topic);
      if (packet.qos > 0 && id !== undefined) ackNow(conn, (err) => this.ack(conn, id, err ?? null));
    } else if (packet.qos === 0 || id === undefined) {
      this.ingress.handle(route, payload, 0, false, noop, conn);
    } else {
      this.ingress.handle(route, payload, packet.qos, packet.dup === true, (err) => this.ack(conn, id, err ?? null), conn);
    }
    cb(); // next packet at once; the PUBACK waits for the event (see ack)
  }

  private retainedIgnored(topic: string): void {
    this.stats.retainedIgnored++;
    const extra = this.retainedLog.take();
    if (extra !== null) {
      this.log.warn({ topic, ignored: this.stats.retainedIgnored, ...extra }, 'a retained read or command replayed by the broker was not decided: the sender must publish reads and commands without the retain flag (clear the retained message with an empty retained publish)');
    }
  }

  /** Write the PUBACK of one read, if its connection is still the current one. */
  private ack(conn: Conn, messageId: number, err: Error | null): void {
    if (conn.closed || conn !== this.conn) return; // the broker redelivers it on the new connection
    if (err !== null) {
      if (this.stopping) return; // left unacknowledged in the session: redelivered after the restart
      // Not stored: without a PUBACK the broker redelivers it only on a new connection, so make one.
      this.log.warn({ err: err.message }, 'a read could not be stored; reconnecting so the broker redelivers it');
      conn.closed = true;
      this.client?.stream.destroy();
      return;
    }
    // Out now, with the verdicts before it: a PUBACK still in our buffers when the event has already gone to
    // central (and left the outbox) would, after a crash, make the redelivered read look new.
    this.uncork();
    this.send!({ cmd: 'puback', messageId });
  }

  /**
   * mqtt.js handles one packet per tick and writes each reply on its own; corking the socket until the loop
   * turns makes the verdicts and PUBACKs of a burst one write instead of hundreds of system calls.
   */
  private cork(): void {
    if (this.corkedStream !== null) return;
    const stream = this.client?.stream as Partial<Socket> | undefined;
    if (stream?.cork === undefined) return;
    stream.cork();
    this.corkedStream = stream;
    setImmediate(this.uncork);
  }

  private corkedStream: Partial<Socket> | null = null;
  private readonly uncork = (): void => {
    const s = this.corkedStream;
    this.corkedStream = null;
    s?.uncork?.();
  };

  // IngressSink
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean): void {
    const client = this.client;
    // A verdict for a read is useless later: none are queued while disconnected, and the backlog is bounded.
    if (client === null || !client.connected || this.pendingVerdicts >= this.opts.mqtt.external.maxPendingVerdicts) {
      this.stats.droppedPendingVerdicts++;
      return;
    }
    if (qos === 0) {
      client.publish(topic, payload, { qos: 0, retain });
      return;
    }
    this.cork();
    this.pendingVerdicts++;
    client.publish(topic, payload, { qos: 1, retain }, () => this.pendingVerdicts--);
  }

  wants(_topic: string): boolean {
    return true;
  }

  async stopAccepting(): Promise<void> {
    this.stopping = true;
    await this.ingress.stopAccepting();
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.ingress.close();
    const client = this.client;
    this.client = null;
    if (client === null) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        client.publish(this.stateTopic, 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    // A clean DISCONNECT: the broker keeps the session (and every unacknowledged read in it) for the next start.
    // Not connected (or not answering): end at once; the session is kept all the same.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => client.end(true, {}, () => resolve()), client.connected ? 1000 : 0);
      if (client.connected) {
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      }
    });
    this.stats.clients = 0;
  }
}

function noop(): void {}
