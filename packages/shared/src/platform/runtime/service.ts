/**
 * The service every log line, metric and trace segment is named after: POWERTOOLS_SERVICE_NAME,
 * which CDK sets per function kind (the function catalogue); `lcm` where nothing sets it (tests,
 * scripts). Metrics go to the `LCM` CloudWatch namespace.
 */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || 'lcm';
export const METRICS_NAMESPACE = 'LCM';

/**
 * The `stage` dimension of every business metric: LCM_STAGE (CDK sets it on every function, the
 * local stack to `local`), read when metrics are published; `unknown` where nothing sets it.
 */
export const metricsStage = (): string => process.env.LCM_STAGE || 'unknown';
