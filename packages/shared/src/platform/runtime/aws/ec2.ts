import { EC2Client } from '@aws-sdk/client-ec2';
import { awsClient } from './client.ts';

/** The process's EC2 client. */
export const ec2Client = /* @__PURE__ */ awsClient('EC2', () => new EC2Client({}));
