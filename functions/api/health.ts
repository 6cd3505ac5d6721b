import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { buildOpenApiDocument, type OpenApiDocument, operationsHandler } from '@lcm/shared/api';
import { dynamoDbClient, HttpError, json, logger, readEnv, TABLE_ENV } from '@lcm/shared/platform';

/**
 * GET /v1/health: is the table reachable? Through the runtime kit's DynamoDB client (region,
 * credentials and endpoint from the SDK's standard chain; AWS_ENDPOINT_URL_DYNAMODB points it at
 * DynamoDB Local); the check is bounded by CHECK_TIMEOUT_MS. Needs dynamodb:DescribeTable on the table.
 * GET /v1/openapi.json: the API's OpenAPI 3.1 document (packages/shared/src/api/openapi.ts).
 */
const CHECK_TIMEOUT_MS = 2500;
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

export const handler = operationsHandler('health', {
  getHealth: async () => {
    const { TABLE_NAME: tableName } = readEnv(TABLE_ENV, 'api');
    let tableStatus: string | undefined;
    try {
      const { Table } = await dynamoDbClient().send(new DescribeTableCommand({ TableName: tableName }), {
        abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
      tableStatus = Table?.TableStatus;
    } catch (error) {
      logger.warn('table unreachable', { tableName, error });
      throw new HttpError(503, `The table ${tableName} is not reachable.`, {
        title: 'Unhealthy',
        headers: { ...NO_STORE, 'retry-after': '5' },
      });
    }
    return json(
      200,
      {
        status: 'ok',
        table: { name: tableName, reachable: true, status: tableStatus },
        time: new Date().toISOString(),
      },
      NO_STORE,
    );
  },
  getOpenApi: async ({ event }) => json(200, openApiDocumentFor(serverUrlOf(event)), DOCUMENT_CACHE),
});
