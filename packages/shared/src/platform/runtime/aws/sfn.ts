import { SFNClient } from '@aws-sdk/client-sfn';
import { awsClient } from './client.ts';

/** The process's Step Functions client (AWS_ENDPOINT_URL_SFN: the local Step Functions endpoint). */
export const sfnClient = /* @__PURE__ */ awsClient('SFN', () => new SFNClient({}));
