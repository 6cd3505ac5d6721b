import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, ensureTable } from '@lcm/shared/platform';
import { afterAll, beforeAll, inject } from 'vitest';

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

/**
 * The prologue of a test file that drives the API handlers against DynamoDB Local: a fresh table
 * made before the file's tests (TABLE_NAME and the DynamoDB endpoint in the environment, as the
 * handlers read them; no WORKFLOW_ENGINE, so a test passes its own engine) and deleted after them.
 * `table()` is the table once the file's beforeAll has run.
 */
export function useApiTable(prefix: string): { table: () => TestTable } {
  let t: TestTable | undefined;
  beforeAll(async () => {
    t = await createTestTable(prefix);
    process.env.TABLE_NAME = t.tableName;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
    delete process.env.WORKFLOW_ENGINE;
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  return {
    table: () => {
      if (!t) throw new Error('useApiTable: the table is made in beforeAll; use it inside a test');
      return t;
    },
  };
}

/** A template of one 48-core metal host (m5zn.metal), created through the templates API handler. */
export const METAL_48_TEMPLATE = {
  name: 'metal-48',
  instanceType: 'm5zn.metal',
  capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
  amiId: 'ami-0123456789abcdef0',
  costPerHourUsd: 3.96,
  licenseType: 'ENTERPRISE',
} as const;
