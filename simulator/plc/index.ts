/** The virtual PLC: a line model and the node-opcua server in front of it. */
export { VirtualPlc, PLC_NAMESPACE_URI, type VirtualPlcOptions, type SecurityModeName, type SecurityPolicyName } from './server.js';
export {
  LineModel,
  DECISION_ACCEPT,
  DECISION_REJECT,
  READER_WAYS,
  nowMs,
  wrapIso15434,
  type DecisionRecord,
  type LineReaderSpec,
  type LineStats,
  type ReadRecord,
  type ReaderState,
  type ReaderWay,
} from './line.js';
export { AUTOID_URI, LINE_TYPES_URI } from './nodeset.js';
