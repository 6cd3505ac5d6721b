import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoWorkerStore } from '@lcm/shared/fleet';
import {
  DuplicateError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '@lcm/shared/kernel';
import { keys } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { allPages, newWorker, steppingClock } from './builders.ts';

describe('WorkerStore (access pattern 1)', () => {
  let t: TestTable;
  let workers: DynamoWorkerStore;

  beforeAll(async () => {
    t = await createTestTable('workers');
    workers = new DynamoWorkerStore({ client: t.client, tableName: t.tableName, clock: steppingClock() });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('creates, gets by id, and refuses a duplicate id', async () => {
    const created = await workers.create(newWorker({ id: 'w-get' }));
    expect(created).toMatchObject({
      id: 'w-get',
      version: 1,
      allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
      leasedPortCount: 0,
      serviceStatus: 'UNAVAILABLE',
    });
    expect(await workers.get('w-get')).toEqual(created);
    await expect(workers.create(newWorker({ id: 'w-get' }))).rejects.toBeInstanceOf(DuplicateError);
    await expect(workers.get('w-missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stores keys, GSI attributes and the entity marker, and reads strip them', async () => {
    await workers.create(newWorker({ id: 'w-keys', status: 'PENDING' }));
    const raw = await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.worker('w-keys') }));
    expect(raw.Item).toMatchObject({
      PK: 'WORKER#w-keys',
      SK: 'WORKER',
      GSI1PK: 'WORKER#STATUS#PENDING',
      GSI1SK: 'w-keys',
      GSI2PK: 'TYPE#Worker',
      GSI2SK: 'w-keys',
      entity: 'Worker',
    });
    const read = (await workers.get('w-keys')) as unknown as Record<string, unknown>;
    for (const k of ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'entity'])
      expect(read).not.toHaveProperty(k);
  });

  it('rejects an invalid worker with a ValidationError naming the field', async () => {
    const bad = newWorker({
      id: 'w-bad',
      declaredCapacity: { cpuCores: -1, memoryGb: 1, storageGb: 1, maxNodes: 1 },
    });
    await expect(workers.create(bad)).rejects.toMatchObject({ field: 'declaredCapacity.cpuCores' });
  });

  it('lists by status (GSI1) and all workers (GSI2) with cursor pagination', async () => {
    const s = await createTestTable('workers-list');
    try {
      const store = new DynamoWorkerStore({ client: s.client, tableName: s.tableName });
      const ids = Array.from({ length: 7 }, (_, i) => `w-${i}`);
      await Promise.all(
        ids.map((id, i) => store.create(newWorker({ id, status: i % 2 === 0 ? 'RUNNING' : 'DRAINING' }))),
      );
      const running = await allPages((cursor) => store.listByStatus('RUNNING', { limit: 2, cursor }), 2);
      expect(running.items.map((w) => w.id)).toEqual(['w-0', 'w-2', 'w-4', 'w-6']);
      expect(running.pages).toBeGreaterThanOrEqual(2);
      expect((await store.listAllByStatus('DRAINING')).map((w) => w.id)).toEqual(['w-1', 'w-3', 'w-5']);

      const all = await allPages((cursor) => store.listAll({ limit: 3, cursor }), 3);
      expect(all.items.map((w) => w.id)).toEqual(ids);
      expect(all.pages).toBe(3);
    } finally {
      await s.cleanup();
    }
  });

  it('rejects malformed and foreign cursors with a ValidationError on `cursor`', async () => {
    await expect(workers.listAll({ cursor: 'not a cursor!' })).rejects.toMatchObject({ field: 'cursor' });
    const foreign = Buffer.from(JSON.stringify({ PK: 'x', SK: 'y' })).toString('base64url');
    await expect(workers.listAll({ cursor: foreign })).rejects.toBeInstanceOf(ValidationError);
    await workers.create(newWorker({ id: 'w-cur-a', status: 'STOPPED' }));
    await workers.create(newWorker({ id: 'w-cur-b', status: 'STOPPED' }));
    const page = await workers.listByStatus('STOPPED', { limit: 1 });
    expect(page.cursor).toBeDefined();
    // A cursor of the STOPPED listing does not page the RUNNING listing.
    await expect(workers.listByStatus('RUNNING', { cursor: page.cursor })).rejects.toMatchObject({
      field: 'cursor',
    });
    await expect(workers.listAll({ limit: 0 })).rejects.toMatchObject({ field: 'limit' });
  });

  it('updates under the expected version and reports conflicts and unknown ids', async () => {
    const w = await workers.create(newWorker({ id: 'w-upd' }));
    const updated = await workers.update(
      'w-upd',
      { ipAddress: '10.0.0.5', serviceStatus: 'AVAILABLE' },
      w.version,
    );
    expect(updated).toMatchObject({
      ipAddress: '10.0.0.5',
      serviceStatus: 'AVAILABLE',
      version: w.version + 1,
    });
    await expect(workers.update('w-upd', { ipAddress: '10.0.0.6' }, w.version)).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    expect((await workers.get('w-upd')).ipAddress).toBe('10.0.0.5');
    const removed = await workers.update('w-upd', { ipAddress: null }, updated.version);
    expect(removed.ipAddress).toBeUndefined();
    await expect(workers.update('w-nope', { ipAddress: '1.1.1.1' }, 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(workers.update('w-upd', { declaredCapacity: null }, removed.version)).rejects.toMatchObject({
      field: 'declaredCapacity',
    });
    await expect(
      workers.update(
        'w-upd',
        { status: 'FAILED' } as unknown as Parameters<typeof workers.update>[1],
        removed.version,
      ),
    ).rejects.toMatchObject({ field: 'status' });
  });

  it('of N concurrent updates from the same version exactly one wins', async () => {
    const w = await workers.create(newWorker({ id: 'w-race' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => workers.update('w-race', { ipAddress: `10.0.0.${i}` }, w.version)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => r.reason instanceof VersionConflictError)).toBe(true);
    expect((await workers.get('w-race')).version).toBe(w.version + 1);
  });

  it('transitions: appends history, moves the GSI1 partition, conditions on the current status', async () => {
    await workers.create(newWorker({ id: 'w-tr', status: 'PENDING' }));
    const p = await workers.transition('w-tr', 'PENDING', 'PROVISIONING', 'test', 'launch', {
      patch: { ec2InstanceId: 'i-0abc' },
    });
    expect(p).toMatchObject({ status: 'PROVISIONING', ec2InstanceId: 'i-0abc', version: 2 });
    expect(p.stateHistory).toEqual([
      { from: 'PENDING', to: 'PROVISIONING', at: expect.any(String), by: 'test', reason: 'launch' },
    ]);
    const s = await workers.transition('w-tr', 'PROVISIONING', 'STARTING', 'test');
    expect(s.stateHistory.map((h) => h.to)).toEqual(['PROVISIONING', 'STARTING']);

    const inPending = await workers.listAllByStatus('PENDING');
    const inStarting = await workers.listAllByStatus('STARTING');
    expect(inPending.map((w) => w.id)).not.toContain('w-tr');
    expect(inStarting.map((w) => w.id)).toContain('w-tr');

    // Wrong expected status: nothing written.
    await expect(workers.transition('w-tr', 'PROVISIONING', 'STARTING', 'test')).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    // Expected version mismatch.
    await expect(
      workers.transition('w-tr', 'STARTING', 'RUNNING', 'test', undefined, { expectedVersion: 1 }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(await workers.get('w-tr')).toEqual(s);
    await expect(workers.transition('w-nope', 'PENDING', 'PROVISIONING', 'test')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('rejects an invalid transition with InvalidTransitionError and writes nothing', async () => {
    const w = await workers.create(newWorker({ id: 'w-inv', status: 'STOPPED' }));
    await expect(workers.transition('w-inv', 'STOPPED', 'RUNNING', 'test')).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    await expect(workers.transition('w-inv', 'TERMINATED', 'RUNNING', 'test')).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    expect(await workers.get('w-inv')).toEqual(w);
  });

  it('of 10 concurrent identical transitions exactly one wins', async () => {
    await workers.create(newWorker({ id: 'w-tr-race', status: 'RUNNING' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => workers.transition('w-tr-race', 'RUNNING', 'DRAINING', 'test')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = await workers.get('w-tr-race');
    expect(after.stateHistory).toHaveLength(1);
    expect(after.status).toBe('DRAINING');
  });
});
