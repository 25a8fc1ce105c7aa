/**
 * node-opcua hands each publish response to its subscription inside a promise. A notification for a monitored
 * item the client no longer knows (an item terminated, or a subscription torn down, while that response was in
 * flight, which happens around PLC restarts) makes its event handler fail an assertion there, an unhandled
 * rejection that would stop the whole process. The data-change handler already skips such items with a warning;
 * this gives the event handler the same treatment: each event is handled on its own, and one that fails is
 * dropped and reported with a DROPPED_NOTIFICATION event on the subscription instead. (The readers' own handlers
 * catch their errors themselves: adapters/opcua/subscription.ts.)
 */
import type { ClientSubscription } from 'node-opcua';

type Handler = (this: GuardedSubscription, notification: NotificationList) => void;
interface NotificationList {
  events?: unknown[] | null;
}
interface GuardedSubscription {
  emit(event: string, ...args: unknown[]): boolean;
}

/** Emitted on a guarded subscription for each notification dropped: (kind, error). */
export const DROPPED_NOTIFICATION = 'scangate:dropped_notification';

const EVENTS = '__on_publish_response_EventNotificationList';
const GUARDED = Symbol.for('scangate.opcua.guarded');

/** Wrap one list handler so that each entry is handled alone and a failing entry is dropped, not thrown. */
function guardList(proto: Record<string, unknown>, method: string, field: 'events', kind: string): void {
  const original = proto[method];
  if (typeof original !== 'function') return;
  const handler = original as Handler;
  proto[method] = function guarded(this: GuardedSubscription, notification: NotificationList): void {
    const list = notification?.[field];
    if (!Array.isArray(list) || list.length === 0) return;
    for (const entry of list) {
      // The original reads the schema name through the prototype, so a view of the same object with one entry.
      const one = Object.create(notification as object) as NotificationList;
      one[field] = [entry];
      try {
        handler.call(this, one);
      } catch (err) {
        this.emit(DROPPED_NOTIFICATION, kind, err);
      }
    }
  };
}

/**
 * Guard the class of `sub` (once per class: every subscription of the process shares it). Returns false when
 * this node-opcua has no such handlers, so a caller can warn that the guard is not in place.
 */
export function guardSubscription(sub: ClientSubscription): boolean {
  const proto = Object.getPrototypeOf(sub) as Record<string | symbol, unknown>;
  if (proto[GUARDED] === true) return true;
  if (typeof proto[EVENTS] !== 'function') return false;
  guardList(proto, EVENTS, 'events', 'event');
  proto[GUARDED] = true;
  return true;
}
