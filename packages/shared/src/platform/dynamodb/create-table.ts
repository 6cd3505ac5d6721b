import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE } from './table.ts';

/**
 * The table as the local runtime and the tests create it, derived from TABLE (the CDK data
 * stack declares the same keys, indexes, billing mode and stream view from TABLE).
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes = [
    TABLE.partitionKey,
    TABLE.sortKey,
    ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
      IndexName: i.indexName,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' },
        { AttributeName: i.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

export interface EnsureTableOptions {
  /** How long to wait for ACTIVE (default 60 s). */
  timeoutMs?: number;
}

/**
 * Creates the table when it is missing, waits until it and its indexes are ACTIVE and enables
 * TTL on TABLE.ttlAttribute. Safe to call concurrently and repeatedly. Returns true when this
 * call created the table.
 */
export async function ensureTable(
  anyClient: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  opts: EnsureTableOptions = {},
): Promise<boolean> {
  // The document client forwards control-plane commands unchanged; one type keeps send() callable.
  const client = anyClient as DynamoDBClient;
  let created = false;
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    created = true;
  } catch (e) {
    // Already there (or being created by a concurrent caller): just wait for it.
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  await waitUntilActive(client, tableName, opts.timeoutMs ?? 60_000);

  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const ttlStatus = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (ttlStatus !== 'ENABLED' && ttlStatus !== 'ENABLING') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  }
  return created;
}

async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
    }
    if (Date.now() > deadline) {
      throw new Error(`table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
