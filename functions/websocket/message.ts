import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { handleLiveMessage } from '@lcm/shared/api';
import { type LiveFunctionDeps, liveDeps } from '@lcm/shared/app';
import { logger, traced } from '@lcm/shared/platform';
import middy from '@middy/core';

/**
 * The WebSocket routes `subscribe`, `unsubscribe` and `$default` (route selection
 * `$request.body.action`): the message is checked (topic, role, tenancy: api/live.ts) and the
 * reply (`subscribed`, `unsubscribed` or `error` with 400/403) is posted to the connection.
 */
export function messageHandler(deps: () => LiveFunctionDeps = liveDeps) {
  return middy<{ requestContext: { connectionId: string }; body?: string | null }, { statusCode: number }>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('ws-message', async () => {
        const reply = await handleLiveMessage(deps(), event.requestContext.connectionId, event.body ?? '');
        if (reply.type === 'error') logger.info('websocket message refused', { ...reply });
        return { statusCode: 200 };
      }),
    );
}

export const handler = messageHandler();
