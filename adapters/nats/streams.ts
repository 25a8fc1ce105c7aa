/** The JetStream streams the gateway needs, created when missing (nats.ensureStreams). */
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstreamManager } from '@nats-io/jetstream';
import { GatewayError } from '../../gateway/errors.js';

export const EVENTS_SUBJECTS = 'scangate.v1.events.>';

/** Subject of a gateway's event batches. */
export function eventsSubject(site: string, gatewayId: string): string {
  return `scangate.v1.events.${site}.${gatewayId}`;
}

/** Make sure the events stream exists and captures our subject. */
export async function ensureEventsStream(nc: NatsConnection, name: string, duplicateWindowMs: number, subject: string, create: boolean): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(name);
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((s) => subjectMatches(s, subject))) {
      throw new GatewayError('SG_ERR_NATS_STREAM', `stream ${name} exists but does not capture ${subject} (subjects: ${subjects.join(', ')})`, {
        hint: `add ${EVENTS_SUBJECTS} to the stream's subjects, or set nats.eventsStream to a stream that has it`,
      });
    }
    return;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (!(err instanceof JetStreamApiError) || err.code !== 10059) {
      throw new GatewayError('SG_ERR_NATS_STREAM', `cannot look up stream ${name}: ${(err as Error).message}`, {
        cause: err,
        hint: 'check that JetStream is enabled on the NATS server (nats-server -js)',
      });
    }
  }
  if (!create) {
    throw new GatewayError('SG_ERR_NATS_STREAM', `stream ${name} does not exist`, {
      hint: 'create it, or set nats.ensureStreams: true to let the gateway create it',
    });
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [EVENTS_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(duplicateWindowMs),
    });
  } catch (err) {
    // Another gateway may have created it between our lookup and our add.
    if (err instanceof JetStreamApiError && err.code === 10058) return;
    throw new GatewayError('SG_ERR_NATS_STREAM', `cannot create stream ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** NATS subject wildcard match: `*` one token, `>` the rest. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
