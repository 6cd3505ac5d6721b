/**
 * The Powertools instances, one per process. Separate modules, so a function that logs but
 * never builds an AWS client bundles the Logger only, not the X-Ray SDK behind the Tracer.
 */
export { logger } from './logger.ts';
export { metrics } from './metrics.ts';
export { METRICS_NAMESPACE, metricsStage, SERVICE_NAME } from './service.ts';
export { tracer } from './tracer.ts';
