/** Public surface of adapters/nats: the uplink to central over NATS JetStream. */
export { Uplink, type UplinkDeps, type UplinkStats } from './uplink.js';
export { Forwarder, classify, type ForwarderOptions, type ForwarderStats } from './forwarder.js';
export { NatsLink, type LinkStats } from './link.js';
export { StatusSync, PeerSync, type SyncStats } from './sync.js';
export { QueryResponder, answer, type QueryLookups } from './query.js';
export { connectionOptions, authMethod, type NatsConnectConfig } from './auth.js';
export { lockUplink } from './lock.js';
export { OrderedWindow, type Fence, type FailureKind } from './window.js';
export { EPOCH_HEADER, EVENTS_SUBJECTS, STATUS_SUBJECTS, eventsSubject, siteEventsSubject, statusSubject, querySubject, ensureEventsStream, ensureStatusStream, subjectMatches } from './streams.js';
