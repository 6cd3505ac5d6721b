import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import type { StreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores, setStreamFailuresOverride } from '@lcm/shared/app';
import {
  FileStreamFailureQueue,
  localStreamFailureOperations,
  OUTBOUND_EVENT_TYPES,
  StreamFailureSchema,
} from '@lcm/shared/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/streams.ts';
import { call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { startPoisonableOutbox } from '../events/support.ts';
import { newSession } from '../persistence/builders.ts';

/**
 * Issue 11, item 5, the operator API: a poisoned stream record lands in the failure queue (the
 * local stack's file-backed queue, fed by the local stream poller over DynamoDB Local's stream),
 * GET /v1/stream-failures lists it, POST /v1/stream-failures/{id}/replay hands it to the real
 * outbox consumer again (failing while the cause lasts, then REPLAYED), the local bus gets its
 * event. Portals and viewers get 403. The API handler runs as API Gateway invokes it, with the
 * local operations installed as `npm start` installs them (setStreamFailuresOverride).
 */

const BUS = 'lcm-stream-failures-api-test';
let bus: LocalEventBridge;
let table: TestTable;
let stores: Stores;
let poller: StreamPoller;
let dir: string;
let queue: FileStreamFailureQueue;
let poisoned = true;

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
  table = await createTestTable('api-stream-failures');
  process.env.TABLE_NAME = table.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = table.endpoint;
  stores = createStores({ client: table.client, tableName: table.tableName });
  dir = mkdtempSync(join(tmpdir(), 'lcm-api-stream-failures-'));
  queue = new FileStreamFailureQueue(join(dir, 'stream-failures'));
  ({ poller } = await startPoisonableOutbox({
    table,
    busUrl: bus.url,
    eventBusName: BUS,
    poisonedId: 'api-poisoned',
    isPoisoned: () => poisoned,
    failureQueue: queue,
    maximumRetryAttempts: 1,
  }));
  setStreamFailuresOverride(localStreamFailureOperations(queue, (id, by) => poller.replay(id, by)));
});

afterAll(async () => {
  setStreamFailuresOverride(undefined);
  await poller?.stop();
  await table?.cleanup();
  await bus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GET /v1/stream-failures and POST /v1/stream-failures/{id}/replay', () => {
  it('list a poisoned record, replay it (failing, then REPLAYED), and refuse portals and viewers', async () => {
    await stores.sessions.create(newSession({ id: 'api-poisoned', reservationId: 'r-api-poisoned' }));
    await stores.sessions.create(newSession({ id: 'api-after', reservationId: 'r-api-after' }));
    await waitFor('the record behind the poisoned one', () => createdIds().includes('api-after'));
    await poller.idle();

    // Listed: one PENDING failure of the outbox, every field as documented.
    const listed = await call(handler, 'listStreamFailures', { role: 'operator' });
    expect(listed.status).toBe(200);
    expect(listed.headers['cache-control']).toBe('no-store');
    expect(listed.body.nextCursor).toBeUndefined();
    const [failure, ...others] = listed.body.items.map((i: unknown) => StreamFailureSchema.strict().parse(i));
    expect(others).toEqual([]);
    expect(failure).toMatchObject({
      consumer: 'outbox',
      status: 'PENDING',
      attempts: 2,
      recordCount: 1,
      replays: [],
      error: 'reported in batchItemFailures',
    });
    // The records themselves (with the items' images) are not in the reply.
    expect(JSON.stringify(listed.body)).not.toContain('NewImage');
    expect(
      (await call(handler, 'listStreamFailures', { role: 'admin', query: { status: 'REPLAYED' } })).body,
    ).toEqual({ items: [] });

    // Only operators and admins.
    for (const role of ['portal', 'viewer'] as const) {
      expect((await call(handler, 'listStreamFailures', { role })).status).toBe(403);
      const replay = await call(handler, 'replayStreamFailure', { role, params: { id: failure!.id } });
      expect(replay.status).toBe(403);
    }
    expect((await call(handler, 'listStreamFailures', {})).status).toBe(401);
    expect(queue.get(failure!.id)?.replays).toEqual([]);

    // Unknown id: 404; not an id: 400 naming the parameter.
    const missing = await call(handler, 'replayStreamFailure', {
      role: 'operator',
      params: { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    });
    expect(missing.status).toBe(404);
    const bad = await call(handler, 'replayStreamFailure', { role: 'operator', params: { id: 'nope' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('id');

    // Replayed while the cause lasts: 200, still PENDING, the failed attempt recorded.
    const again = await call(handler, 'replayStreamFailure', {
      role: 'operator',
      params: { id: failure!.id },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      status: 'PENDING',
      replays: [{ by: 'operator-user', outcome: 'FAILED', error: expect.stringContaining('1 of 1') }],
    });
    expect(createdIds()).toEqual(['api-after']);

    // The cause fixed: REPLAYED, the event reaches the bus.
    poisoned = false;
    const replayed = await call(handler, 'replayStreamFailure', {
      role: 'admin',
      params: { id: failure!.id },
    });
    expect(replayed.status).toBe(200);
    expect(StreamFailureSchema.strict().parse(replayed.body)).toMatchObject({
      id: failure!.id,
      status: 'REPLAYED',
      replays: [{ outcome: 'FAILED' }, { by: 'admin-user', outcome: 'HANDLED' }],
    });
    expect(createdIds()).toEqual(['api-after', 'api-poisoned']);
    const pending = await call(handler, 'listStreamFailures', {
      role: 'operator',
      query: { status: 'PENDING' },
    });
    expect(pending.body.items).toEqual([]);
    const done = await call(handler, 'listStreamFailures', {
      role: 'operator',
      query: { status: 'REPLAYED' },
    });
    expect(done.body.items.map((f: { id: string }) => f.id)).toEqual([failure!.id]);
  });

  it('pages by id with an opaque cursor, and refuses a cursor of another listing', async () => {
    const first = await call(handler, 'listStreamFailures', { role: 'operator', query: { limit: '1' } });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toBeUndefined();
    const bad = await call(handler, 'listStreamFailures', {
      role: 'operator',
      query: { cursor: 'eyJ4IjoxfQ' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('cursor');
  });
});
