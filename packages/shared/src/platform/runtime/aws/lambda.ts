import { LambdaClient } from '@aws-sdk/client-lambda';
import { awsClient } from './client.ts';

/** The process's Lambda client (replaying stream failures to their consumer function). */
export const lambdaClient = /* @__PURE__ */ awsClient('LAMBDA', () => new LambdaClient({}));
