/**
 * PLCs over OPC UA (public surface). Import this module only when `opcua.enabled`: node-opcua is large and
 * slow to load.
 */
export { OpcuaAdapter, ALARM_WINDOW_MS, type OpcuaAdapterDeps, type OpcuaAlarm, type OpcuaEndpointStatus, type OpcuaReaderStatus, type OpcuaStatus } from './adapter.js';
export type { EndpointState, EndpointStats } from './endpoint.js';
export type { ReaderStats } from './reader.js';
export { SeqTracker, SEQ_MAX, type SeqStep, type SeqKind } from './seq.js';
export { stripIso15434, scanResultCodes, decodeScanResultBody } from './scan-data.js';
