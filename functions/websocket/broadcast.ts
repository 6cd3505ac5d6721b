import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type BroadcastResult, broadcastLiveEvent, type LiveEvent } from '@lcm/shared/api';
import { type LiveFunctionDeps, liveDeps } from '@lcm/shared/app';
import { logger, traced } from '@lcm/shared/platform';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';

/**
 * Target of the live-updates rule (api/live-rule.ts: every outbound CloudEvent of LCM): the
 * CloudEvent (the EventBridge `detail`) goes to the connections subscribed to its topics, each
 * seeing what its role and tenancy allow; gone connections (410) are removed.
 */
export function broadcastHandler(deps: () => LiveFunctionDeps = liveDeps) {
  return middy<EventBridgeEvent<string, LiveEvent>, BroadcastResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('ws-broadcast', async () => {
        const result = await broadcastLiveEvent(deps(), event.detail);
        logger.info('live event broadcast', { type: event['detail-type'], ...result });
        return result;
      }),
    );
}

export const handler = broadcastHandler();
