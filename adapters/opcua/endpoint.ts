/**
 * One PLC: one client session, one subscription holding every reader's monitored items, and the decision
 * writer. It connects forever and keeps the readers served through anything the PLC does:
 *
 * - a broken connection is repaired by node-opcua (maxRetry -1 once connected): a new secure channel, the same
 *   session when it still lives (Republish replays what was queued meanwhile, so nothing is lost), else a new
 *   session onto which the subscription is transferred or recreated;
 * - after every repair, and every few seconds, the gateway checks by itself that the subscription answers and
 *   that every monitored item exists on the PLC (Server.GetMonitoredItems); if not, it recreates the
 *   subscription, and if even that fails it starts again from a new connection;
 * - a silent subscription is probed with a read before anything is torn down: a PLC too busy to answer a
 *   keep-alive is not a dead session, and only the PLC saying the session is gone (or a silence longer than the
 *   session timeout) makes the gateway open a new one;
 * - a PLC restart (a new ServerStatus.StartTime) tells every reader that its sequence may start again;
 * - a reader whose node the PLC deleted (a program download) is bound again, alone, once its node is back.
 */
import type { Logger } from 'pino';
import {
  AttributeIds,
  DataTypeExtractStrategy,
  OPCUAClient,
  resolveNodeId,
  type ClientSession,
  type OPCUACertificateManager,
} from 'node-opcua';
import type { OpcuaConfig, OpcuaEndpointConfig } from '../../gateway/config/opcua-schema.js';
import { GatewayError, type ErrorCode } from '../../gateway/errors.js';
import { bindReader, prewarmAutoIdTypes, sameUsedNamespaces } from './binding.js';
import type { ReaderRuntime } from './reader.js';
import { Rebinder } from './rebind.js';
import { CONNECT_HINTS, MODE, POLICY, certificateManager, classifyConnectError, userIdentity } from './security.js';
import { PlcSubscription } from './subscription.js';
import { withTimeout } from './util.js';
import { DecisionWriter } from './writer.js';
import type { LatencyHistogram } from '../../gateway/latency.js';

/** Server_ServerStatus_StartTime, Server_ServerStatus_State (Part 5 / Part 6 NodeIds). */
const SERVER_START_TIME = 'i=2257';
const SERVER_STATE = 'i=2259';
/** Seconds between health checks, and the deeper check of the items on the PLC. */
const HEALTH_MS = 1_000;
const VERIFY_ITEMS_MS = 10_000;
/**
 * node-opcua's repair of a broken connection is left to it this long at least (3 x reconnectMaxDelayMs when
 * longer); then, or at once when a repair attempt fails for a reason a repair cannot fix (a new PLC certificate, a
 * refused user, another security setting), the gateway connects anew on its own, paced and with coded errors:
 * such a repair retried without pause (dozens of handshakes a second) and never took a certificate trusted since.
 */
const REPAIR_MIN_MS = 20_000;
const UNREPAIRABLE = new Set<string>(['SG_ERR_OPCUA_CERT_UNTRUSTED', 'SG_ERR_OPCUA_AUTH', 'SG_ERR_OPCUA_SECURITY']);

export type EndpointState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface EndpointStats {
  state: EndpointState;
  /** Sessions opened from scratch (the first included). */
  connects: number;
  /** Connection breaks repaired (node-opcua repair or a new session). */
  reconnects: number;
  /** Time from the break to the readers being served again, last one, in ms. */
  lastReconnectMs: number | null;
  /** Subscriptions the gateway recreated after finding them gone. */
  subscriptionRebuilds: number;
  /** Silent subscriptions whose session still answered (a busy or slow PLC, not a dead session). */
  keepAliveProblems: number;
  /** PLC restarts seen (ServerStatus.StartTime changed). */
  serverRestarts: number;
  connectedSinceMs: number | null;
  downSinceMs: number | null;
  lastError: { code: string; message: string; atMs: number } | null;
  /** Revised by the PLC. */
  publishingIntervalMs: number | null;
}

export interface EndpointOptions {
  cfg: OpcuaEndpointConfig;
  global: OpcuaConfig;
  pkiDir: string;
  readers: ReaderRuntime[];
  log: Logger;
  /** Where every endpoint records its decisions' time to the PLC's confirmation (ms). */
  decisionLatency?: LatencyHistogram;
}

export class Endpoint {
  readonly cfg: OpcuaEndpointConfig;
  readonly readers: ReaderRuntime[];
  readonly writer: DecisionWriter;
  readonly stats: EndpointStats = {
    state: 'connecting',
    connects: 0,
    reconnects: 0,
    lastReconnectMs: null,
    subscriptionRebuilds: 0,
    keepAliveProblems: 0,
    serverRestarts: 0,
    connectedSinceMs: null,
    downSinceMs: null,
    lastError: null,
    publishingIntervalMs: null,
  };
  private readonly global: OpcuaConfig;
  private readonly pkiDir: string;
  private readonly log: Logger;
  private client: OPCUAClient | null = null;
  private session: ClientSession | null = null;
  /** The subscription and its monitored items (read by tests). */
  readonly subs: PlcSubscription;
  private cm: OPCUACertificateManager | null = null;
  private closing = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private serverStartTimeMs: number | undefined;
  private namespaces: string[] = [];
  /** Set when the PLC renumbered its namespaces: the resolved node ids are stale, start from scratch. */
  private stale = false;
  private rebuilding = false;
  /** Codes already logged in the current outage (log once, not per attempt). */
  private logged = new Set<string>();
  /** Readers waiting for their node to be back on the PLC. */
  private readonly rebinder: Rebinder;
  /** The code of a repair attempt's failure that no repair can mend (UNREPAIRABLE); null: none. */
  private unrepairable: string | null = null;

  constructor(o: EndpointOptions) {
    this.cfg = o.cfg;
    this.global = o.global;
    this.pkiDir = o.pkiDir;
    this.readers = o.readers;
    this.log = o.log;
    // Three-node decisions go one request at a time: two requests in flight may be applied interleaved, and a PLC
    // must never see a seq next to another read's decision.
    const nodesMode = o.cfg.readers.some((r) => r.decision.mode === 'nodes');
    this.writer = new DecisionWriter({ maxInFlight: nodesMode ? 1 : o.cfg.maxWritesInFlight, maxAgeMs: o.cfg.decisionMaxAgeMs, log: o.log, latency: o.decisionLatency });
    this.subs = new PlcSubscription(
      o.cfg,
      o.log,
      (key) => {
        if (this.logged.has(key)) return false;
        this.logged.add(key);
        return true;
      },
      (r, status) => {
        if (!this.closing) this.rebinder.gone(r, status);
      },
    );
    this.rebinder = new Rebinder({ endpoint: o.cfg.id, initialDelayMs: o.global.reconnectInitialDelayMs, maxDelayMs: o.global.reconnectMaxDelayMs, log: o.log, attempt: (r) => this.rebind(r) });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stop: write what is queued (within budgetMs), close the session. */
  async close(budgetMs = 1_000): Promise<void> {
    if (!this.closing) {
      await this.writer.idle(budgetMs);
      this.closing = true;
      this.stats.state = 'closed';
      this.wake?.();
      // An attempt in progress (connecting, opening the session) is cut short rather than waited for.
      const c = this.client;
      if (c !== null && this.session === null) void c.disconnect().catch(() => undefined);
    }
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      try {
        await this.connect();
        await this.setup();
        failures = 0;
        await this.watch();
      } catch (err) {
        this.noteError(err);
      }
      await this.teardown();
      if (this.closing) break;
      this.stats.state = 'connecting';
      this.stats.downSinceMs ??= Date.now();
      failures++;
      const base = Math.min(this.global.reconnectMaxDelayMs, this.global.reconnectInitialDelayMs * 2 ** Math.min(failures - 1, 20));
      await this.sleep(base * (0.9 + Math.random() * 0.2));
    }
    await this.teardown();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private noteError(err: unknown): void {
    const code = classifyConnectError(err);
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    this.stats.lastError = { code, message, atMs: Date.now() };
    if (this.closing) return;
    if (this.logged.has(code)) {
      this.log.debug({ code, err: message }, 'PLC connection attempt failed');
      return;
    }
    this.logged.add(code);
    const hint = CONNECT_HINTS[code as ErrorCode]?.(this.cfg, this.pkiDir) ?? (err instanceof GatewayError ? err.hint : undefined);
    this.log.warn({ code, url: this.cfg.url, err: message, hint }, 'cannot connect to the PLC; retrying until it answers');
  }

  private async connect(): Promise<void> {
    const cfg = this.cfg;
    this.cm = await certificateManager(this.pkiDir, this.global.trustUnknownServers);
    const own = this.global.certificateFile !== '' ? { certificateFile: this.global.certificateFile, privateKeyFile: this.global.privateKeyFile } : {};
    const client = OPCUAClient.create({
      applicationName: this.global.applicationName,
      clientName: `scangate-${cfg.id}`,
      clientCertificateManager: this.cm,
      ...own,
      securityMode: MODE[cfg.securityMode],
      securityPolicy: POLICY[cfg.securityPolicy],
      endpointMustExist: false,
      // One attempt here; the loop above paces the attempts. Once connected, node-opcua repairs breaks forever.
      connectionStrategy: { maxRetry: 0, initialDelay: this.global.reconnectInitialDelayMs, maxDelay: this.global.reconnectMaxDelayMs, randomisationFactor: 0.1 },
      // The subscription's publish requests keep the session alive; node-opcua's own keep-alive reader would
      // tear the connection down on one slow answer.
      keepSessionAlive: false,
      requestedSessionTimeout: cfg.sessionTimeoutMs,
      defaultTransactionTimeout: cfg.requestTimeoutMs,
      dataTypeExtractStrategy: DataTypeExtractStrategy.Lazy,
    });
    this.client = client;
    await withTimeout(client.connect(cfg.url), Math.max(cfg.requestTimeoutMs, 5_000), `connecting to ${cfg.url}`);
    if (this.closing) return;
    // Runs on a repair that needed a new session, before the subscription is transferred or recreated and
    // before any notification is processed.
    (client as unknown as { beforeSubscriptionRecreate?: (s: ClientSession) => Promise<Error | undefined> }).beforeSubscriptionRecreate = (s) =>
      this.onNewSession(s).then(
        () => undefined,
        () => undefined,
      );
    client.on('connection_lost', () => this.onConnectionLost());
    client.on('connection_reestablished', () => this.onRepaired('channel'));
    // While node-opcua repairs, say why its attempts fail (a replaced PLC certificate, a refused user...).
    client.on('reconnection_attempt_has_failed', (err: Error) => {
      this.noteError(err);
      const code = classifyConnectError(err);
      if (UNREPAIRABLE.has(code)) this.unrepairable = code;
    });
    client.on('close', () => {
      if (!this.closing) this.wake?.();
    });
    const session = await withTimeout(client.createSession(userIdentity(cfg)), cfg.requestTimeoutMs, 'creating the session');
    this.session = session;
    // From here on node-opcua repairs a broken connection by itself, forever (a refused identity above must
    // fail the attempt instead of waiting for a repair).
    (client.connectionStrategy as { maxRetry: number }).maxRetry = -1;
    session.on('session_closed', () => {
      if (!this.closing && this.session === session) this.wake?.();
    });
  }

  /** Namespaces, start time, readers' nodes, subscription and monitored items. */
  private async setup(): Promise<void> {
    const session = this.session;
    if (session === null || this.closing) return;
    await this.readServerIdentity(session);
    const unbound: ReaderRuntime[] = [];
    for (const r of this.readers) {
      r.session = session;
      try {
        r.binding = await bindReader(session, this.namespaces, r.cfg);
        r.error = null;
      } catch (err) {
        r.binding = null;
        r.error = { code: classifyConnectError(err), message: (err as Error).message };
        this.log.warn(
          { code: r.error.code, reader: r.cfg.id, err: r.error.message, hint: err instanceof GatewayError ? err.hint : undefined },
          r.error.code === 'SG_ERR_OPCUA_NODE' ? 'reader not served: a configured node is not usable (tried again until it is)' : 'reader not served: a configured node is not usable',
        );
        if (r.error.code === 'SG_ERR_OPCUA_NODE') unbound.push(r);
      }
    }
    await prewarmAutoIdTypes(session, this.namespaces, this.readers.map((r) => r.cfg));
    this.stats.publishingIntervalMs = await this.subs.create(session, this.readers, this.namespaces);
    // A PLC in the middle of a program download shows its nodes a moment later.
    for (const r of unbound) this.rebinder.start(r);
    this.writer.setSession(session);
    const now = Date.now();
    const wasDown = this.stats.downSinceMs;
    this.stats.connects++;
    if (wasDown !== null && this.stats.connects > 1) {
      this.stats.reconnects++;
      this.stats.lastReconnectMs = now - wasDown;
    }
    this.stats.state = 'connected';
    this.stats.connectedSinceMs = now;
    this.stats.downSinceMs = null;
    this.logged.clear();
    this.log.info(
      {
        url: this.cfg.url,
        security: `${this.cfg.securityMode}/${this.cfg.securityPolicy}`,
        readers: this.readers.filter((r) => r.binding !== null).length,
        downMs: wasDown === null ? undefined : now - wasDown,
      },
      'PLC connected',
    );
  }

  private async readServerIdentity(session: ClientSession): Promise<boolean> {
    const [ns, st] = await session.read([
      { nodeId: resolveNodeId('i=2255'), attributeId: AttributeIds.Value },
      { nodeId: resolveNodeId(SERVER_START_TIME), attributeId: AttributeIds.Value },
    ]);
    const namespaces = Array.isArray(ns?.value.value) ? (ns.value.value as string[]) : [];
    const changedNs = this.namespaces.length > 0 && !sameUsedNamespaces(this.namespaces, namespaces, this.readers.map((r) => r.cfg));
    this.namespaces = namespaces;
    const start = st?.value.value instanceof Date ? st.value.value.getTime() : undefined;
    if (start !== undefined && this.serverStartTimeMs !== undefined && start !== this.serverStartTimeMs) {
      this.stats.serverRestarts++;
      for (const r of this.readers) r.seq.markServerRestart();
      const dropped = this.writer.dropQueued();
      this.log.info(
        { url: this.cfg.url, startTime: new Date(start).toISOString(), decisionsDropped: dropped },
        dropped > 0 ? `the PLC restarted: ${dropped} decisions for reads of its last run are dropped, not written to the new run (counted as expired)` : 'the PLC restarted',
      );
    }
    if (start !== undefined) this.serverStartTimeMs = start;
    return changedNs;
  }

  /** A repair opened a new session: learn whether the PLC restarted or renumbered before notifications flow. */
  private async onNewSession(s: ClientSession): Promise<void> {
    this.session = s;
    if (await this.readServerIdentity(s)) {
      this.stale = true;
      for (const r of this.readers) r.binding = null;
      this.log.warn({ url: this.cfg.url }, 'the PLC renumbered its namespaces: starting from a new connection');
      return;
    }
    for (const r of this.readers) r.session = s;
    await prewarmAutoIdTypes(s, this.namespaces, this.readers.map((r) => r.cfg));
  }

  private onConnectionLost(): void {
    if (this.closing) return;
    this.stats.state = 'reconnecting';
    this.stats.downSinceMs ??= Date.now();
    this.stats.lastError = { code: 'SG_ERR_OPCUA_CONNECT', message: 'the connection to the PLC was lost; repairing it', atMs: Date.now() };
    this.writer.setSession(null);
    this.log.warn({ code: 'SG_ERR_OPCUA_CONNECT', url: this.cfg.url }, 'connection to the PLC lost; repairing it');
  }

  private onRepaired(how: string): void {
    if (this.closing || this.session === null) return;
    const now = Date.now();
    this.stats.state = 'connected';
    this.stats.reconnects++;
    if (this.stats.downSinceMs !== null) this.stats.lastReconnectMs = now - this.stats.downSinceMs;
    this.stats.downSinceMs = null;
    this.stats.connectedSinceMs = now;
    this.subs.lastPublishAtMs = now;
    this.subs.lastVerifyAtMs = 0; // verify the items at the next health check
    this.unrepairable = null;
    this.writer.setSession(this.session);
    this.logged.clear();
    this.log.info({ url: this.cfg.url, how, reconnectMs: this.stats.lastReconnectMs }, 'connection to the PLC repaired');
  }

  /** Resolves when only a new connection will do: the client gave up, the session was closed, or the checks say so. */
  private watch(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearInterval(timer);
        this.wake = null;
        resolve();
      };
      let checking = false;
      const timer = setInterval(() => {
        this.writer.expireOld();
        if (checking) return; // a probe of a slow PLC is still out
        checking = true;
        void this.health().then(
          (ok) => {
            checking = false;
            if (!ok) this.wake?.();
          },
          () => {
            checking = false;
          },
        );
      }, HEALTH_MS);
    });
  }

  /** One health check; false: start again from a new connection. */
  private async health(): Promise<boolean> {
    const client = this.client;
    const session = this.session;
    if (this.closing || client === null || session === null) return false;
    if (this.stale) return false;
    if (this.stats.state === 'reconnecting' && this.repairHopeless()) return false;
    if (client.isReconnecting || this.rebuilding) return true; // node-opcua is repairing: leave it be
    const now = Date.now();
    const keepAliveMs = this.subs.keepAliveMs();
    const silentMs = now - this.subs.lastPublishAtMs;
    const subscriptionGone = !this.subs.active;
    const verifyDue = now - this.subs.lastVerifyAtMs >= VERIFY_ITEMS_MS;
    if (!subscriptionGone && silentMs <= 3 * keepAliveMs + 2_000 && !verifyDue) return true;

    // Ask the PLC something: does the session still answer?
    let answered = false;
    try {
      await withTimeout(session.read({ nodeId: resolveNodeId(SERVER_STATE), attributeId: AttributeIds.Value }), Math.min(this.cfg.requestTimeoutMs, 5_000), 'reading the server state');
      answered = true;
    } catch (err) {
      const m = (err as Error).message;
      if (/BadSessionIdInvalid|BadSessionClosed|BadSessionNotActivated|has been closed/i.test(m)) {
        this.log.warn({ code: 'SG_ERR_OPCUA_CONNECT', url: this.cfg.url, err: m }, 'the PLC says the session is gone: opening a new one');
        return false;
      }
    }
    if (!answered) {
      // A slow or busy PLC, or a link that hangs: not a dead session. The channel layer sees a dead link.
      this.stats.keepAliveProblems++;
      if (this.stats.keepAliveProblems === 1 || this.stats.keepAliveProblems % 30 === 0) {
        this.log.warn({ url: this.cfg.url, silentMs }, 'the PLC is not answering; keeping the session');
      }
      return silentMs < this.cfg.sessionTimeoutMs; // past the session timeout the PLC has dropped it anyway
    }
    // Publish responses may have come while the probe was out (a stalled link that recovered).
    const silentNow = Date.now() - this.subs.lastPublishAtMs;
    const silent = silentNow > 3 * keepAliveMs + 2_000;
    if (subscriptionGone || silent || !(await this.subs.itemsOnServer(session))) {
      if (this.closing || client.isReconnecting) return true;
      return this.rebuildSubscription(session, subscriptionGone ? 'the subscription was terminated' : silent ? `no publish response for ${silentNow} ms` : 'monitored items missing on the PLC');
    }
    return true;
  }

  /** node-opcua's repair cannot succeed, or has had its time: say so (the caller connects anew). */
  private repairHopeless(): boolean {
    const repairingMs = Date.now() - (this.stats.downSinceMs ?? Date.now());
    const code = this.unrepairable;
    if (code === null && repairingMs < Math.max(REPAIR_MIN_MS, 3 * this.global.reconnectMaxDelayMs)) return false;
    this.log.warn(
      { code: code ?? 'SG_ERR_OPCUA_CONNECT', url: this.cfg.url, repairingMs },
      code !== null ? 'the PLC refuses the repaired connection (see the error before): connecting anew, paced' : 'the repair of the PLC connection takes too long: connecting anew',
    );
    return true;
  }

  /** One attempt to bind a reader again on the current session (Rebinder); throws while it cannot. */
  private async rebind(r: ReaderRuntime): Promise<void> {
    const session = this.session;
    const client = this.client;
    if (this.closing || session === null || client === null || client.isReconnecting || this.rebuilding || this.stale || !this.subs.active) {
      throw new Error('the session is not ready');
    }
    let binding;
    try {
      binding = await bindReader(session, this.namespaces, r.cfg);
    } catch (err) {
      r.error = { code: classifyConnectError(err), message: (err as Error).message };
      throw err;
    }
    if (this.session !== session) throw new Error('the session changed');
    r.binding = binding;
    await this.subs.rebind(r, this.namespaces);
    r.error = null;
  }

  /** Recreate the subscription and its items on the same session; false if that fails. */
  private async rebuildSubscription(session: ClientSession, why: string): Promise<boolean> {
    this.rebuilding = true;
    this.stats.subscriptionRebuilds++;
    this.log.warn({ code: 'SG_ERR_OPCUA_SUBSCRIPTION', url: this.cfg.url, why }, 'recreating the subscription');
    try {
      await this.subs.terminate();
      this.stats.publishingIntervalMs = await this.subs.create(session, this.readers, this.namespaces);
      return true;
    } catch (err) {
      this.log.warn({ code: 'SG_ERR_OPCUA_SUBSCRIPTION', url: this.cfg.url, err: (err as Error).message }, 'cannot recreate the subscription: opening a new connection');
      return false;
    } finally {
      this.rebuilding = false;
    }
  }

  private async teardown(): Promise<void> {
    this.unrepairable = null;
    this.writer.setSession(null);
    this.stats.connectedSinceMs = null;
    const client = this.client;
    const cm = this.cm;
    this.client = null;
    this.session = null;
    this.subs.forget();
    this.rebinder.cancelAll();
    this.cm = null;
    this.stale = false;
    for (const r of this.readers) r.session = null;
    if (client !== null) {
      client.removeAllListeners();
      // A repair given up may be between two attempts: no more of them (disconnect alone may leave one pending).
      (client.connectionStrategy as { maxRetry: number }).maxRetry = 0;
      await withTimeout(client.disconnect(), 3_000, 'disconnecting').catch(() => undefined);
    }
    if (cm !== null) await cm.dispose().catch(() => undefined);
    if (this.closing) this.writer.close();
  }
}
