import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyInconsistentStateError,
  IdempotencyItemNotFoundError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { IDEMPOTENCY_KEY_PREFIX, IDEMPOTENCY_PARTITION } from '../dynamodb/keys.ts';
import { TABLE } from '../dynamodb/table.ts';
import { dynamoDbClient } from '../runtime/aws/dynamodb.ts';
import { readEnv, TABLE_ENV } from '../runtime/env.ts';
import { HttpError, problemTypeFor } from './errors.ts';
import { IDEMPOTENCY_TTL_SECONDS, type IdempotentCall, REPLAYED_HEADER } from './idempotency.ts';
import type { HttpResult } from './problem.ts';

/**
 * `runIdempotent`: an API command run at most once per `Idempotency-Key` (http/idempotency.ts has
 * the semantics and parses the header), with the Powertools idempotency layer on the single table.
 */

/** A reply that is not stored (not 2xx): carried out of the idempotent function. */
class NotStored extends Error {
  constructor(readonly result: HttpResult) {
    super('reply not stored');
  }
}

let cached: { tableName: string; client: DynamoDBClient; layer: DynamoDBPersistenceLayer } | undefined;

/** One persistence layer per table and client (TABLE_NAME, and the runtime kit's DynamoDB client). */
function persistenceLayer(): DynamoDBPersistenceLayer {
  const { TABLE_NAME: tableName } = readEnv(TABLE_ENV, 'api');
  const client = dynamoDbClient();
  if (cached?.tableName !== tableName || cached.client !== client) {
    const layer = new DynamoDBPersistenceLayer({
      tableName,
      keyAttr: TABLE.partitionKey,
      sortKeyAttr: TABLE.sortKey,
      staticPkValue: IDEMPOTENCY_PARTITION,
      expiryAttr: TABLE.ttlAttribute,
      awsSdkV3Client: client,
    });
    cached = { tableName, client, layer };
  }
  return cached.layer;
}

/** The stored form of a reply: plain JSON values only (DynamoDB cannot store undefined). */
function storable(result: HttpResult): HttpResult {
  return JSON.parse(JSON.stringify(result)) as HttpResult;
}

/** A replayed reply says so (the stored reply as it was, plus this header). */
const withReplayedHeader = <T>(stored: T): T => {
  const result = stored as HttpResult;
  return { ...result, headers: { ...result.headers, [REPLAYED_HEADER]: 'true' } } as T;
};

/**
 * Runs `fn` at most once per (caller, operation, key) within the TTL; see the module comment.
 * `context` bounds how long the in-progress mark blocks repeats.
 */
export async function runIdempotent(
  call: IdempotentCall,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  fn: () => Promise<HttpResult>,
  log: (message: string, extra: Record<string, unknown>) => void = () => {},
): Promise<HttpResult> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
    hashFunction: 'sha256',
    lambdaContext: context as Context,
    responseHook: withReplayedHeader,
  });
  /** The reply of this invocation's run of `fn`, if it ran. */
  let outcome: HttpResult | undefined;
  const once = makeIdempotent(
    async (_data: { key: unknown; request: unknown }): Promise<HttpResult> => {
      const result = await fn();
      const status = result.statusCode ?? 200;
      if (status < 200 || status > 299) {
        outcome = result;
        throw new NotStored(result);
      }
      outcome = storable(result);
      return outcome;
    },
    { persistenceStore: persistenceLayer(), config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
  );

  try {
    return await once({
      key: { sub: call.callerSub, operationId: call.operationId, key: call.key },
      request: call.request ?? null,
    });
  } catch (error) {
    if (error instanceof NotStored) return error.result;
    if (error instanceof IdempotencyValidationError) {
      throw new HttpError(
        422,
        'This Idempotency-Key was already used with a different request; use a new key for a new request.',
        { title: 'Idempotency key reused', type: problemTypeFor('IDEMPOTENCY_KEY_REUSED') },
      );
    }
    if (
      error instanceof IdempotencyAlreadyInProgressError ||
      error instanceof IdempotencyInconsistentStateError ||
      error instanceof IdempotencyItemNotFoundError
    ) {
      throw new HttpError(409, 'A request with this Idempotency-Key is still in progress; retry shortly.', {
        title: 'Request in progress',
        type: problemTypeFor('IDEMPOTENCY_IN_PROGRESS'),
        headers: { 'retry-after': '1' },
      });
    }
    if (error instanceof IdempotencyPersistenceLayerError) {
      // The command ran and only saving (or clearing) the record failed: the caller still gets
      // the reply; a repeat is refused as in progress until the mark lapses, then runs again.
      if (outcome !== undefined) {
        log('idempotency record not saved', { operationId: call.operationId, error });
        return outcome;
      }
      // Throttling and the like surface as themselves (503 with Retry-After); the rest is a 500.
      if (error.cause instanceof Error) throw error.cause;
    }
    throw error;
  }
}
