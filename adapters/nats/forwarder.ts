/**
 * Forwards sealed batches from the outbox to JetStream, in order, with a window of outstanding publishes.
 * Each batch goes out with `Nats-Msg-Id: {gatewayId}.{batchSeq}` and identical bytes on every retry, and is
 * deleted from the outbox only on its PubAck (a `duplicate` PubAck counts: the server already has it).
 * The first connection is retried forever in the background: an unreachable NATS never stops decisions.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { GatewayError, describeError } from '../../gateway/errors.js';
import type { Outbox, SealedBatch } from '../../gateway/outbox/outbox.js';
import { ensureEventsStream, eventsSubject } from './streams.js';

export interface ForwarderOptions {
  servers: readonly string[];
  gatewayId: string;
  site: string;
  eventsStream: string;
  ensureStreams: boolean;
  duplicateWindowMs: number;
  pingIntervalMs: number;
  maxPingOut: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  publishWindow: number;
  retryDelayMs: number;
}

export interface ForwarderStats {
  connected: boolean;
  published: number;
  duplicates: number;
  failures: number;
  inFlight: number;
  lastError: string | null;
}

export class Forwarder {
  private readonly outbox: Outbox;
  private readonly opts: ForwarderOptions;
  private readonly log: Logger;
  private readonly subject: string;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private unsubscribeSealed: (() => void) | null = null;
  readonly stats: ForwarderStats = { connected: false, published: 0, duplicates: 0, failures: 0, inFlight: 0, lastError: null };

  constructor(outbox: Outbox, opts: ForwarderOptions, log: Logger) {
    this.outbox = outbox;
    this.opts = opts;
    this.log = log;
    this.subject = eventsSubject(opts.site, opts.gatewayId);
  }

  /** Start in the background; resolves at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribeSealed = this.outbox.onSealed(() => this.poke());
    this.loopDone = this.loop();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async connectOnce(): Promise<boolean> {
    try {
      const nc = await connect({
        servers: [...this.opts.servers],
        name: `scangate-${this.opts.gatewayId}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: this.opts.retryDelayMs,
        pingInterval: this.opts.pingIntervalMs,
        maxPingOut: this.opts.maxPingOut,
        timeout: this.opts.connectTimeoutMs,
      });
      if (!this.running) {
        // Closed while connecting: do not leave a connection behind.
        await nc.close();
        return false;
      }
      try {
        await ensureEventsStream(nc, this.opts.eventsStream, this.opts.duplicateWindowMs, this.subject, this.opts.ensureStreams);
      } catch (err) {
        await nc.close().catch(() => undefined);
        throw err;
      }
      this.nc = nc;
      this.js = jetstream(nc, { timeout: this.opts.publishTimeoutMs });
      this.stats.connected = true;
      this.log.info({ servers: this.opts.servers, stream: this.opts.eventsStream, subject: this.subject }, 'connected to NATS');
      void this.watch(nc);
      return true;
    } catch (err) {
      const e =
        err instanceof GatewayError
          ? err
          : new GatewayError('SG_ERR_NATS_UNREACHABLE', `cannot reach NATS at ${this.opts.servers.join(', ')}: ${(err as Error).message}`, {
              cause: err,
              hint: 'set nats.servers (or SCANGATE_NATS_SERVERS) to a reachable server; reads are still decided and events wait in the outbox',
            });
      if (this.stats.lastError !== e.message) this.log.warn({ code: e.code, hint: e.hint }, e.message);
      this.stats.lastError = e.message;
      return false;
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.stats.connected = false;
        this.log.warn('NATS disconnected; batches wait in the outbox');
      } else if (s.type === 'reconnect') {
        this.stats.connected = true;
        this.log.info('NATS reconnected');
        this.poke();
      }
    }
  }

  private async loop(): Promise<void> {
    while (this.running && !(await this.connectOnce())) await this.sleep(this.opts.retryDelayMs);
    let after = 0; // highest batch seq handed to a publish in this round
    const inFlight = new Map<number, Promise<void>>();
    while (this.running) {
      // Markers are written asynchronously: read only committed ones.
      await this.outbox.committed();
      let added = false;
      for (const b of this.outbox.sealedBatches(after, this.opts.publishWindow - inFlight.size)) {
        after = b.seq;
        added = true;
        const p = this.publish(b).finally(() => inFlight.delete(b.seq));
        inFlight.set(b.seq, p);
      }
      this.stats.inFlight = inFlight.size;
      if (inFlight.size === 0 && !added) {
        await this.sleep(1000);
        continue;
      }
      if (inFlight.size >= this.opts.publishWindow || !added) await Promise.race([...inFlight.values(), this.sleep(1000)]);
    }
    await Promise.allSettled(inFlight.values());
  }

  /** Publish one batch until it is acknowledged or the forwarder stops. */
  private async publish(b: SealedBatch): Promise<void> {
    const bytes = this.outbox.batchBytes(b);
    const msgID = `${this.opts.gatewayId}.${b.seq}`;
    while (this.running) {
      const js = this.js;
      if (js === null) return;
      try {
        const ack = await js.publish(this.subject, bytes, { msgID, timeout: this.opts.publishTimeoutMs });
        if (ack.duplicate) this.stats.duplicates++;
        this.stats.published++;
        await this.outbox.ack(b);
        this.stats.lastError = null;
        return;
      } catch (err) {
        this.stats.failures++;
        const msg = describeError(err);
        if (this.stats.lastError !== msg) this.log.warn({ code: 'SG_ERR_PUBLISH', batch: b.seq }, `publish of batch ${b.seq} failed, retrying: ${msg}`);
        this.stats.lastError = msg;
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, this.opts.retryDelayMs));
      }
    }
  }

  /**
   * Try to send every sealed batch within `budgetMs`, then stop. What is not sent stays in the outbox
   * and is sent after the next start.
   */
  async drain(budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    this.unsubscribeSealed?.();
    while (this.js !== null && this.stats.connected && Date.now() < deadline) {
      const st = this.outbox.stats();
      if (st.sealedBatches === 0) break;
      this.poke();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.running = false;
    this.poke();
    await Promise.race([this.loopDone, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    await this.close();
  }

  async close(): Promise<void> {
    this.running = false;
    this.poke();
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    this.stats.connected = false;
    if (nc !== null) await nc.close().catch(() => undefined);
  }
}
