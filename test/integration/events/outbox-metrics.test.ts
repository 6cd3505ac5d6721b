import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import { type StreamPoller, startStreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores } from '@lcm/shared/app';
import { EventBridgePublisher, OUTBOX_CONSUMER, type OutboxDeps, PublishError } from '@lcm/shared/events';
import { discardMetrics } from '@lcm/shared/platform';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxHandler } from '../../../functions/streams/outbox.ts';
import { lambdaContext } from '../../support/api.ts';
import { captureEmf } from '../../support/emf.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession } from '../persistence/builders.ts';
import { localEventBridgeClient } from './support.ts';

/**
 * The business metrics of the outbox end to end on DynamoDB Local: writes through the stores →
 * the table stream → the local stream poller → the outbox handler module (Powertools batch, the
 * metrics published when an invocation returns) → EMF on stdout. A record whose publish fails is
 * retried and holds back the records after it; each change still counts once.
 */

const BUS = 'lcm-outbox-metrics-test';
let bus: LocalEventBridge;
let table: TestTable;
let stores: Stores;
let poller: StreamPoller | undefined;
const clients: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  bus = await startLocalEventBridge({ eventBusName: BUS, targets: {} });
  table = await createTestTable('outbox-metrics');
  stores = createStores({ client: table.client, tableName: table.tableName });
  discardMetrics();
});
afterAll(async () => {
  await poller?.stop();
  for (const c of clients) c.destroy();
  await table?.cleanup();
  await bus?.stop();
});

async function waitFor(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('outbox metrics on DynamoDB Local', () => {
  it('bookings and READY count once each, through publish failures and retried batches', async () => {
    const client = localEventBridgeClient(bus.url);
    clients.push(client);
    const real = new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} });
    let flakyFailures = 2;
    let invocations = 0;
    const deps: OutboxDeps = {
      publisher: {
        async publish(events) {
          const flaky = events.find((e) => e.id === 'sessions/m-flaky/v1/created');
          if (flaky && flakyFailures-- > 0) {
            throw new PublishError(
              [
                {
                  id: flaky.id,
                  source: flaky.source,
                  type: flaky.type,
                  errorCode: 'InternalFailure',
                  errorMessage: 'x',
                },
              ],
              { retryable: true },
            );
          }
          await real.publish(events);
        },
      },
    };
    const handler = outboxHandler(() => deps);

    const points = await captureEmf(async () => {
      // One batch: the flaky booking holds back the two after it until its third attempt.
      await stores.sessions.create(newSession({ id: 'm-flaky', reservationId: 'r-m-flaky' }));
      await stores.sessions.create(newSession({ id: 'm-ok', reservationId: 'r-m-ok' }));
      await stores.sessions.create(newSession({ id: 'm-ready', reservationId: 'r-m-ready' }));
      for (const [from, to] of [
        ['PENDING', 'SCHEDULED'],
        ['SCHEDULED', 'INSTANTIATING'],
        ['INSTANTIATING', 'READY'],
      ] as const) {
        await stores.sessions.transition('m-ready', from, to, 'test');
      }
      poller = await startStreamPoller({
        endpoint: table.endpoint,
        tableName: table.tableName,
        consumers: [{ ...OUTBOX_CONSUMER, maximumRetryAttempts: 5 }],
        handlers: {
          [OUTBOX_CONSUMER.module]: async (event: DynamoDBStreamEvent) => {
            invocations++;
            return handler(event, lambdaContext());
          },
        },
        pollIntervalMs: 50,
        retryDelayMs: 20,
      });
      await waitFor('the READY event', () =>
        bus.published.some((p) => p.event['detail-type'].endsWith('session.ready.v1')),
      );
      await poller.idle();
    });

    expect(invocations).toBeGreaterThanOrEqual(3);
    const sum = (name: string) =>
      points.filter((p) => p.name === name).reduce((n, p) => n + p.values.reduce((a, b) => a + b, 0), 0);
    expect(sum('SessionsBooked')).toBe(3);
    expect(sum('SessionsReady')).toBe(1);
    // newSession's timeslot is in 2030: READY now is early, not late.
    expect(points.filter((p) => p.name === 'SessionReadyLate').flatMap((p) => p.values)).toEqual([0]);
    expect(points.find((p) => p.name === 'SessionsBooked')?.dimensions).toMatchObject({
      service: 'lcm',
      definition: expect.any(String),
    });
    // One OutboxLagSeconds per published event: 3 created, 3 status-changed, 1 ready.
    expect(points.filter((p) => p.name === 'OutboxLagSeconds').flatMap((p) => p.values)).toHaveLength(7);
  });
});
