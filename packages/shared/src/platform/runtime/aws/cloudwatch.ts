import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClient } from './client.ts';

/** The process's CloudWatch client. */
export const cloudWatchClient = /* @__PURE__ */ awsClient('CLOUDWATCH', () => new CloudWatchClient({}));
