/**
 * The subscription of one PLC session and the monitored item of each reader: events with an AutoID filter,
 * data items sampled at interval 0 with a queue that never discards the oldest; when publish responses last
 * came; and whether every item still exists on the PLC (Server.GetMonitoredItems, OPC UA Part 5 9.1). A data item
 * whose node the PLC deleted is dropped and its reader handed to `onNodeGone` (to be bound again: rebind.ts).
 */
import type { Logger } from 'pino';
import { AttributeIds, TimestampsToReturn, type ClientMonitoredItem, type ClientSession, type ClientSubscription, type DataValue, type StatusCode, type Variant } from 'node-opcua';
import type { OpcuaEndpointConfig } from '../../gateway/config/opcua-schema.js';
import { eventFilter } from './binding.js';
import { DROPPED_NOTIFICATION, guardSubscription } from './guard.js';
import type { ReaderRuntime } from './reader.js';
import { nodeGone } from './rebind.js';
import { withTimeout } from './util.js';

/** The PLC refused a monitored item, with its status. */
class ItemRefused extends Error {
  readonly status: StatusCode;
  constructor(status: StatusCode) {
    super(`the PLC refused the monitored item: ${status.toString()}`);
    this.status = status;
  }
}

export class PlcSubscription {
  sub: ClientSubscription | null = null;
  /** When a publish response (notifications or keep-alive) last came, epoch ms. */
  lastPublishAtMs = 0;
  /** When the items were last checked on the PLC, epoch ms (0: check at the next health check). */
  lastVerifyAtMs = 0;
  private readonly items = new Map<ReaderRuntime, ClientMonitoredItem>();
  /** Items replaced (rebind) or refused: whatever they still report is not their reader's to take. */
  private readonly retired = new WeakSet<ClientMonitoredItem>();
  /** Notifications dropped by the guard since the start. */
  dropped = 0;
  private canVerifyItems = true;
  private readonly cfg: OpcuaEndpointConfig;
  private readonly log: Logger;
  /** True the first time a key is seen in the current outage (warn once). */
  private readonly firstTime: (key: string) => boolean;
  /** A reader's node is gone on the PLC (its item reported so, or was refused so): its item is dropped. */
  private readonly onNodeGone: (r: ReaderRuntime, status: StatusCode) => void;

  constructor(cfg: OpcuaEndpointConfig, log: Logger, firstTime: (key: string) => boolean, onNodeGone: (r: ReaderRuntime, status: StatusCode) => void) {
    this.cfg = cfg;
    this.log = log;
    this.firstTime = firstTime;
    this.onNodeGone = onNodeGone;
  }

  get active(): boolean {
    return this.sub !== null && this.sub.isActive;
  }

  /** OPC UA Part 4 5.13.1: with nothing to report, a keep-alive comes every publishingInterval x maxKeepAliveCount. */
  keepAliveMs(): number {
    return (this.sub?.publishingInterval ?? this.cfg.publishingIntervalMs) * (this.sub?.maxKeepAliveCount ?? this.cfg.keepAliveCount);
  }

  /** Create the subscription and every bound reader's item; returns the publishing interval the PLC granted. */
  async create(session: ClientSession, readers: readonly ReaderRuntime[], namespaces: readonly string[]): Promise<number> {
    const cfg = this.cfg;
    const sub = await session.createSubscription2({
      requestedPublishingInterval: cfg.publishingIntervalMs,
      requestedMaxKeepAliveCount: cfg.keepAliveCount,
      requestedLifetimeCount: cfg.lifetimeCount,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 200,
    });
    this.sub = sub;
    if (!guardSubscription(sub) && this.firstTime('guard')) {
      this.log.warn('this node-opcua has no notification handlers to guard: a notification for a forgotten item may stop the process');
    }
    sub.on(DROPPED_NOTIFICATION as 'keepalive', ((kind: string, err: Error) => {
      this.dropped++;
      if (this.firstTime(`dropped:${kind}`)) {
        this.log.warn({ code: 'SG_ERR_OPCUA_SUBSCRIPTION', kind, err: err?.message }, 'a notification no monitored item could take was dropped (counted in droppedNotifications)');
      }
    }) as () => void);
    this.lastPublishAtMs = Date.now();
    this.lastVerifyAtMs = Date.now();
    const alive = () => {
      if (this.sub === sub) this.lastPublishAtMs = Date.now();
    };
    sub.on('keepalive', alive);
    sub.on('received_notifications', alive);
    sub.on('terminated', () => {
      if (this.sub === sub) this.lastVerifyAtMs = 0;
    });
    this.items.clear();
    for (const r of readers) {
      if (r.binding === null) continue;
      if (this.sub !== sub) break; // created anew meanwhile: that one binds every reader
      try {
        await this.monitor(sub, r, namespaces);
      } catch (err) {
        if (err instanceof ItemRefused && nodeGone(err.status)) {
          this.onNodeGone(r, err.status); // not there (yet): a PLC restarted with a program download
          continue;
        }
        r.error = { code: 'SG_ERR_OPCUA_SUBSCRIPTION', message: (err as Error).message };
        this.log.warn({ code: 'SG_ERR_OPCUA_SUBSCRIPTION', reader: r.cfg.id, err: (err as Error).message }, 'monitored item not created');
      }
    }
    return sub.publishingInterval;
  }

  private async monitor(sub: ClientSubscription, r: ReaderRuntime, namespaces: readonly string[]): Promise<void> {
    const b = r.binding!;
    const c = r.cfg;
    const queue = { queueSize: this.cfg.queueSize, discardOldest: false };
    let item: ClientMonitoredItem;
    if (c.way === 'event') {
      item = await sub.monitor(
        { nodeId: b.device!, attributeId: AttributeIds.EventNotifier },
        { samplingInterval: 0, ...queue, filter: eventFilter(namespaces, c) },
        TimestampsToReturn.Neither,
      );
      item.on('changed', this.safe(r, (fields: Variant[]) => r.onEvent(fields)) as unknown as (dv: DataValue) => void);
    } else {
      const nodeId = c.way === 'data' ? b.dataNode! : c.way === 'counter' ? b.counterNode! : b.triggerNode!;
      // Sampling interval 0: every change, as it happens (exception-based); a queue, never discarding the oldest.
      item = await sub.monitor({ nodeId, attributeId: AttributeIds.Value }, { samplingInterval: 0, ...queue }, TimestampsToReturn.Source);
      const handler = c.way === 'data' ? (dv: DataValue) => r.onData(dv) : c.way === 'counter' ? (dv: DataValue) => r.onCounter(dv) : (dv: DataValue) => r.onTrigger(dv);
      const it = item;
      item.on(
        'changed',
        this.safe(r, (dv: DataValue) => {
          if (this.retired.has(it)) return; // replaced by a newer item (rebind): that one reports
          if (nodeGone(dv.statusCode)) {
            if (this.items.get(r) !== it) return; // an item of a subscription since replaced
            this.drop(r);
            this.onNodeGone(r, dv.statusCode);
            return;
          }
          handler(dv);
        }),
      );
      const revised = item.result?.revisedSamplingInterval;
      if (revised !== undefined && revised > 0 && this.firstTime(`sampling:${c.id}`)) {
        this.log.warn(
          { reader: c.id, revisedSamplingIntervalMs: revised },
          'the PLC samples this reader instead of reporting every change: reads closer together than the interval are lost (the seq gaps will show them)',
        );
      }
    }
    if (this.sub !== sub) {
      // The subscription was created anew while this item was (a rebind racing a rebuild): the new one has its own
      // item for this reader; this one, on the old subscription, must never be taken for it.
      this.retire(item);
      throw new Error('the subscription was created anew meanwhile');
    }
    const sc = item.statusCode;
    if (sc !== undefined && (sc.value & 0xc0000000) !== 0) {
      this.retired.add(item);
      throw new ItemRefused(sc);
    }
    this.items.set(r, item);
  }

  /** A reader bound again (rebind.ts): its old item deleted, a new one created on this subscription. */
  async rebind(r: ReaderRuntime, namespaces: readonly string[]): Promise<void> {
    const sub = this.sub;
    if (sub === null || !sub.isActive) throw new Error('no active subscription');
    this.drop(r);
    await this.monitor(sub, r, namespaces);
    if (this.sub !== sub) throw new Error('the subscription was recreated meanwhile');
  }

  /** Forget a reader's item and delete it on the PLC (best effort: it reports nothing the reader would take). */
  private drop(r: ReaderRuntime): void {
    const item = this.items.get(r);
    if (item === undefined) return;
    this.items.delete(r);
    this.retire(item);
  }

  /** An item whose reports no reader takes any more, deleted on the PLC (best effort). */
  private retire(item: ClientMonitoredItem): void {
    this.retired.add(item);
    void withTimeout(Promise.resolve().then(() => item.terminate()), 2_000, 'deleting a monitored item').catch(() => undefined);
  }

  /**
   * A reader's handler that never throws into node-opcua (which would drop the rest of that publish response, or
   * stop the process): a failure is counted as a dropped notification and logged once per reader.
   */
  private safe<A>(r: ReaderRuntime, fn: (arg: A) => void): (arg: A) => void {
    return (arg: A) => {
      try {
        fn(arg);
      } catch (err) {
        this.dropped++;
        if (this.firstTime(`handler:${r.cfg.id}`)) {
          this.log.error({ code: 'SG_ERR_INTERNAL', reader: r.cfg.id, err: (err as Error).message, stack: (err as Error).stack }, 'a reader could not handle a notification (dropped and counted; the reader goes on)');
        }
      }
    };
  }

  /** Server.GetMonitoredItems (Part 5 9.1): are our subscription and every item there? */
  async itemsOnServer(session: ClientSession): Promise<boolean> {
    this.lastVerifyAtMs = Date.now();
    const sub = this.sub;
    if (sub === null) return false;
    for (const [r, item] of this.items) {
      if (item.statusCode !== undefined && (item.statusCode.value & 0xc0000000) !== 0) {
        this.log.warn({ reader: r.cfg.id, status: item.statusCode.toString() }, 'monitored item in error');
        return false;
      }
    }
    if (!this.canVerifyItems) return true;
    try {
      const s = session as unknown as { getMonitoredItems(id: number): Promise<{ clientHandles?: Uint32Array }> };
      const res = await withTimeout(s.getMonitoredItems(sub.subscriptionId), Math.min(this.cfg.requestTimeoutMs, 5_000), 'GetMonitoredItems');
      const handles = new Set((res.clientHandles ?? []).map(Number));
      for (const item of this.items.values()) {
        const h = (item as unknown as { monitoringParameters?: { clientHandle?: number } }).monitoringParameters?.clientHandle;
        if (h !== undefined && !handles.has(h)) return false;
      }
      return true;
    } catch (err) {
      const m = (err as Error).message;
      if (/BadSubscriptionIdInvalid/i.test(m)) return false;
      // A PLC without GetMonitoredItems (or refusing it): rely on keep-alives and item status only.
      if (/BadMethodInvalid|BadNotImplemented|BadNotSupported|BadUserAccessDenied|BadNodeIdUnknown/i.test(m)) this.canVerifyItems = false;
      return true;
    }
  }

  /** Delete it on the PLC (best effort) and forget it. */
  async terminate(): Promise<void> {
    const old = this.sub;
    this.forget();
    if (old !== null) await withTimeout(old.terminate(), 2_000, 'terminating the subscription').catch(() => undefined);
  }

  forget(): void {
    this.sub = null;
    this.items.clear();
  }
}
