import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientOptions {
  /** Custom endpoint (DynamoDB Local); omit in AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Static credentials; defaults to dummy ones for a loopback endpoint, else the SDK chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK retry attempts (default: the SDK's). */
  maxAttempts?: number;
  /** Concurrent connections (SDK default 50); raise it for many parallel requests in one process. */
  maxSockets?: number;
}

const LOOPBACK = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i;

/**
 * The one way to build a DynamoDB client: for a loopback endpoint (DynamoDB Local) dummy
 * credentials and a default region, else the SDK's chain. Handlers get theirs from the runtime
 * kit (`dynamoDbClient()`, `documentClient()` in platform/runtime), which calls this with the
 * environment's endpoint; tests and the sandbox call it with theirs.
 */
export function createDynamoDbClient(opts: DocumentClientOptions = {}): DynamoDBClient {
  const { endpoint } = opts;
  const isLocal = endpoint !== undefined && LOOPBACK.test(endpoint);
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    region: opts.region ?? (isLocal ? 'us-east-1' : undefined),
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
}

/**
 * The document client over a DynamoDB client: undefined attributes are dropped (optional fields
 * are simply absent), class instances are never marshalled by accident.
 */
export const documentClientOf = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });

/** A document client on its own DynamoDB client (tests, the sandbox, benchmarks). */
export const createDocumentClient = (opts: DocumentClientOptions = {}): DynamoDBDocumentClient =>
  documentClientOf(createDynamoDbClient(opts));
