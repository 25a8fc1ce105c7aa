/** Prometheus view of the gateway's plain counters, computed on scrape (nothing per read). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Counters } from '../gateway/counters.js';
import type { Outbox } from '../gateway/outbox/outbox.js';
import { REASONS } from '../gateway/reasons.js';
import type { ForwarderStats } from '../adapters/nats/forwarder.js';

export function buildRegistry(counters: Counters, outbox: Outbox, fwd: ForwarderStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reasons = Object.entries(REASONS);
  new Counter({
    name: 'scangate_reads_total',
    help: 'Reads decided, by verdict reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, code] of reasons) this.inc({ reason: name }, counters.byReason[code] ?? 0);
    },
  });
  const simple: [string, string, () => number][] = [
    ['scangate_duplicate_reads_total', 'Duplicate reads answered with the original verdict (no event)', () => counters.duplicateReads],
    ['scangate_reads_held_outbox_full_total', 'Reads held unacknowledged because the outbox was full', () => counters.readsHeldOutboxFull],
    ['scangate_store_errors_total', 'LMDB writes that failed', () => counters.storeErrors],
    ['scangate_batches_published_total', 'Batches acknowledged by JetStream', () => fwd.published],
    ['scangate_batches_duplicate_total', 'Batches JetStream already had (retries after a lost PubAck)', () => fwd.duplicates],
    ['scangate_publish_failures_total', 'Failed batch publishes (retried)', () => fwd.failures],
  ];
  for (const [name, help, get] of simple) {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(get()); } });
  }
  const gauges: [string, string, () => number][] = [
    ['scangate_outbox_events', 'Events in the outbox (unsent)', () => outbox.stats().events],
    ['scangate_outbox_bytes', 'Bytes of unsent events in the outbox', () => outbox.stats().bytes],
    ['scangate_outbox_full', '1 when the outbox is full and reads are held', () => (outbox.full ? 1 : 0)],
    ['scangate_nats_connected', '1 when connected to NATS', () => (fwd.connected ? 1 : 0)],
  ];
  for (const [name, help, get] of gauges) {
    new Gauge({ name, help, registers: [registry], collect() { this.set(get()); } });
  }
  return registry;
}
