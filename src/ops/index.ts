/**
 * `tether-rt/ops`: what `tether serve` wraps around a server, for apps that embed one: layered configuration,
 * logging, Prometheus metrics, health routes and the dashboard feed (docs/operations.md).
 */
export { prepareOperations, type Operations, type PrepareOptions } from './operations.ts';
export { ConfigError } from './config-load.ts';
export { PRESET_NAMES, type ConfigKey, type PresetName, type ServeConfig } from './config.ts';
export { ServerMetrics, type MetricsOptions, type MetricTotals } from './metrics.ts';
