/**
 * The one NATS connection of the gateway, shared by the forwarder, the status and peer consumers and the
 * query responder. The first connection is retried in the background forever (an unreachable NATS never
 * blocks the start or a decision); after that nats.js reconnects by itself (maxReconnectAttempts -1) and the
 * link tells its users when the connection goes down and comes back, so each can resynchronise.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { GatewayError } from '../../gateway/errors.js';
import { authMethod, connectionOptions, type NatsConnectConfig } from './auth.js';

export interface LinkStats {
  connected: boolean;
  /** Connections established (the first one and every reconnect). */
  connects: number;
  disconnects: number;
  /** Times the client declared the link dead after unanswered pings. */
  staleConnections: number;
  server: string | null;
  lastError: string | null;
  /** ms since the epoch of the last disconnect, null while connected. */
  downSinceMs: number | null;
}

type Listener = (nc: NatsConnection) => void;

export class NatsLink {
  private readonly cfg: NatsConnectConfig;
  private readonly name: string;
  private readonly log: Logger;
  private nc: NatsConnection | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryWake: (() => void) | null = null;
  private readonly upListeners = new Set<Listener>();
  private readonly downListeners = new Set<() => void>();
  readonly stats: LinkStats = { connected: false, connects: 0, disconnects: 0, staleConnections: 0, server: null, lastError: null, downSinceMs: Date.now() };

  constructor(cfg: NatsConnectConfig, gatewayId: string, log: Logger) {
    this.cfg = cfg;
    this.name = `scangate-${gatewayId}`;
    this.log = log;
    connectionOptions(cfg, this.name); // fail at construction on unreadable credential or TLS files
  }

  /** The connection when it is up, else null. */
  get connection(): NatsConnection | null {
    return this.stats.connected ? this.nc : null;
  }

  /** Be told each time the connection is (re-)established; called at once when it is up now. */
  onUp(l: Listener): () => void {
    this.upListeners.add(l);
    if (this.stats.connected && this.nc !== null) queueMicrotask(() => this.nc !== null && this.stats.connected && l(this.nc));
    return () => this.upListeners.delete(l);
  }

  onDown(l: () => void): () => void {
    this.downListeners.add(l);
    return () => this.downListeners.delete(l);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    while (this.running) {
      try {
        const nc = await connect(connectionOptions(this.cfg, this.name));
        if (!this.running) {
          await nc.close().catch(() => undefined);
          return;
        }
        this.nc = nc;
        void this.watch(nc);
        this.up(nc);
        this.log.info({ servers: this.cfg.servers, server: nc.getServer(), auth: authMethod(this.cfg) }, 'connected to NATS');
        return;
      } catch (err) {
        const msg = (err as Error).message;
        const auth = /authoriz|authentic|permission|tls|certificate/i.test(msg);
        const e = new GatewayError(
          auth ? 'SG_ERR_NATS_AUTH' : 'SG_ERR_NATS_UNREACHABLE',
          `cannot connect to NATS at ${this.cfg.servers.join(', ')}: ${msg}`,
          {
            cause: err,
            hint: auth
              ? 'check nats.user/password, nats.token, nats.nkeySeedFile, nats.credsFile and nats.tls.*; reads are still decided and events wait in the outbox'
              : 'set nats.servers (or SCANGATE_NATS_SERVERS) to a reachable server; reads are still decided and events wait in the outbox',
          },
        );
        if (this.stats.lastError !== e.message) this.log.warn({ code: e.code, hint: e.hint }, e.message);
        this.stats.lastError = e.message;
      }
      await new Promise<void>((resolve) => {
        this.retryWake = resolve;
        this.retryTimer = setTimeout(resolve, this.cfg.retryDelayMs);
      });
      this.retryTimer = null;
      this.retryWake = null;
    }
  }

  private up(nc: NatsConnection): void {
    this.stats.connected = true;
    this.stats.connects++;
    this.stats.server = nc.getServer();
    this.stats.downSinceMs = null;
    this.stats.lastError = null;
    for (const l of this.upListeners) l(nc);
  }

  private down(): void {
    if (!this.stats.connected) return;
    this.stats.connected = false;
    this.stats.disconnects++;
    this.stats.downSinceMs = Date.now();
    for (const l of this.downListeners) l();
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.log.warn({ server: s.server }, 'NATS disconnected; reconnecting (events wait in the outbox)');
          this.down();
          break;
        case 'staleConnection':
          this.stats.staleConnections++;
          this.log.warn({ pingIntervalMs: this.cfg.pingIntervalMs, maxPingOut: this.cfg.maxPingOut }, 'NATS link is dead (pings unanswered); reconnecting');
          this.down();
          break;
        case 'reconnect':
          this.log.info({ server: s.server }, 'NATS reconnected');
          this.up(nc);
          break;
        case 'error':
          this.stats.lastError = s.error.message;
          this.log.warn({ err: s.error.message }, 'NATS error');
          break;
        case 'ldm':
          this.log.info('NATS server is entering lame duck mode; the client will move to another server');
          break;
        default:
          break;
      }
    }
    // The iterator ends when the connection is closed for good.
    this.down();
  }

  /** Close the connection (no drain: what is unacknowledged stays in the outbox). */
  async close(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryWake?.();
    await this.loopDone;
    const nc = this.nc;
    this.nc = null;
    this.down();
    if (nc !== null) await nc.close().catch(() => undefined);
  }
}
