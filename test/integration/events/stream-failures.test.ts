import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import type { StreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores } from '@lcm/shared/app';
import {
  FileStreamFailureQueue,
  OUTBOUND_EVENT_TYPES,
  StreamFailureReplayError,
  streamFailureView,
} from '@lcm/shared/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession } from '../persistence/builders.ts';
import { startPoisonableOutbox } from './support.ts';

/**
 * Issue 11, item 5: a poisoned stream record (its publish fails on every try) does not block the
 * shard: after its retries it lands in the file-backed failure queue with the record itself, the
 * records behind it are published, and an operator's replay, once the cause is fixed, publishes
 * its event. DynamoDB Local, the local stream poller, the real outbox handler, the local bus.
 */

const BUS = 'lcm-stream-failures-test';
let bus: LocalEventBridge;
let table: TestTable;
let stores: Stores;
let poller: StreamPoller;
let dir: string;
let queue: FileStreamFailureQueue;
/** The cause of the poison: the bus refuses `sessions/poisoned/…` until an operator fixes it. */
let poisoned = true;
let attempts: Map<string, number>;

async function waitFor(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const createdIds = () =>
  bus.published
    .filter((p) => p.event['detail-type'] === OUTBOUND_EVENT_TYPES.sessionCreated)
    .map((p) => (p.event.detail as { data: { sessionId: string } }).data.sessionId);

beforeAll(async () => {
  bus = await startLocalEventBridge({ eventBusName: BUS, targets: {} });
  table = await createTestTable('stream-failures');
  stores = createStores({ client: table.client, tableName: table.tableName });
  dir = mkdtempSync(join(tmpdir(), 'lcm-stream-failures-'));
  queue = new FileStreamFailureQueue(join(dir, 'stream-failures'));
  ({ poller, attempts } = await startPoisonableOutbox({
    table,
    busUrl: bus.url,
    eventBusName: BUS,
    poisonedId: 'poisoned',
    isPoisoned: () => poisoned,
    failureQueue: queue,
    maximumRetryAttempts: 2,
  }));
});

afterAll(async () => {
  await poller?.stop();
  await table?.cleanup();
  await bus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a poisoned stream record', () => {
  it('lands in the failure queue with its record, the shard moves on, and a replay publishes it', async () => {
    await stores.sessions.create(newSession({ id: 'before', reservationId: 'r-before' }));
    await stores.sessions.create(newSession({ id: 'poisoned', reservationId: 'r-poisoned' }));
    await stores.sessions.create(newSession({ id: 'after', reservationId: 'r-after' }));
    await waitFor('the record behind the poisoned one', () => createdIds().includes('after'));
    await poller.idle();

    // Not blocked, not dropped: 1 try + 2 retries, then kept; the others published in order.
    expect(createdIds()).toEqual(['before', 'after']);
    expect(attempts.get('sessions/poisoned/v1/created')).toBe(3);
    const [failure, ...others] = queue.list();
    expect(others).toEqual([]);
    expect(streamFailureView(failure!)).toMatchObject({
      consumer: 'outbox',
      attempts: 3,
      error: 'reported in batchItemFailures',
      status: 'PENDING',
      recordCount: 1,
      replays: [],
    });
    expect(failure!.startSequenceNumber).toBe(failure!.endSequenceNumber);
    expect(failure!.records![0]!.dynamodb?.NewImage?.id).toEqual({ S: 'poisoned' });
    expect(failure!.records![0]!.dynamodb?.SequenceNumber).toBe(failure!.startSequenceNumber);
    expect(poller.deadLetters).toEqual([expect.objectContaining({ failureId: failure!.id, attempts: 3 })]);
    // One JSON file per failure under the queue's directory.
    expect(readdirSync(queue.dir)).toEqual([`${failure!.id}.json`]);
    expect(JSON.parse(readFileSync(join(queue.dir, `${failure!.id}.json`), 'utf8')).id).toBe(failure!.id);

    // Replayed while the cause persists: it fails again, stays PENDING, the attempt is recorded.
    const again = await poller.replay(failure!.id, 'operator@example.com').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(StreamFailureReplayError);
    expect(queue.get(failure!.id)).toMatchObject({
      status: 'PENDING',
      replays: [{ by: 'operator@example.com', outcome: 'FAILED', error: expect.stringContaining('1 of 1') }],
    });
    expect(createdIds()).toEqual(['before', 'after']);

    // The cause fixed: the replay publishes the event (its deterministic id), once.
    poisoned = false;
    const replayed = await poller.replay(failure!.id, 'operator@example.com');
    expect(replayed).toMatchObject({
      status: 'REPLAYED',
      replays: [{ outcome: 'FAILED' }, { by: 'operator@example.com', outcome: 'HANDLED' }],
    });
    expect(createdIds()).toEqual(['before', 'after', 'poisoned']);
    const event = bus.published.at(-1)!.event.detail as { id: string; data: { sessionId: string } };
    expect(event.id).toBe('sessions/poisoned/v1/created');
    expect(queue.list().map((f) => f.status)).toEqual(['REPLAYED']);
  });
});
