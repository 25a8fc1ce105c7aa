export { Engine } from './engine.js';
export { DEFAULT_RULES, resolveRules, type OperationRule, type StationRules } from './rules.js';
export { CONTROL_COMMANDS, type ControlOutcome } from './control.js';
export type { AggregationChange, ChildOutcome, Decision, Effects } from './types.js';
