import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { openLiveConnection, verifyLiveToken } from '@lcm/shared/api';
import { type LiveFunctionDeps, liveDeps } from '@lcm/shared/app';
import { logger, traced } from '@lcm/shared/platform';
import middy from '@middy/core';

/** What API Gateway's WebSocket API hands a $connect route (the members LCM reads). */
export interface WebSocketConnectEvent {
  requestContext: { connectionId: string; routeKey?: string };
  queryStringParameters?: Record<string, string | undefined> | null;
}

/**
 * WebSocket $connect (issue 14, item 3): the access token of `?token=` is checked as the HTTP API's
 * JWT authorizer checks it (api/live-auth.ts); a refused token answers 401 and API Gateway
 * refuses the connection. An accepted one stores the connection with its caller's roles and
 * tenant (api/live.ts), which every subscription and delivery is checked against.
 */
export function connectHandler(deps: () => LiveFunctionDeps = liveDeps) {
  return middy<WebSocketConnectEvent, { statusCode: number; body?: string }>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('ws-connect', async () => {
        const d = deps();
        const verdict = await verifyLiveToken(event.queryStringParameters?.token, d.tokenCheck);
        if (!verdict.ok) {
          logger.info('websocket connection refused', { reason: verdict.reason });
          return { statusCode: 401, body: 'Unauthorized' };
        }
        const connection = await openLiveConnection(d, event.requestContext.connectionId, verdict.claims);
        if (!connection) return { statusCode: 401, body: 'Unauthorized' };
        logger.info('websocket connected', { sub: connection.sub, roles: connection.roles });
        return { statusCode: 200 };
      }),
    );
}

export const handler = connectHandler();
