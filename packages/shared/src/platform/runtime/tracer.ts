import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './service.ts';

/**
 * The process's Powertools Tracer. It traces only inside Lambda with X-Ray (AWS_EXECUTION_ENV
 * set, POWERTOOLS_TRACE_ENABLED not `false`); anywhere else, tests and the local stack included,
 * it is a no-op and `captureAWSv3Client` returns the client untouched.
 */
export const tracer = /* @__PURE__ */ new Tracer({ serviceName: SERVICE_NAME });
