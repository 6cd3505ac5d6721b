import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, ensureTable } from '@lcm/shared/platform';
import { inject } from 'vitest';

export interface TestTable {
  tableName: string;
  client: DynamoDBDocumentClient;
  endpoint: string;
  /** Deletes the table and closes the client; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * A fresh table (unique name) on the run's DynamoDB Local, created with the production key
 * schema via ensureTable. Use in beforeAll/afterAll (or per test) so tests never share state.
 */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const endpoint = inject('dynamodbEndpoint');
  if (!endpoint) {
    throw new Error('dynamodbEndpoint was not provided: run this test in the `integration` vitest project');
  }
  const client = createDocumentClient({ endpoint });
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  let cleaned = false;
  return {
    tableName,
    client,
    endpoint,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      try {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
      } catch (e) {
        if (!(e instanceof ResourceNotFoundException)) throw e;
      } finally {
        client.destroy();
      }
    },
  };
}
