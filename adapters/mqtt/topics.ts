/**
 * The gateway's topics (DESIGN.md "MQTT topics"), resolved once at start: a PUBLISH topic maps to its station
 * with one Map lookup on the hot path; anything else under the prefix is parsed only when it turns up.
 */
import type { StationContext, StationRegistry } from '../../gateway/stations.js';

/** What an ingress topic carries. */
export const RouteKind = {
  /** `{prefix}/{site}/{line}/{station}/read`: raw or JSON read. */
  Read: 1,
  /** `.../read/pb`: protobuf ScanRead. */
  ReadPb: 2,
  /** `.../control`: JSON command. */
  Control: 3,
} as const;
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

/** An ingress topic: a declared station's, or an undeclared one's (answered with UNAUTHORIZED_STATION). */
export interface Route {
  readonly kind: RouteKind;
  /** Undefined for a station that is not declared (or another site). */
  readonly station: StationContext | undefined;
  readonly line: string;
  readonly stationId: string;
  readonly verdictTopic: string;
  readonly rejectTopic: string;
  readonly replyTopic: string;
}

export class TopicMap {
  readonly prefix: string;
  readonly site: string;
  private readonly declared = new Map<string, Route>();
  private readonly prefixSlash: string;
  /** Undeclared routes seen, kept so a noisy scanner costs no parsing; bounded. */
  private readonly undeclared = new Map<string, Route>();

  constructor(stations: StationRegistry) {
    this.prefix = stations.prefix;
    this.site = stations.site;
    this.prefixSlash = `${stations.prefix}/`;
    for (const st of stations.all()) {
      const base = `${this.prefix}/${this.site}/${st.line}/${st.station}`;
      const mk = (kind: RouteKind): Route => ({
        kind,
        station: st,
        line: st.line,
        stationId: st.station,
        verdictTopic: st.verdictTopic,
        rejectTopic: st.rejectTopic,
        replyTopic: `${base}/control/reply`,
      });
      this.declared.set(`${base}/read`, mk(RouteKind.Read));
      this.declared.set(`${base}/read/pb`, mk(RouteKind.ReadPb));
      this.declared.set(`${base}/control`, mk(RouteKind.Control));
    }
  }

  /** The route of an ingress topic, or undefined when the topic is not one the gateway consumes. */
  route(topic: string): Route | undefined {
    const r = this.declared.get(topic);
    if (r !== undefined) return r;
    if (!topic.startsWith(this.prefixSlash)) return undefined;
    const known = this.undeclared.get(topic);
    if (known !== undefined) return known;
    // {site}/{line}/{station}/read | read/pb | control
    const parts = topic.slice(this.prefixSlash.length).split('/');
    let kind: RouteKind;
    if (parts.length === 4 && parts[3] === 'read') kind = RouteKind.Read;
    else if (parts.length === 5 && parts[3] === 'read' && parts[4] === 'pb') kind = RouteKind.ReadPb;
    else if (parts.length === 4 && parts[3] === 'control') kind = RouteKind.Control;
    else return undefined;
    if (parts[1] === 'gateway') return undefined;
    const base = `${this.prefix}/${parts[0]}/${parts[1]}/${parts[2]}`;
    const route: Route = {
      kind,
      station: undefined,
      line: parts[1]!,
      stationId: parts[2]!,
      verdictTopic: `${base}/verdict`,
      rejectTopic: `${base}/reject`,
      replyTopic: `${base}/control/reply`,
    };
    if (this.undeclared.size >= 1024) this.undeclared.clear();
    this.undeclared.set(topic, route);
    return route;
  }

  /** Subscriptions of the external-broker client: the ingress topics of every declared line. */
  ingressFilters(lines: Iterable<string>): string[] {
    const out: string[] = [];
    for (const l of lines) {
      const base = `${this.prefix}/${this.site}/${l}/+`;
      out.push(`${base}/read`, `${base}/read/pb`, `${base}/control`);
    }
    return out;
  }

  stateTopic(gatewayId: string): string {
    return `${this.prefix}/${this.site}/gateway/${gatewayId}/state`;
  }
}
