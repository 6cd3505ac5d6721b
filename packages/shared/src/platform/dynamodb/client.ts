import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientOptions {
  /** Custom endpoint (DynamoDB Local); omit in AWS. */
  endpoint?: string;
  region?: string;
  /** Static credentials; defaults to dummy ones for a loopback endpoint, else the SDK chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK retry attempts (default: the SDK's). */
  maxAttempts?: number;
  /** Concurrent connections (SDK default 50); raise it for many parallel requests in one process. */
  maxSockets?: number;
}

const LOOPBACK = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i;

/**
 * The one way to get a DynamoDB client: undefined attributes are dropped (optional fields
 * are simply absent), class instances are never marshalled by accident.
 */
export function createDocumentClient(opts: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const isLocal = endpoint !== undefined && LOOPBACK.test(endpoint);
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    region: opts.region ?? process.env.AWS_REGION ?? (isLocal ? 'us-east-1' : undefined),
    ...(opts.credentials
      ? { credentials: opts.credentials }
      : isLocal
        ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.maxSockets !== undefined
      ? {
          requestHandler: {
            httpAgent: { maxSockets: opts.maxSockets },
            httpsAgent: { maxSockets: opts.maxSockets },
          },
        }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}
