import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import { type StreamPoller, startStreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores } from '@lcm/shared/app';
import {
  changeRecordOf,
  OUTBOUND_EVENT_TYPES,
  OUTBOX_CONSUMER,
  TRIGGERS_CONSUMER,
  type TriggeredTask,
  triggeredTask,
} from '@lcm/shared/events';
import type { SessionStatus } from '@lcm/shared/kernel';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxHandler } from '../../../functions/streams/outbox.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newWorker } from '../persistence/builders.ts';
import { localEventBridgeClient } from './support.ts';

/**
 * Issue 11, item 5: a session without consoles (`portTemplate: []`, `allocatedPorts: {}`) through
 * DynamoDB Local's stream, the local poller and the real outbox handler: every one of its events
 * reaches the local bus, and the triggers consumer reads its observation request. DynamoDB Local
 * writes an empty map as `{}` in stream images (AWS sends `{"M":{}}`, see
 * packages/sandbox/src/streams/client.ts); before the repair every such record failed `unmarshall`
 * ("No value defined: {}"), was retried and skipped, and its events never published.
 */

const BUS = 'lcm-empty-attributes-test';
let bus: LocalEventBridge;
let table: TestTable;
let stores: Stores;
let poller: StreamPoller;
const delivered: DynamoDBRecord[] = [];
const triggered: TriggeredTask[] = [];

async function waitFor(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const PATH: SessionStatus[] = [
  'PENDING',
  'SCHEDULED',
  'INSTANTIATING',
  'READY',
  'RUNNING',
  'COLLECTING',
  'STOPPING',
  'STOPPED',
  'ARCHIVED',
  'TERMINATED',
];

beforeAll(async () => {
  bus = await startLocalEventBridge({ eventBusName: BUS, targets: {} });
  table = await createTestTable('empty-attrs');
  stores = createStores({ client: table.client, tableName: table.tableName });
  const client = localEventBridgeClient(bus.url);
  const { EventBridgePublisher } = await import('@lcm/shared/events');
  const outbox = outboxHandler(() => ({
    publisher: new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} }),
  }));
  poller = await startStreamPoller({
    endpoint: table.endpoint,
    tableName: table.tableName,
    consumers: [OUTBOX_CONSUMER, TRIGGERS_CONSUMER],
    handlers: {
      [OUTBOX_CONSUMER.module]: async (event: DynamoDBStreamEvent, context) => {
        delivered.push(...event.Records);
        return outbox(event, context);
      },
      // The triggers consumer's own reading of the record (changeRecordOf → triggeredTask); the
      // observation itself needs a CML and is covered in test/integration/observations.
      [TRIGGERS_CONSUMER.module]: async (event: DynamoDBStreamEvent) => {
        for (const r of event.Records) triggered.push(triggeredTask(changeRecordOf(r)));
        return { batchItemFailures: [] };
      },
    },
    pollIntervalMs: 50,
    retryDelayMs: 20,
  });
});

afterAll(async () => {
  await poller?.stop();
  await table?.cleanup();
  await bus?.stop();
});

describe('a port-less session through the local stream (DynamoDB Local)', () => {
  it('every status change, READY and the observation request arrive; nothing dead-lettered', async () => {
    const id = 'portless-1';
    await stores.workers.create(newWorker({ id: 'w-pl' }));
    await stores.sessions.create(newSession({ id, reservationId: `r-${id}`, portTemplate: [] }));
    await stores.placement.place({
      session: await stores.sessions.getSession(id),
      worker: await stores.workers.get('w-pl'),
      ports: {},
      by: 'test',
    });
    for (let i = 2; i < 5; i++) await stores.sessions.transition(id, PATH[i - 1]!, PATH[i]!, 'test');
    const running = await stores.sessions.getSession(id);
    await stores.sessions.update(
      id,
      { observationRequest: { status: 'PENDING', requestedBy: 'op', requestedAt: new Date().toISOString() } },
      running.version,
    );
    for (let i = 5; i < PATH.length; i++)
      await stores.sessions.transition(id, PATH[i - 1]!, PATH[i]!, 'test');

    const mine = () =>
      bus.published.filter((p) => (p.event.detail as { subject?: string }).subject === `sessions/${id}`);
    // created + 9 status changes + ready
    await waitFor('all 11 events of the port-less session', () => mine().length >= 11);
    await poller.idle();

    expect(mine().map((p) => p.event['detail-type'])).toEqual([
      OUTBOUND_EVENT_TYPES.sessionCreated,
      ...PATH.slice(1).flatMap((to) =>
        to === 'READY'
          ? [OUTBOUND_EVENT_TYPES.sessionStatusChanged, OUTBOUND_EVENT_TYPES.sessionReady]
          : [OUTBOUND_EVENT_TYPES.sessionStatusChanged],
      ),
    ]);
    expect(
      mine()
        .filter((p) => p.event['detail-type'] === OUTBOUND_EVENT_TYPES.sessionStatusChanged)
        .map((p) => (p.event.detail as { data: { to: string } }).data.to),
    ).toEqual(PATH.slice(1));
    expect(poller.deadLetters).toEqual([]);

    // The records carry the empty map in AWS's shape, and it unmarshalls to an empty object.
    const placed = delivered.find(
      (r) => r.dynamodb?.NewImage?.id?.S === id && r.dynamodb?.NewImage?.status?.S === 'SCHEDULED',
    );
    expect(placed?.dynamodb?.NewImage?.allocatedPorts).toEqual({ M: {} });
    expect(placed?.dynamodb?.NewImage?.portTemplate).toEqual({ L: [] });
    expect(changeRecordOf(placed!).newImage).toMatchObject({ allocatedPorts: {}, portTemplate: [] });
    // The observation request of the port-less session reached its task.
    expect(triggered).toContainEqual({ kind: 'observe', sessionId: id });
  });
});
