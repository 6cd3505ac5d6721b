import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { buildOpenApiDocument, type OpenApiDocument, operationsHandler } from '@lcm/shared/api';
import {
  cachedCheck,
  dynamoDbClient,
  HttpError,
  json,
  logger,
  readEnv,
  TABLE_ENV,
} from '@lcm/shared/platform';

/**
 * GET /v1/health (public): `{status: "ok"}` or a 503, nothing else (no table name, no time).
 * Whether the table is reachable is a cached check: one DescribeTable per HEALTH_OK_TTL_MS while
 * it answers, per HEALTH_FAIL_TTL_MS while it does not, per warm Lambda, shared by concurrent
 * callers, so unauthenticated traffic cannot drive DescribeTable. Through the runtime kit's
 * DynamoDB client (AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local); each check is bounded
 * by CHECK_TIMEOUT_MS. Needs dynamodb:DescribeTable on the table.
 * GET /v1/openapi.json: the API's OpenAPI 3.1 document (packages/shared/src/api/openapi.ts).
 */
const CHECK_TIMEOUT_MS = 2500;
export const HEALTH_OK_TTL_MS = 30_000;
export const HEALTH_FAIL_TTL_MS = 5_000;
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The document names the server it was fetched from (custom domain or execute-api host, or the
 * local stack), so tools that load it from the API call the same API. Built once per host.
 */
const DOCUMENT_CACHE = { 'cache-control': 'public, max-age=300' };
const documents = new Map<string, OpenApiDocument>();

function openApiDocumentFor(serverUrl: string): OpenApiDocument {
  let document = documents.get(serverUrl);
  if (!document) {
    if (documents.size >= 8) documents.clear(); // a few hosts at most; never grows without bound
    document = buildOpenApiDocument({ serverUrl });
    documents.set(serverUrl, document);
  }
  return document;
}

function serverUrlOf(event: {
  headers?: Record<string, string | undefined>;
  requestContext: { domainName: string };
}) {
  const proto = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return `${proto}://${event.requestContext.domainName}`;
}

const tableCheck = cachedCheck(
  async () => {
    const { TABLE_NAME: tableName } = readEnv(TABLE_ENV, 'api');
    const { Table } = await dynamoDbClient().send(new DescribeTableCommand({ TableName: tableName }), {
      abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
    if (
      Table?.TableStatus !== undefined &&
      Table.TableStatus !== 'ACTIVE' &&
      Table.TableStatus !== 'UPDATING'
    )
      throw new Error(`table status ${Table.TableStatus}`);
  },
  { okTtlMs: HEALTH_OK_TTL_MS, failTtlMs: HEALTH_FAIL_TTL_MS },
);

export const handler = operationsHandler('health', {
  getHealth: async () => {
    readEnv(TABLE_ENV, 'api'); // a misconfigured function is a 500, not a cached 503
    const outcome = await tableCheck();
    if (!outcome.ok) {
      // The table's name and the cause go to the log only; the public answer names nothing.
      logger.warn('table unreachable', { tableName: process.env.TABLE_NAME, error: outcome.error });
      throw new HttpError(503, 'The service is not healthy.', {
        title: 'Unhealthy',
        headers: { ...NO_STORE, 'retry-after': '5' },
      });
    }
    return json(200, { status: 'ok' }, NO_STORE);
  },
  getOpenApi: async ({ event }) => json(200, openApiDocumentFor(serverUrlOf(event)), DOCUMENT_CACHE),
});
