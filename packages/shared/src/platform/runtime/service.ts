/**
 * The service every log line, metric and trace segment is named after: POWERTOOLS_SERVICE_NAME,
 * which CDK sets per function kind (the function catalogue); `lcm` where nothing sets it (tests,
 * scripts). Metrics go to the `LCM` CloudWatch namespace.
 */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || 'lcm';
export const METRICS_NAMESPACE = 'LCM';
