/** Public surface of gateway/sync: applying central's status updates and peers' transitions to the cache. */
export { applyStatusBatch, applyPeerBatch, appliedSeq, addCounts, emptyCounts, META_STATUS_SEQ, META_PEER_SEQ, type ApplyCounts, type ApplyResult } from './apply.js';
export { mergeCentral, mergePeer, CENTRAL_FLAGS, type CentralSerial, type PeerTransition, type Merge, type MergeOutcome, type PeerOutcome } from './merge.js';
