/**
 * Access control of the embedded broker: what each role may publish and subscribe to, as MQTT topic filters,
 * checked on every PUBLISH (cached per client) and on every SUBSCRIBE. A subscription is granted only when
 * every topic it could match is allowed, so wildcards (`#`, `+`) never widen a role's view.
 *
 * | role           | publish                                   | subscribe                                         |
 * |----------------|-------------------------------------------|---------------------------------------------------|
 * | scanner        | read, read/pb of its stations             | verdict, reject of its stations; gateway state    |
 * | lineController | control of its lines' stations            | verdict, reject, control/reply of its lines; state|
 * | monitor        | nothing                                   | everything under {prefix}/{site}/                 |
 * | admin          | anything but the gateway's own topics     | everything, including $SYS                        |
 *
 * No client, admin included, may publish on a verdict, reject, control/reply or state topic: those are the
 * gateway's ([MQTT-4.7] wildcard rules apply: a filter starting with a wildcard never matches `$` topics).
 */
import type { MqttRole, MqttUserConfig } from '../../gateway/config/mqtt-schema.js';

/** Topic levels. */
export type Levels = readonly string[];

export function levels(topic: string): string[] {
  return topic.split('/');
}

/** MQTT matching of a concrete topic against a filter ([MQTT-4.7.1], [MQTT-4.7.2-1]). */
export function filterMatches(filter: Levels, topic: Levels): boolean {
  if (topic.length > 0 && topic[0]!.startsWith('$') && (filter[0] === '+' || filter[0] === '#')) return false;
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]!;
    if (f === '#') return true; // also matches the parent level: `a/#` matches `a`
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return filter.length === topic.length;
}

/** True when every topic that `filter` matches is also matched by `pattern` (both are topic filters). */
export function filterCovers(pattern: Levels, filter: Levels): boolean {
  if (filter.length > 0 && filter[0]!.startsWith('$') && (pattern[0] === '+' || pattern[0] === '#')) return false;
  for (let i = 0; ; i++) {
    const p = pattern[i];
    const f = filter[i];
    if (p === '#') return true;
    if (f === undefined) return p === undefined;
    if (p === undefined) return false;
    if (f === '#') return false; // only `#` covers `#`
    if (f === '+') {
      if (p !== '+') return false;
      continue;
    }
    if (p !== '+' && p !== f) return false;
  }
}

/** The topics only the gateway publishes on (for every site: no one may impersonate a gateway). */
export function gatewayOwnedFilters(prefix: string): Levels[] {
  return [`${prefix}/+/+/+/verdict`, `${prefix}/+/+/+/reject`, `${prefix}/+/+/+/control/reply`, `${prefix}/+/gateway/+/state`].map(levels);
}

const CACHE_MAX = 256;

/** Who a connected client is, and what it may do. */
export class Principal {
  readonly username: string | null;
  readonly role: MqttRole;
  private readonly publish: Levels[];
  private readonly subscribe: Levels[];
  private readonly owned: Levels[];
  private readonly publishCache = new Map<string, boolean>();

  constructor(username: string | null, role: MqttRole, publish: Levels[], subscribe: Levels[], owned: Levels[]) {
    this.username = username;
    this.role = role;
    this.publish = publish;
    this.subscribe = subscribe;
    this.owned = owned;
  }

  /** A topic only the gateway publishes on. */
  isGatewayTopic(topic: string): boolean {
    const t = levels(topic);
    return this.owned.some((f) => filterMatches(f, t));
  }

  /** May publish on this topic (gateway topics excluded). Cached: a scanner publishes on one or two topics. */
  canPublish(topic: string): boolean {
    let ok = this.publishCache.get(topic);
    if (ok !== undefined) return ok;
    const t = levels(topic);
    ok = !this.owned.some((f) => filterMatches(f, t)) && this.publish.some((f) => filterMatches(f, t));
    if (this.publishCache.size >= CACHE_MAX) this.publishCache.clear();
    this.publishCache.set(topic, ok);
    return ok;
  }

  /** May subscribe to this filter: every topic it can match must be allowed. */
  canSubscribe(filter: string): boolean {
    const f = levels(filter);
    return this.subscribe.some((p) => filterCovers(p, f));
  }
}

/** The principal of a configured user, or of an anonymous client (username null) with the given role. */
export function principalFor(user: Pick<MqttUserConfig, 'role' | 'lines' | 'stations'> & { username: string | null }, prefix: string, site: string): Principal {
  const base = `${prefix}/${site}`;
  const state = `${base}/gateway/+/state`;
  let pub: string[] = [];
  let sub: string[] = [];
  switch (user.role) {
    case 'scanner':
      for (const s of user.stations ?? []) {
        pub.push(`${base}/${s}/read`, `${base}/${s}/read/pb`);
        sub.push(`${base}/${s}/verdict`, `${base}/${s}/reject`);
      }
      sub.push(state);
      break;
    case 'lineController':
      for (const l of user.lines ?? []) {
        pub.push(`${base}/${l}/+/control`);
        sub.push(`${base}/${l}/+/verdict`, `${base}/${l}/+/reject`, `${base}/${l}/+/control/reply`);
      }
      sub.push(state);
      break;
    case 'monitor':
      sub = [`${base}/#`];
      break;
    case 'admin':
      pub = ['#'];
      sub = ['#', '$SYS/#'];
      break;
  }
  return new Principal(user.username, user.role, pub.map(levels), sub.map(levels), gatewayOwnedFilters(prefix));
}

/** A client id is bound to its user: the user name itself, or `{username}-...`. */
export function clientIdBound(username: string, clientId: string): boolean {
  return clientId === username || (clientId.length > username.length + 1 && clientId.startsWith(username) && clientId[username.length] === '-');
}
