import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from './client.ts';

/** The process's SQS client (the stream consumers' on-failure queues; issue 11, item 5). */
export const sqsClient = /* @__PURE__ */ awsClient('SQS', () => new SQSClient({}));
