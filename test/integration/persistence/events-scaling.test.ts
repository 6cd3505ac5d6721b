import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoScalingStore } from '@lcm/shared/fleet';
import { DuplicateError, VersionConflictError } from '@lcm/shared/kernel';
import { keys } from '@lcm/shared/platform';
import { DynamoProcessedEventStore } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { allPages, at, T0 } from './builders.ts';

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable('events-scaling');
});
afterAll(async () => {
  await t.cleanup();
});

describe('ProcessedEventStore (access pattern 10)', () => {
  it('is true the first time, false on a repeat, with an epoch-seconds expiresAt', async () => {
    let now = Date.parse(T0);
    const events = new DynamoProcessedEventStore({
      client: t.client,
      tableName: t.tableName,
      clock: () => new Date(now),
    });
    expect(await events.markProcessed('lds', 'evt-1', 3600)).toBe(true);
    expect(await events.markProcessed('lds', 'evt-1', 3600)).toBe(false);
    expect(await events.markProcessed('grading', 'evt-1', 3600)).toBe(true);
    const raw = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: keys.processedEvent('lds', 'evt-1') }),
    );
    expect(raw.Item).toMatchObject({ entity: 'ProcessedEvent', expiresAt: Math.floor(now / 1000) + 3600 });
    // Past its TTL (not yet swept): counts as new again.
    now += 3601_000;
    expect(await events.markProcessed('lds', 'evt-1', 3600)).toBe(true);
    await expect(events.markProcessed('lds', 'evt-2', 0)).rejects.toMatchObject({ field: 'ttlSeconds' });
  });

  it('of 20 concurrent deliveries of one event exactly one is processed', async () => {
    const events = new DynamoProcessedEventStore({ client: t.client, tableName: t.tableName });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => events.markProcessed('lds', 'dup', 60)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('ScalingStore (access pattern 11)', () => {
  it('lists decisions newest first with pagination', async () => {
    const scaling = new DynamoScalingStore({ client: t.client, tableName: t.tableName });
    for (const [i, minute] of [3, 0, 4, 1, 2].entries()) {
      await scaling.putDecision({ id: `d-${minute}`, at: at(minute), kind: 'NONE', reason: `run ${i}` });
    }
    await scaling.putDecision(
      { id: 'd-ttl', at: at(5), kind: 'SCALE_UP', templateName: 'm5', reason: 'demand' },
      { ttlSeconds: 86_400 },
    );
    await expect(
      scaling.putDecision({ id: 'd-ttl', at: at(5), kind: 'SCALE_UP', reason: 'again' }),
    ).rejects.toBeInstanceOf(DuplicateError);
    const all = await allPages((cursor) => scaling.listDecisions({ limit: 2, cursor }), 2);
    expect(all.items.map((d) => d.id)).toEqual(['d-ttl', 'd-4', 'd-3', 'd-2', 'd-1', 'd-0']);
    const raw = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: keys.scalingDecision(at(5), 'd-ttl') }),
    );
    expect(raw.Item?.expiresAt).toBe(Math.floor(Date.parse(at(5)) / 1000) + 86_400);
  });

  it('keeps cooldown state per scope under optimistic concurrency', async () => {
    const scaling = new DynamoScalingStore({ client: t.client, tableName: t.tableName });
    expect(await scaling.getState('fleet')).toBeUndefined();
    const s1 = await scaling.putState('fleet', { cooldownUntil: at(10), lastScaleUpAt: at(0) });
    expect(s1).toMatchObject({ scope: 'fleet', version: 1, cooldownUntil: at(10), data: {} });
    await expect(scaling.putState('fleet', { cooldownUntil: at(11) })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    const s2 = await scaling.putState('fleet', { cooldownUntil: at(20), data: { pending: 3 } }, s1.version);
    expect(await scaling.getState('fleet')).toEqual(s2);
    // Two scalers from the same state: one takes the cooldown.
    const race = await Promise.allSettled([
      scaling.putState('fleet', { cooldownUntil: at(30) }, s2.version),
      scaling.putState('fleet', { cooldownUntil: at(31) }, s2.version),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await scaling.getState('fleet'))?.version).toBe(3);
  });
});
