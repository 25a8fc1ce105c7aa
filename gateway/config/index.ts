export { configSchema, defaultGatewayId, type Config, type ConfigInput, type StationConfig, type LineConfig } from './schema.js';
export { loadConfig, envKeys, envName, ENV_PREFIX, type LoadOptions, type LoadedConfig } from './load.js';
