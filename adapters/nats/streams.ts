/** Subjects and the JetStream streams the gateway needs, created when missing (nats.ensureStreams). */
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { GatewayError } from '../../gateway/errors.js';

export const EVENTS_SUBJECTS = 'scangate.v1.events.>';
export const STATUS_SUBJECTS = 'scangate.v1.status.>';
/** Header carrying the outbox epoch of the gateway that published a batch (tells our batches from another incarnation's). */
export const EPOCH_HEADER = 'Scangate-Epoch';

/** Subject of a gateway's event batches. */
export function eventsSubject(site: string, gatewayId: string): string {
  return `scangate.v1.events.${site}.${gatewayId}`;
}

/** Every gateway's event batches of a site (peer sync). */
export function siteEventsSubject(site: string): string {
  return `scangate.v1.events.${site}.*`;
}

/** Central's status updates for a site. */
export function statusSubject(site: string): string {
  return `scangate.v1.status.${site}`;
}

/** Request/reply lookups of one gateway. */
export function querySubject(site: string, gatewayId: string): string {
  return `scangate.v1.query.${site}.${gatewayId}`;
}

/** Make sure the events stream exists and captures our subject. */
export function ensureEventsStream(nc: NatsConnection, name: string, duplicateWindowMs: number, subject: string, create: boolean): Promise<void> {
  return ensureStream(nc, name, subject, create, EVENTS_SUBJECTS, 'nats.eventsStream', {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(duplicateWindowMs),
  });
}

/** Make sure the status stream exists and captures the site's status subject. */
export function ensureStatusStream(nc: NatsConnection, name: string, subject: string, create: boolean): Promise<void> {
  return ensureStream(nc, name, subject, create, STATUS_SUBJECTS, 'nats.statusStream', {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // Central must never lose an update silently: a full status stream refuses new ones (central sees the error).
    discard: DiscardPolicy.New,
  });
}

async function ensureStream(
  nc: NatsConnection,
  name: string,
  subject: string,
  create: boolean,
  subjects: string,
  key: string,
  cfg: Partial<StreamConfig>,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(name);
    const have = info.config.subjects ?? [];
    if (!have.some((s) => subjectMatches(s, subject))) {
      throw new GatewayError('SG_ERR_NATS_STREAM', `stream ${name} exists but does not capture ${subject} (subjects: ${have.join(', ')})`, {
        hint: `add ${subjects} to the stream's subjects, or set ${key} to a stream that has it`,
      });
    }
    return;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) {
      throw new GatewayError('SG_ERR_NATS_STREAM', `cannot look up stream ${name}: ${(err as Error).message}`, {
        cause: err,
        hint: 'check that JetStream is enabled on the NATS server (nats-server -js) and that this user may use it',
      });
    }
  }
  if (!create) {
    throw new GatewayError('SG_ERR_NATS_STREAM', `stream ${name} does not exist`, {
      hint: 'create it, or set nats.ensureStreams: true to let the gateway create it',
    });
  }
  try {
    await jsm.streams.add({ ...cfg, name, subjects: [subjects] });
  } catch (err) {
    // Another gateway may have created it between our lookup and our add (10058: stream name in use).
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
