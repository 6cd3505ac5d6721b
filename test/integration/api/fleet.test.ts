import { FleetCapacitySchema } from '@lcm/shared/api';
import { createStores, type Stores } from '@lcm/shared/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/fleet.ts';
import { type CallOptions, type CallResult, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newWorker } from '../persistence/builders.ts';

let t: TestTable;
let s: Stores;

beforeAll(async () => {
  t = await createTestTable('api-fleet');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  s = createStores({ client: t.client, tableName: t.tableName });
});
afterAll(async () => {
  await t.cleanup();
});

const api = (opts: CallOptions = {}): Promise<CallResult> =>
  call(handler, 'getFleetCapacity', { role: 'viewer', ...opts });

const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number) => ({
  cpuCores,
  memoryGb,
  storageGb,
  maxNodes,
});
const ZERO = cap(0, 0, 0, 0);
const NO_COUNTS = {
  PENDING: 0,
  PROVISIONING: 0,
  STARTING: 0,
  RUNNING: 0,
  DRAINING: 0,
  STOPPING: 0,
  STOPPED: 0,
  SHUTTING_DOWN: 0,
  TERMINATED: 0,
  FAILED: 0,
};

describe('GET /v1/fleet/capacity (getFleetCapacity)', () => {
  it('an empty fleet: zero totals, zero utilisation, every status counted as 0', async () => {
    const res = await api();
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const fleet = FleetCapacitySchema.parse(res.body);
    expect(fleet.workers).toEqual([]);
    const none = { workerCount: 0, declared: ZERO, allocated: ZERO, free: ZERO, utilisation: ZERO };
    expect(fleet.totals).toEqual(none);
    expect(fleet.running).toEqual(none);
    expect(fleet.countsByStatus).toEqual(NO_COUNTS);
  });

  it('per-worker and fleet totals of a few workers with allocations', async () => {
    // w-a: RUNNING, one real placement (4 cpu, 8 GB, 20 GB, 4 nodes, 2 ports)
    await s.workers.create(
      newWorker({ id: 'w-a', status: 'RUNNING', declaredCapacity: cap(16, 64, 500, 50) }),
    );
    await s.sessions.create(newSession({ id: 's-a', reservationId: 'r-a' }));
    await s.placement.place({
      session: await s.sessions.getSession('s-a'),
      worker: await s.workers.get('w-a'),
      ports: { R1_serial: 2000, R1_ssh: 2001 },
      by: 'test',
    });
    await s.workers.create(
      newWorker({
        id: 'w-b',
        status: 'RUNNING',
        templateName: 'big',
        declaredCapacity: cap(48, 192, 1000, 100),
        allocatedCapacity: cap(12, 24, 60, 12),
      }),
    );
    await s.workers.create(
      newWorker({ id: 'w-c', status: 'STOPPED', declaredCapacity: cap(16, 64, 500, 50) }),
    );
    await s.workers.create(
      newWorker({
        id: 'w-e',
        status: 'DRAINING',
        desiredStatus: 'STOPPED',
        declaredCapacity: cap(8, 32, 250, 20),
        allocatedCapacity: cap(8, 32, 250, 20),
      }),
    );
    await s.workers.create(
      newWorker({
        id: 'w-d',
        status: 'TERMINATED',
        declaredCapacity: cap(96, 384, 2000, 200),
        allocatedCapacity: cap(1, 1, 1, 1),
      }),
    );

    const res = await api({ role: 'operator' });
    expect(res.status).toBe(200);
    const fleet = FleetCapacitySchema.parse(res.body);

    expect(fleet.countsByStatus).toEqual({
      ...NO_COUNTS,
      RUNNING: 2,
      STOPPED: 1,
      DRAINING: 1,
      TERMINATED: 1,
    });
    expect(fleet.workers.map((w) => w.id)).toEqual(['w-a', 'w-b', 'w-c', 'w-e']);

    expect(fleet.workers[0]).toEqual({
      id: 'w-a',
      templateName: 'm5-metal',
      status: 'RUNNING',
      serviceStatus: 'UNAVAILABLE',
      leasedPortCount: 2,
      declared: cap(16, 64, 500, 50),
      allocated: cap(4, 8, 20, 4),
      free: cap(12, 56, 480, 46),
      utilisation: cap(0.25, 0.125, 0.04, 0.08),
    });
    expect(fleet.workers[3]).toMatchObject({
      id: 'w-e',
      status: 'DRAINING',
      desiredStatus: 'STOPPED',
      free: ZERO,
      utilisation: cap(1, 1, 1, 1),
    });
    expect(fleet.workers[2]).toMatchObject({ id: 'w-c', allocated: ZERO, utilisation: ZERO });

    // Non-TERMINATED workers: a + b + c + e.
    expect(fleet.totals).toEqual({
      workerCount: 4,
      declared: cap(88, 352, 2250, 220),
      allocated: cap(24, 64, 330, 36),
      free: cap(64, 288, 1920, 184),
      utilisation: cap(24 / 88, 64 / 352, 330 / 2250, 36 / 220),
    });
    // What placement can use: RUNNING a + b.
    expect(fleet.running).toEqual({
      workerCount: 2,
      declared: cap(64, 256, 1500, 150),
      allocated: cap(16, 32, 80, 16),
      free: cap(48, 224, 1420, 134),
      utilisation: cap(0.25, 0.125, 80 / 1500, 16 / 150),
    });
    expect(Date.parse(fleet.generatedAt)).toBeGreaterThan(Date.now() - 60_000);

    // A release shows up at once.
    await s.placement.release('s-a');
    const after = FleetCapacitySchema.parse((await api()).body);
    expect(after.workers[0]).toMatchObject({ id: 'w-a', allocated: ZERO, leasedPortCount: 0 });
    expect(after.totals.allocated).toEqual(cap(20, 56, 310, 32));
  });

  it('sums fractional capacity without drift', async () => {
    const t2 = await createTestTable('api-fleet-frac');
    const s2 = createStores({ client: t2.client, tableName: t2.tableName });
    const previous = process.env.TABLE_NAME;
    try {
      for (let i = 0; i < 3; i++) {
        await s2.workers.create(
          newWorker({
            id: `w-frac-${i}`,
            declaredCapacity: cap(0.1, 0.2, 0.3, 1),
            allocatedCapacity: cap(0.1, 0.1, 0.1, 0),
          }),
        );
      }
      process.env.TABLE_NAME = t2.tableName;
      const fleet = FleetCapacitySchema.parse((await api()).body);
      expect(fleet.totals).toMatchObject({
        declared: cap(0.3, 0.6, 0.9, 3),
        allocated: cap(0.3, 0.3, 0.3, 0),
        free: cap(0, 0.3, 0.6, 3),
      });
      expect(fleet.totals.utilisation.cpuCores).toBe(1);
    } finally {
      process.env.TABLE_NAME = previous;
      await t2.cleanup();
    }
  });

  it('checks roles and refuses a body', async () => {
    expect((await call(handler, 'getFleetCapacity', {})).status).toBe(401);
    expect((await api({ role: 'portal' })).status).toBe(403);
    expect((await api({ role: 'admin' })).status).toBe(200);
    const withBody = await api({ body: { workers: [] } });
    expect(withBody.status).toBe(400);
    expect(withBody.headers['content-type']).toBe('application/problem+json');
  });
});
