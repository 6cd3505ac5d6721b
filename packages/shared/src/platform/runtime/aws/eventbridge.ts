import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { awsClient } from './client.ts';

/** The process's EventBridge client (AWS_ENDPOINT_URL_EVENTBRIDGE: the local bus). */
export const eventBridgeClient = /* @__PURE__ */ awsClient('EVENTBRIDGE', () => new EventBridgeClient({}));
