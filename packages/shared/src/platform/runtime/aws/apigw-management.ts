import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { tracer } from '../tracer.ts';

/** What posting to a WebSocket connection came to: `gone` is API Gateway's 410 (the client left). */
export type PostOutcome = 'sent' | 'gone';

/**
 * Posts to the connections of a WebSocket API through its management API (`PostToConnection` on
 * `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`, LCM_WS_ENDPOINT). One client per
 * endpoint, traced like every AWS client of the runtime kit.
 */
export function connectionPosterFor(
  endpoint: string,
): (connectionId: string, data: string) => Promise<PostOutcome> {
  const client = tracer.captureAWSv3Client(new ApiGatewayManagementApiClient({ endpoint }));
  const encoder = new TextEncoder();
  return async (connectionId, data) => {
    try {
      await client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(data) }),
      );
      return 'sent';
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((e as Error).name === 'GoneException' || status === 410) return 'gone';
      throw e;
    }
  };
}
