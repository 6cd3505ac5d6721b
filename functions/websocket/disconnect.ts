import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { closeLiveConnection } from '@lcm/shared/api';
import { type LiveFunctionDeps, liveDeps } from '@lcm/shared/app';
import { logger, traced } from '@lcm/shared/platform';
import middy from '@middy/core';

/** WebSocket $disconnect: the connection's item and its subscriptions go (api/live-store.ts). */
export function disconnectHandler(deps: () => LiveFunctionDeps = liveDeps) {
  return middy<{ requestContext: { connectionId: string } }, { statusCode: number }>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('ws-disconnect', async () => {
        await closeLiveConnection(deps(), event.requestContext.connectionId);
        return { statusCode: 200 };
      }),
    );
}

export const handler = disconnectHandler();
