import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput, ensureTable, TABLE } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';

describe('table creation from TABLE', () => {
  let t: TestTable;
  beforeAll(async () => {
    t = await createTestTable('create');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('creates the key schema, the three GSIs (projection ALL), the stream and TTL', async () => {
    const { Table } = await t.client.send(new DescribeTableCommand({ TableName: t.tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => ({
      name: i.IndexName,
      keys: i.KeySchema?.map((k) => k.AttributeName),
      projection: i.Projection?.ProjectionType,
    }));
    expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
      TABLE.indexes.map((i) => ({ name: i.indexName, keys: [i.partitionKey, i.sortKey], projection: 'ALL' })),
    );
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const ttl = await t.client.send(new DescribeTimeToLiveCommand({ TableName: t.tableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(TABLE.ttlAttribute);
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
  });

  it('is idempotent and safe to call concurrently', async () => {
    const results = await Promise.all([1, 2, 3].map(() => ensureTable(t.client, t.tableName)));
    expect(results).toEqual([false, false, false]);
  });

  it('declares on-demand billing and every key attribute as a string', () => {
    const input = createTableInput('x');
    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
    expect(input.AttributeDefinitions?.map((a) => a.AttributeName).sort()).toEqual(
      ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'PK', 'SK'].sort(),
    );
    expect(new Set(input.AttributeDefinitions?.map((a) => a.AttributeType))).toEqual(new Set(['S']));
  });
});
