import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import { type StreamPoller, startStreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores } from '@lcm/shared/app';
import type { OutboxDeps } from '@lcm/shared/events';
import {
  EventBridgePublisher,
  LCM_EVENT_SOURCE,
  OUTBOUND_EVENT_TYPES,
  OUTBOX_CONSUMER,
  type PublishableEvent,
  PublishError,
} from '@lcm/shared/events';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { outboxHandler } from '../../../functions/streams/outbox.ts';
import { lambdaContext } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newWorker } from '../persistence/builders.ts';
import { localEventBridgeClient } from './support.ts';

/**
 * The transactional outbox end to end on DynamoDB Local: writes through the stores → the table
 * stream → the local stream poller (same filter as the CDK event source mapping) → the outbox
 * Lambda (Powertools batch) → PutEvents → the local bus.
 */

const BUS = 'lcm-outbox-test';
let bus: LocalEventBridge;

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const published = () =>
  bus.published.map((p) => ({
    source: p.event.source,
    type: p.event['detail-type'],
    detail: p.event.detail as PublishableEvent & { subject?: string; data: Record<string, unknown> },
  }));
const publishedOf = (type: string) => published().filter((p) => p.type === type);

beforeAll(async () => {
  bus = await startLocalEventBridge({ eventBusName: BUS, targets: {} });
});
afterAll(async () => {
  await bus?.stop();
});
afterEach(() => bus.clear());

describe('outbox: the real handler module, configured by the environment', () => {
  let table: TestTable;
  let stores: Stores;
  let poller: StreamPoller | undefined;
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  };

  beforeAll(async () => {
    table = await createTestTable('outbox');
    stores = createStores({ client: table.client, tableName: table.tableName });
    setEnv('TABLE_NAME', table.tableName);
    setEnv('EVENT_BUS_NAME', BUS);
    setEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
    setEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', bus.url);
    setEnv('AWS_REGION', 'us-east-1');
    setEnv('AWS_ACCESS_KEY_ID', 'local');
    setEnv('AWS_SECRET_ACCESS_KEY', 'local');
    poller = await startStreamPoller({
      endpoint: table.endpoint,
      tableName: table.tableName,
      pollIntervalMs: 50,
    });
  });

  afterAll(async () => {
    await poller?.stop();
    await table?.cleanup();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('a session written → session.created on the bus, as DESIGN §7 says', async () => {
    await stores.sessions.create(newSession({ id: 'o-1', reservationId: 'r-o-1' }));
    const [created] = await waitFor('session.created', () => {
      const found = publishedOf(OUTBOUND_EVENT_TYPES.sessionCreated);
      return found.length > 0 && found;
    });
    expect(created).toMatchObject({
      source: LCM_EVENT_SOURCE,
      type: OUTBOUND_EVENT_TYPES.sessionCreated,
      detail: {
        specversion: '1.0',
        id: 'sessions/o-1/v1/created',
        source: LCM_EVENT_SOURCE,
        type: OUTBOUND_EVENT_TYPES.sessionCreated,
        subject: 'sessions/o-1',
        data: { sessionId: 'o-1', reservationId: 'r-o-1', status: 'PENDING', userId: 'u-1' },
      },
    });
    await poller!.idle();
    // The reservation guard written in the same transaction is filtered out: one event only.
    expect(published()).toHaveLength(1);
  });

  it('status changes → status-changed; READY → ready, without the login URL the UserSession holds', async () => {
    await stores.sessions.create(newSession({ id: 'o-2', reservationId: 'r-o-2' }));
    await stores.sessions.transition('o-2', 'PENDING', 'SCHEDULED', 'test');
    await stores.sessions.transition('o-2', 'SCHEDULED', 'INSTANTIATING', 'test');
    const now = new Date().toISOString();
    await stores.sessions.putUserSession('o-2', {
      ldsSessionId: 'lds-o-2',
      loginUrl: 'https://lds.example.com/login/lds-o-2',
      status: 'PROVISIONED',
      createdAt: now,
      updatedAt: now,
    });
    await stores.sessions.transition('o-2', 'INSTANTIATING', 'READY', 'test');
    await waitFor('session.ready', () => publishedOf(OUTBOUND_EVENT_TYPES.sessionReady).length > 0);
    await poller!.idle();
    const mine = published().filter((p) => p.detail.subject === 'sessions/o-2');
    expect(mine.map((p) => p.detail.id)).toEqual([
      'sessions/o-2/v1/created',
      'sessions/o-2/v2/status-changed',
      'sessions/o-2/v3/status-changed',
      'sessions/o-2/v4/status-changed',
      'sessions/o-2/v4/ready',
    ]);
    expect(mine.slice(1, 4).map((p) => [p.detail.data.from, p.detail.data.to])).toEqual([
      ['PENDING', 'SCHEDULED'],
      ['SCHEDULED', 'INSTANTIATING'],
      ['INSTANTIATING', 'READY'],
    ]);
    expect(mine[4]!.detail.data).toMatchObject({ sessionId: 'o-2' });
    // Least privilege: the URL that logs the learner in never goes onto the bus.
    expect(mine[4]!.detail.data).not.toHaveProperty('loginUrl');
    expect(JSON.stringify(published())).not.toContain('https://lds.example.com/login/lds-o-2');
  });

  it('workers and scores too; items the outbox does not map never reach it', async () => {
    await stores.workers.create(newWorker({ id: 'w-o-1', status: 'PENDING' }));
    await table.client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { PK: 'EVENT#x#y', SK: 'EVENT', entity: 'ProcessedEvent', source: 'x', id: 'y' },
      }),
    );
    await stores.sessions.create(newSession({ id: 'o-3', reservationId: 'r-o-3' }));
    for (const [from, to] of [
      ['PENDING', 'SCHEDULED'],
      ['SCHEDULED', 'INSTANTIATING'],
      ['INSTANTIATING', 'READY'],
      ['READY', 'RUNNING'],
      ['RUNNING', 'COLLECTING'],
    ] as const) {
      await stores.sessions.transition('o-3', from, to, 'test');
    }
    await stores.sessions.putScore('o-3', {
      score: 9,
      maxScore: 10,
      passed: true,
      sections: [],
      reportedAt: '2030-01-01T11:00:00.000Z',
    });
    await waitFor('session.scored', () => publishedOf(OUTBOUND_EVENT_TYPES.sessionScored).length > 0);
    await poller!.idle();
    expect(publishedOf(OUTBOUND_EVENT_TYPES.workerStatusChanged).map((p) => p.detail.data)).toEqual([
      expect.objectContaining({ workerId: 'w-o-1', from: null, to: 'PENDING' }),
    ]);
    expect(publishedOf(OUTBOUND_EVENT_TYPES.sessionScored)[0]!.detail.data).toMatchObject({
      sessionId: 'o-3',
      score: 9,
      passed: true,
    });
    // Only the entities the filter selects were delivered to the handler.
    const types = new Set(published().map((p) => p.type));
    expect([...types].every((t) => t.startsWith('io.lablet.lcm.'))).toBe(true);
  });
});

describe('outbox: partial batch failures, order and retries (stream poller as Lambda would)', () => {
  let table: TestTable;
  let stores: Stores;
  const pollers: StreamPoller[] = [];
  const clients: Array<{ destroy(): void }> = [];

  beforeAll(async () => {
    table = await createTestTable('outbox-fail');
    stores = createStores({ client: table.client, tableName: table.tableName });
  });
  afterAll(async () => {
    for (const p of pollers) await p.stop();
    for (const c of clients) c.destroy();
    await table?.cleanup();
  });

  it('a record whose publish fails holds back the records after it; retried, then skipped after the last retry', async () => {
    const client = localEventBridgeClient(bus.url);
    clients.push(client);
    const real = new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} });
    let flakyFailures = 2;
    const attempts = new Map<string, number>();
    const deps: OutboxDeps = {
      publisher: {
        async publish(events) {
          for (const e of events) attempts.set(e.id, (attempts.get(e.id) ?? 0) + 1);
          const doomed = events.find((e) => e.id.startsWith('sessions/doomed/'));
          const flaky = events.find((e) => e.id.startsWith('sessions/flaky/'));
          if (doomed || (flaky && flakyFailures-- > 0)) {
            const e = (doomed ?? flaky)!;
            throw new PublishError(
              [{ id: e.id, source: e.source, type: e.type, errorCode: 'InternalFailure', errorMessage: 'x' }],
              { retryable: true },
            );
          }
          await real.publish(events);
        },
      },
    };
    const seen: string[][] = [];
    const handler = outboxHandler(() => deps);

    // Written before the poller starts (TRIM_HORIZON): one batch holds all three, in this order.
    await stores.sessions.create(newSession({ id: 'flaky', reservationId: 'r-flaky' }));
    await stores.sessions.create(newSession({ id: 'doomed', reservationId: 'r-doomed' }));
    await stores.sessions.create(newSession({ id: 'after', reservationId: 'r-after' }));

    const poller = await startStreamPoller({
      endpoint: table.endpoint,
      tableName: table.tableName,
      consumers: [{ ...OUTBOX_CONSUMER, maximumRetryAttempts: 2 }],
      handlers: {
        [OUTBOX_CONSUMER.module]: async (event: DynamoDBStreamEvent) => {
          seen.push(
            event.Records.map((r) => String(r.dynamodb?.NewImage?.id?.S ?? r.dynamodb?.NewImage?.entity?.S)),
          );
          return handler(event, lambdaContext());
        },
      },
      pollIntervalMs: 50,
      retryDelayMs: 20,
    });
    pollers.push(poller);

    await waitFor('the record after the doomed one', () =>
      publishedOf(OUTBOUND_EVENT_TYPES.sessionCreated).some((p) => p.detail.data.sessionId === 'after'),
    );
    await poller.idle();

    // flaky: failed twice, then published; doomed: 1 + 2 retries, then skipped; after: once.
    expect(publishedOf(OUTBOUND_EVENT_TYPES.sessionCreated).map((p) => p.detail.data.sessionId)).toEqual([
      'flaky',
      'after',
    ]);
    expect(attempts.get('sessions/flaky/v1/created')).toBe(3);
    expect(attempts.get('sessions/doomed/v1/created')).toBe(3);
    expect(attempts.get('sessions/after/v1/created')).toBe(1);
    expect(poller.deadLetters).toEqual([
      expect.objectContaining({ consumer: 'outbox', attempts: 3, error: 'reported in batchItemFailures' }),
    ]);
    // Reservation guards never reach the handler (filter criteria).
    expect(seen.flat().every((id) => ['flaky', 'doomed', 'after'].includes(id))).toBe(true);
    // `after` was held back (failed without publishing) while `doomed` was retried.
    expect(seen.filter((batch) => batch.includes('after')).length).toBeGreaterThan(1);
  });
});
