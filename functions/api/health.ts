import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { operationsHandler } from '@lcm/shared/api/dispatch';
import { HttpError } from '@lcm/shared/http/errors';
import { apiLogger } from '@lcm/shared/http/middleware';
import { json } from '@lcm/shared/http/problem';

/**
 * GET /v1/health: is the table reachable? Region, credentials and endpoint come from the
 * environment through the SDK's standard chain (AWS_ENDPOINT_URL_DYNAMODB points it at
 * DynamoDB Local). Needs dynamodb:DescribeTable on the table.
 */
const dynamodb = new DynamoDBClient({ maxAttempts: 2 });
const CHECK_TIMEOUT_MS = 2500;
const NO_STORE = { 'cache-control': 'no-store' };

export const handler = operationsHandler('health', {
  getHealth: async () => {
    const tableName = process.env.TABLE_NAME;
    if (!tableName) throw new Error('TABLE_NAME is not set');
    let tableStatus: string | undefined;
    try {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }), {
        abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
      tableStatus = Table?.TableStatus;
    } catch (error) {
      apiLogger.warn('table unreachable', { tableName, error });
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
  // The OpenAPI document generator is not written yet.
  getOpenApi: async () => {
    throw new HttpError(501, 'The OpenAPI document is not available yet.');
  },
});
