/** Prometheus view of the gateway's plain counters and histograms, computed on scrape (nothing per read). */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { LATENCY_BUCKETS_MS, type LatencyHistogram } from '../gateway/latency.js';
import type { Counters } from '../gateway/counters.js';
import type { Outbox } from '../gateway/outbox/outbox.js';
import { REASONS } from '../gateway/reasons.js';
import type { ForwarderStats } from '../adapters/nats/forwarder.js';
import { REFUSAL_REASONS, type MqttStats } from '../adapters/mqtt/stats.js';
import type { Uplink } from '../adapters/nats/uplink.js';
import type { OpcuaStatus } from '../adapters/opcua/index.js';
import type { DiskGuard } from '../gateway/disk-guard.js';

export function buildRegistry(counters: Counters, outbox: Outbox, fwd: ForwarderStats, uplink?: Uplink, disk?: DiskGuard): Registry {
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
    ['scangate_reads_held_outbox_full_total', 'Reads held unacknowledged because the outbox was full or the disk low', () => counters.readsHeldOutboxFull],
    ['scangate_reads_refused_late_total', 'Held reads refused as SYSTEM_UNAVAILABLE, not decided, for waiting longer than mqtt.maxHoldMs', () => counters.readsRefusedLate],
    ['scangate_store_errors_total', 'LMDB writes that failed', () => counters.storeErrors],
    ['scangate_internal_errors_total', 'Failures no handler caught (SG_ERR_INTERNAL in the log)', () => counters.internalErrors],
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
    ['scangate_outbox_oldest_age_seconds', 'Age of the oldest event not yet acknowledged by JetStream, from its batch\'s sealing (0: the outbox is empty): alert on this, not on the last PubAck', () => {
      const t = outbox.oldestUnsentMs();
      return t === null ? 0 : Math.max(0, (Date.now() - t) / 1000);
    }],
    ['scangate_outbox_full', '1 when reads are held: the outbox is full, or the disk low (scangate_disk_low)', () => (outbox.full ? 1 : 0)],
    ['scangate_nats_connected', '1 when connected to NATS', () => (fwd.connected ? 1 : 0)],
  ];
  if (disk !== undefined) {
    gauges.push(
      ['scangate_disk_free_bytes', 'Free bytes on the data directory\'s filesystem at the last check (-1: unknown)', () => (Number.isNaN(disk.freeBytes) ? -1 : disk.freeBytes)],
      ['scangate_disk_low', 'Alarm: 1 while the data directory has less than outbox.minFreeDiskBytes free (reads held)', () => (disk.low ? 1 : 0)],
    );
  }
  for (const [name, help, get] of gauges) {
    new Gauge({ name, help, registers: [registry], collect() { this.set(get()); } });
  }
  if (uplink !== undefined) addUplinkMetrics(registry, uplink, outbox);
  addHistogram(registry, 'scangate_uplink_batch_delay_seconds', 'From a batch sealed in the outbox to its acknowledgement by central (one per batch; outages included)', fwd.batchDelay);
  return registry;
}

/**
 * A LatencyHistogram as a Prometheus histogram in seconds. prom-client's own Histogram only takes observations
 * one by one; the gateway counts into fixed buckets on its hot path and this reads them on scrape.
 */
export function addHistogram(registry: Registry, name: string, help: string, h: LatencyHistogram): void {
  const les = [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf'];
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      let cumulative = 0;
      const values = les.map((le, i) => {
        cumulative += h.counts[i]!;
        return { labels: { le }, value: cumulative, metricName: `${name}_bucket` };
      });
      values.push({ labels: {} as { le: string }, value: h.sumMs / 1000, metricName: `${name}_sum` });
      values.push({ labels: {} as { le: string }, value: h.count, metricName: `${name}_count` });
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** The uplink's alarms, lags and counters (README "NATS"). */
function addUplinkMetrics(registry: Registry, uplink: Uplink, outbox: Outbox): void {
  const f = uplink.forwarder.stats;
  const link = uplink.link.stats;
  const counters: [string, string, () => number][] = [
    ['scangate_uplink_events_forwarded_total', 'Events stored at central', () => f.events],
    ['scangate_uplink_bytes_forwarded_total', 'Batch bytes stored at central', () => f.bytes],
    ['scangate_uplink_resyncs_total', 'Resyncs of the forwarder from the events stream (each connection, and after a subject fence refusal)', () => f.resyncs],
    ['scangate_uplink_resync_stored_batches_total', 'Batches a resync found already stored (deleted without sending)', () => f.resyncStored],
    ['scangate_uplink_stream_full_rejects_total', 'Publishes refused because the events stream was full (10077)', () => f.streamFullRejects],
    ['scangate_uplink_subject_conflicts_total', 'Times another publisher was found on this gateway\'s subject', () => f.subjectConflicts],
    ['scangate_outbox_full_episodes_total', 'Times the outbox became full (reads held)', () => outbox.stats().fullEpisodes],
    ['scangate_disk_low_episodes_total', 'Times the data directory\'s disk went below outbox.minFreeDiskBytes free (reads held)', () => outbox.stats().diskLowEpisodes],
    ['scangate_nats_connects_total', 'NATS connections established (first and reconnects)', () => link.connects],
    ['scangate_nats_stale_connections_total', 'Links declared dead after unanswered pings', () => link.staleConnections],
  ];
  for (const [name, help, get] of counters) {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(get()); } });
  }
  new Counter({
    name: 'scangate_publish_failures_by_kind_total',
    help: 'Failed batch publishes by kind (fence-subject, fence-msgid, stream-full, timeout, unavailable, error)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(f.failuresByKind)) this.inc({ kind }, n);
    },
  });
  const gauges: [string, string, () => number][] = [
    ['scangate_uplink_stream_full', 'Alarm: 1 while the events stream refuses batches (they wait in the outbox)', () => (f.streamFull ? 1 : 0)],
    ['scangate_uplink_in_flight', 'Batch publishes outstanding', () => f.inFlight],
    ['scangate_uplink_window', 'Current publish window (halved when other gateways interleave on the stream)', () => f.window],
    ['scangate_uplink_last_ack_age_seconds', 'Seconds since the last PubAck (-1 before the first)', () => (f.lastAckMs === null ? -1 : (Date.now() - f.lastAckMs) / 1000)],
    ['scangate_nats_down_seconds', 'Seconds the NATS link has been down (0 when up)', () => (link.downSinceMs === null ? 0 : (Date.now() - link.downSinceMs) / 1000)],
  ];
  for (const [name, help, get] of gauges) {
    new Gauge({ name, help, registers: [registry], collect() { this.set(get()); } });
  }
  for (const [which, sync] of [['status', uplink.status], ['peer', uplink.peers]] as const) {
    if (sync === null) continue;
    const st = () => sync.stats();
    new Gauge({ name: `scangate_${which}_lag_messages`, help: `Messages of the ${which} stream not yet applied to the cache`, registers: [registry], collect() { this.set(st().lagMessages); } });
    new Gauge({ name: `scangate_${which}_lag_seconds`, help: `Age of the newest applied ${which} message while more wait (0 when caught up)`, registers: [registry], collect() { this.set(st().lagSeconds); } });
    new Gauge({ name: `scangate_${which}_applied_seq`, help: `Last ${which} stream sequence applied to the cache`, registers: [registry], collect() { this.set(st().lastSeq); } });
    const c: [string, string, (s: ReturnType<typeof st>) => number][] = [
      [`scangate_${which}_messages_applied_total`, `${which} messages applied to the cache`, (s) => s.applied],
      [`scangate_${which}_messages_redelivered_total`, `${which} messages delivered again and skipped (applied before)`, (s) => s.redelivered],
      [`scangate_${which}_messages_bad_total`, `${which} messages that could not be decoded (skipped, SG_ERR_STATUS_SYNC)`, (s) => s.bad],
      [`scangate_${which}_records_kept_local_total`, `${which} updates not applied because the local change is newer`, (s) => s.effects.keptLocal],
      [`scangate_${which}_records_invalid_total`, `${which} updates refused as not valid (SG_ERR_STATUS_SYNC; nothing of them written but the hold/recall flags of a valid key)`, (s) => s.effects.invalid],
      [`scangate_${which}_conflicts_total`, `${which} transitions this gateway also made itself (double decisions)`, (s) => s.effects.conflicts],
    ];
    for (const [name, help, get] of c) {
      new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(get(st())); } });
    }
  }
  if (uplink.query !== null) {
    const q = uplink.query.stats;
    new Counter({ name: 'scangate_queries_total', help: 'Query requests answered', registers: [registry], collect() { this.reset(); this.inc(q.requests); } });
  }
}

/** MQTT adapter metrics (refusals by reason, dropped messages, clients), added to a registry. Returns it. */
export function withMqttMetrics(registry: Registry, mqtt: MqttStats): Registry {
  new Counter({
    name: 'scangate_mqtt_refusals_total',
    help: 'MQTT connections, publishes and subscriptions refused, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      REFUSAL_REASONS.forEach((reason, i) => this.inc({ reason }, mqtt.refusals[i] ?? 0));
    },
  });
  const counters: [string, string, () => number][] = [
    ['scangate_mqtt_dropped_slow_subscriber_total', 'Messages (verdicts) not delivered to a subscriber whose queue was full (mqtt.limits.subscriberQueueMaxBytes)', () => mqtt.droppedToSlowSubscribers],
    ['scangate_mqtt_dropped_session_queue_total', 'QoS 1 messages not queued for a persistent session whose queue was full', () => mqtt.droppedSessionQueueFull],
    ['scangate_mqtt_dropped_pending_verdicts_total', 'Verdicts not handed to the external broker (disconnected, or mqtt.external.maxPendingVerdicts reached)', () => mqtt.droppedPendingVerdicts],
    ['scangate_mqtt_verdicts_published_total', 'Verdicts published to a subscriber (a reject counts once; none while no line controller subscribes)', () => mqtt.verdictsPublished],
    ['scangate_mqtt_redelivered_reads_total', 'Redelivered reads answered with their stored verdict, not decided again', () => mqtt.redeliveredReads],
    ['scangate_mqtt_retained_ignored_total', 'External mode: retained reads and commands replayed by the broker on subscribe, acknowledged and not decided', () => mqtt.retainedIgnored],
    ['scangate_mqtt_control_commands_total', 'Control commands handled', () => mqtt.controlCommands],
  ];
  for (const [name, help, get] of counters) {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(get()); } });
  }
  const gauges: [string, string, () => number][] = [
    ['scangate_mqtt_clients', 'Connected MQTT clients (external mode: 1 when connected to the broker)', () => mqtt.clients],
    ['scangate_mqtt_reads_in_flight', 'Reads decided and waiting for their event to be durable before the PUBACK', () => mqtt.readsInFlight],
  ];
  for (const [name, help, get] of gauges) {
    new Gauge({ name, help, registers: [registry], collect() { this.set(get()); } });
  }
  addHistogram(registry, 'scangate_mqtt_verdict_seconds', 'From the broker handing a read to the gateway to its verdict published (the decision included)', mqtt.verdictLatency);
  addHistogram(registry, 'scangate_mqtt_ack_delay_seconds', 'From a QoS 1 read\'s verdict to its acknowledgement: its event durable in the outbox (the group commit and the disk flush)', mqtt.ackLatency);
  return registry;
}

/** PLCs over OPC UA, per endpoint and reader (no series when opcua is off). */
export function withOpcuaMetrics(registry: Registry, status: () => OpcuaStatus | null, decisionLatency?: LatencyHistogram): Registry {
  if (decisionLatency !== undefined) {
    addHistogram(registry, 'scangate_opcua_decision_write_seconds', 'From a PLC read\'s decision to the PLC confirming the decision\'s write (every endpoint and reader)', decisionLatency);
  }
  type R = OpcuaStatus['endpoints'][number]['readers'][number];
  const perReader: [string, string, (r: R) => number][] = [
    ['scangate_opcua_reads_total', 'PLC reads handed to the pipeline', (r) => r.reads],
    ['scangate_opcua_lost_reads_total', 'PLC reads that never arrived (sequence gaps; recorded as NO_READ)', (r) => r.lostReads],
    ['scangate_opcua_replayed_reads_total', 'PLC reads delivered again (initial values, republish, duplicate events), not decided twice', (r) => r.replayed],
    ['scangate_opcua_decisions_written_total', 'Decisions written back to the PLC', (r) => r.decisionsWritten],
    ['scangate_opcua_decision_write_errors_total', 'Decisions the PLC refused', (r) => r.decisionWriteErrors],
    ['scangate_opcua_decisions_expired_total', 'Decisions dropped unwritten (session down longer than decisionMaxAgeMs)', (r) => r.decisionsExpired],
    ['scangate_opcua_unusable_values_total', 'PLC values that carried no usable read (bad status, not a structure, missing field), logged', (r) => r.unusable],
    ['scangate_opcua_scan_errors_total', 'Scan calls that failed or timed out (decided NO_READ)', (r) => r.scanErrors],
    ['scangate_opcua_scan_timeouts_total', 'Scan calls the gateway gave up on after requestTimeoutMs (also in scan_errors)', (r) => r.scanTimeouts],
    ['scangate_opcua_scan_no_reads_total', 'Scan calls that answered without a code (a genuine no-read)', (r) => r.scanNoReads],
    ['scangate_opcua_scans_dropped_total', 'Triggers dropped from a full Scan backlog (decided NO_READ without a Scan)', (r) => r.scansDropped],
    ['scangate_opcua_rebinds_total', 'Readers bound again after the PLC deleted their node and created it again', (r) => r.rebinds],
  ];
  for (const [name, help, get] of perReader) {
    new Counter({
      name,
      help,
      labelNames: ['endpoint', 'reader'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of status()?.endpoints ?? []) for (const r of e.readers) this.inc({ endpoint: e.id, reader: r.id }, get(r));
      },
    });
  }
  new Counter({
    name: 'scangate_opcua_reconnects_total',
    help: 'PLC connection breaks repaired',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of status()?.endpoints ?? []) this.inc({ endpoint: e.id }, e.reconnects);
    },
  });
  new Gauge({
    name: 'scangate_opcua_connected',
    help: '1 when the PLC session is up',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of status()?.endpoints ?? []) this.set({ endpoint: e.id }, e.state === 'connected' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'scangate_opcua_lost_reads_alarm',
    help: 'Readers that lost reads in the last 5 minutes (SG_ERR_OPCUA_READS_LOST)',
    registers: [registry],
    collect() {
      this.set(status()?.alarms.length ?? 0);
    },
  });
  return registry;
}
