/** How to fix a bad value, by key: shown next to the schema's own message. */
const HINTS: Record<string, string> = {
  gatewayId: 'a short name unique per gateway, e.g. line1-edge; it appears in NATS subjects and message ids',
  dataDir: 'a writable directory for the LMDB cache and outbox',
  'mqtt.port': 'a free TCP port 1-65535 (0 picks a free one); 1883 is the MQTT default',
  'http.port': 'a free TCP port 1-65535 (0 picks a free one)',
  'nats.servers': 'a list of URLs such as ["nats://127.0.0.1:4222"]; with SCANGATE_NATS_SERVERS, comma-separated',
  'site.lines': 'a list of {id, stations: [{id, operation}]}',
  operation: 'one of commission, receive, pack, aggregate, disaggregate, ship, decommission, destroy, sample, verify',
  'outbox.durability': 'sync (flush to disk before acknowledging a read) or commit',
  'log.level': 'fatal, error, warn, info, debug, trace or silent',
};

/** A hint for a failing path, most specific key first. */
export function hintFor(path: readonly string[], code: string): string | undefined {
  if (code === 'unrecognized_keys') return 'remove it or fix its spelling; README "Configuration" lists every key';
  const dotted = path.join('.');
  if (HINTS[dotted]) return HINTS[dotted];
  const last = path[path.length - 1];
  if (last !== undefined && HINTS[last]) return HINTS[last];
  return undefined;
}
