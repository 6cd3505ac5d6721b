import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './service.ts';

/**
 * The process's one Powertools Logger (level from POWERTOOLS_LOG_LEVEL). Handlers add the
 * Lambda context and their keys (the API middleware, `stepHandler`); concurrent invocations in
 * one process (the local stack) keep their keys apart through Lambda's InvokeStore.
 */
export const logger = /* @__PURE__ */ new Logger({ serviceName: SERVICE_NAME });
