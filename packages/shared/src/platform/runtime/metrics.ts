import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './service.ts';

/** The process's Powertools Metrics (EMF), namespace `LCM`, dimension `service`. */
export const metrics = /* @__PURE__ */ new Metrics({
  serviceName: SERVICE_NAME,
  namespace: METRICS_NAMESPACE,
});
