/**
 * Counters of the MQTT adapter: plain numbers (nothing allocated per message), exported to Prometheus on
 * scrape. Every refusal has a reason, a counter and a rate-limited log line (STYLE.md "Nothing disappears").
 */
import type { Logger } from 'pino';
import { LatencyHistogram } from '../../gateway/latency.js';

/** Why a connection, publish or subscription was refused (the `reason` label of the refusal counter). */
export const REFUSAL_REASONS = [
  'bad_credentials', // unknown user or wrong password
  'anonymous', // no credentials, from a remote address or with anonymous access disabled
  'client_id', // the client id is not bound to the user
  'certificate', // client certificate missing, not trusted, or its CN is not a user
  'tls_handshake', // TLS handshake failed
  'publish_denied', // ACL: the role may not publish on the topic
  'gateway_topic', // a client tried to publish on a verdict, reject, reply or state topic
  'subscribe_denied', // ACL: the role may not subscribe to the filter
  'packet_too_large', // mqtt.limits.maxPacketBytes
  'topic_levels', // mqtt.limits.maxTopicLevels
  'max_connections', // mqtt.limits.maxConnections
  'connect_rate', // mqtt.limits.maxConnectsPerAddressPerS
  'connect_timeout', // mqtt.limits.connectTimeoutMs
  'slow_subscriber', // mqtt.limits.drainTimeoutMs: a subscriber that stopped reading was disconnected
  'protocol', // a malformed packet or an unsupported protocol version
  'shutting_down', // a read arrived while the gateway stops (not acknowledged: redelivered later)
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const LOG_INTERVAL_MS = 10_000;

export class MqttStats {
  /** Refusals by reason, indexed as REFUSAL_REASONS. */
  readonly refusals: number[] = new Array<number>(REFUSAL_REASONS.length).fill(0);
  /** Messages for a subscriber dropped because its queue (mqtt.limits.subscriberQueueMaxBytes) was full. */
  droppedToSlowSubscribers = 0;
  /** QoS 1 messages not queued for a persistent session whose queue was full (mqtt.limits.sessionQueueMaxMessages). */
  droppedSessionQueueFull = 0;
  /** Verdicts not handed to an external broker because too many were pending (mqtt.external.maxPendingVerdicts). */
  droppedPendingVerdicts = 0;
  /** Verdict and reject messages published. */
  verdictsPublished = 0;
  /** Reads answered from the redelivery index (already decided and stored, redelivered after a reconnect or restart). */
  redeliveredReads = 0;
  /** External mode: retained reads and commands the broker replayed on subscribe, acknowledged and not decided. */
  retainedIgnored = 0;
  /** Control commands handled. */
  controlCommands = 0;
  /** Connected clients (embedded), or 1/0 for the connection to the external broker. */
  clients = 0;
  /** Reads decided and not yet durable (their acknowledgement waits). */
  readsInFlight = 0;
  /** From the broker handing a read to the gateway to its verdict published (ms). */
  readonly verdictLatency = new LatencyHistogram();
  /** From a read's verdict to its acknowledgement (its event durable in the outbox; ms). */
  readonly ackLatency = new LatencyHistogram();

  private readonly lastLog: number[] = new Array<number>(REFUSAL_REASONS.length).fill(0);
  private readonly suppressed: number[] = new Array<number>(REFUSAL_REASONS.length).fill(0);
  private readonly index = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r, i) => [r, i]));
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Count a refusal and log it, at most once per reason every 10 s (with the number suppressed since). */
  refuse(reason: RefusalReason, details: Record<string, unknown>, message: string): void {
    const i = this.index.get(reason)!;
    this.refusals[i]!++;
    const now = Date.now();
    if (now - this.lastLog[i]! < LOG_INTERVAL_MS) {
      this.suppressed[i]!++;
      return;
    }
    const suppressed = this.suppressed[i]!;
    this.lastLog[i] = now;
    this.suppressed[i] = 0;
    this.log.warn({ reason, ...details, ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}) }, message);
  }

  refusalCount(reason: RefusalReason): number {
    return this.refusals[this.index.get(reason)!]!;
  }

  /** Refusals by reason, for JSON status. */
  refusalsByReason(): Record<RefusalReason, number> {
    return Object.fromEntries(REFUSAL_REASONS.map((r, i) => [r, this.refusals[i]!])) as Record<RefusalReason, number>;
  }
}
