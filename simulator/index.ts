/**
 * The load-testing simulator (`scangate simulate`, `scangate demo`): a virtual site of scanners, line
 * controllers and a central system around a gateway under test, with exact checks of every verdict and
 * event. The virtual PLC is in ./plc.
 */
export { simulate, type RampOptions, type RampStep, type SimulateOptions, type SimulateResult } from './simulate.js';
export { runLoad, type LoadOptions } from './run.js';
export { Target, plcOpcuaConfig, type TargetOptions, type PlcOptions } from './target.js';
export { buildReport, summary, type Report, type TimelineSample, type PlcStats } from './report.js';
export { renderHtml } from './html.js';
export { DEFAULT_LAYOUT, gatewayConfig, siteConfig, siteStations, type SiteLayout, type SimStation } from './site.js';
export { Workload, type WorkloadOptions } from './workload.js';
export { ANY_STATUS, ERROR_KINDS, Kind, REASON, REASON_NAMES, type ErrorKindName } from './kinds.js';
export { Population, Rng, checkDigit, CSET82 } from './population.js';
export { measureAedesCeiling, type BaselineResult } from './baseline.js';
export { UplinkProxy, type OutageMode } from './proxy.js';
export { parseDuration, parseKill, parseWindows, type FaultSpecs, type FaultRecord } from './faults.js';
export { startNatsServer, type NatsChild } from './nats-server.js';
