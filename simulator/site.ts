/**
 * The virtual site: L lines of S stations, laid out as a packaging line (commission -> receive -> inspect ->
 * pack into cases -> cases onto pallets -> ship), and the gateway configuration that declares exactly those
 * stations (`scangate simulate --print-config`).
 */

export interface SiteLayout {
  site: string;
  lines: number;
  /** Stations per line: at least 5 (commission, receive, pack, palletize, ship); more are inspection points. */
  stations: number;
  /** Items per case (the pack station's capacity). */
  caseSize: number;
  /** Cases per pallet (the palletize station's capacity). */
  casesPerPallet: number;
  topicPrefix: string;
}

export const DEFAULT_LAYOUT: SiteLayout = { site: 'demo', lines: 4, stations: 5, caseSize: 12, casesPerPallet: 8, topicPrefix: 'scangate/v1' };

/** What a station does in the workflow. */
export const Role = { Commission: 0, Receive: 1, Inspect: 2, Pack: 3, Palletize: 4, Ship: 5 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface SimStation {
  readonly index: number;
  readonly line: string;
  readonly id: string;
  readonly role: Role;
  readonly operation: string;
  /** `{prefix}/{site}/{line}/{station}` */
  readonly base: string;
  /** The scanner's device id (in every read's JSON, echoed in verdicts and events). */
  readonly device: string;
}

/** Stations of one line, in workflow order. */
export function lineStations(layout: SiteLayout): { id: string; role: Role; operation: string; extra: Record<string, unknown> }[] {
  const out: { id: string; role: Role; operation: string; extra: Record<string, unknown> }[] = [
    { id: 'commission', role: Role.Commission, operation: 'commission', extra: {} },
    { id: 'receive', role: Role.Receive, operation: 'receive', extra: {} },
  ];
  for (let i = 1; i <= layout.stations - 5; i++) out.push({ id: `inspect${i}`, role: Role.Inspect, operation: 'verify', extra: {} });
  out.push(
    { id: 'pack', role: Role.Pack, operation: 'pack', extra: { capacity: layout.caseSize } },
    { id: 'palletize', role: Role.Palletize, operation: 'aggregate', extra: { childType: 'container', capacity: layout.casesPerPallet } },
    { id: 'ship', role: Role.Ship, operation: 'ship', extra: {} },
  );
  return out;
}

export function lineId(l: number): string {
  return `L${l + 1}`;
}

/** Every station of the site, with the device name the run's scanners use. */
export function siteStations(layout: SiteLayout, devicePrefix: string): SimStation[] {
  const out: SimStation[] = [];
  for (let l = 0; l < layout.lines; l++) {
    const line = lineId(l);
    for (const s of lineStations(layout)) {
      out.push({
        index: out.length,
        line,
        id: s.id,
        role: s.role,
        operation: s.operation,
        base: `${layout.topicPrefix}/${layout.site}/${line}/${s.id}`,
        device: `${devicePrefix}-${line}-${s.id}`,
      });
    }
  }
  return out;
}

/** The `site` section of a gateway configuration that declares the virtual site. */
export function siteConfig(layout: SiteLayout): { id: string; lines: { id: string; stations: Record<string, unknown>[] }[] } {
  return {
    id: layout.site,
    lines: Array.from({ length: layout.lines }, (_, l) => ({
      id: lineId(l),
      stations: lineStations(layout).map((s) => ({ id: s.id, operation: s.operation, ...s.extra })),
    })),
  };
}

/** A complete gateway configuration for the virtual site (YAML is a superset of JSON: this is a valid file). */
export function gatewayConfig(layout: SiteLayout, o: { gatewayId: string; dataDir: string; mqttPort: number; httpPort: number; nats: string[]; logLevel?: string; opcua?: unknown }): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    gatewayId: o.gatewayId,
    dataDir: o.dataDir,
    log: { level: o.logLevel ?? 'warn' },
    site: siteConfig(layout),
    mqtt: {
      host: '127.0.0.1',
      port: o.mqttPort,
      topicPrefix: layout.topicPrefix,
      // The line controller takes every verdict of the site on one connection: at tens of thousands per
      // second its socket and session may hold more than the defaults allow for a single subscriber. And the
      // whole fleet connects from one address at once.
      limits: { subscriberQueueMaxBytes: 256 * 1024 * 1024, sessionQueueMaxMessages: 1_000_000, maxConnectsPerAddressPerS: 1000 },
    },
    http: { host: '127.0.0.1', port: o.httpPort },
    nats: { servers: o.nats, retryDelayMs: 250 },
  };
  if (o.opcua !== undefined) cfg.opcua = o.opcua;
  return cfg;
}
