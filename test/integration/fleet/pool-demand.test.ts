import { createStores, type Stores } from '@lcm/shared/app';
import { DEFAULT_SCALING_CONFIG, runScaleUp } from '@lcm/shared/fleet';
import { newSession as bookable, CapacityFullError } from '@lcm/shared/kernel';
import { RecordingFleetWorkflows } from '@lcm/shared/platform';
import { checkBookingCapacity, readPoolDemand, readPoolHolds } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newTemplate } from '../persistence/builders.ts';

/**
 * Hot-start pools count in the scaler's demand and in the capacity book (issue 15, item 3), over
 * DynamoDB Local: a pool no worker can hold makes scale-up launch a worker for it; a fleet whose
 * `maxWorkers` hosts the pools fill refuses a booking (409 capacity-full) that it admits without them.
 */

let t: TestTable;
let s: Stores;
const NOW = Date.parse('2031-03-01T09:00:00.000Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();
const REQ = { cpuCores: 8, memoryGb: 32, storageGb: 100, nodeCount: 10 };

beforeAll(async () => {
  t = await createTestTable('pool-demand');
  s = createStores({ client: t.client, tableName: t.tableName });
  await s.templates.create(
    newTemplate({
      name: 'small',
      capacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 },
      costPerHourUsd: 1.2,
      bootMinutes: 15,
    }),
  );
  await s.definitions.create({
    id: 'pooled',
    name: 'Pooled',
    status: 'ACTIVE',
    resourceRequirements: REQ,
    licenseAffinity: ['ENTERPRISE'],
    maxDurationMinutes: 120,
    warmPoolDepth: 2,
    createdBy: 'test',
  });
});
afterAll(async () => {
  await t.cleanup();
});

describe('pools in the scaler and the capacity book', () => {
  it('scale-up launches a worker for a pool that no worker holds', async () => {
    const workflows = new RecordingFleetWorkflows();
    const run = await runScaleUp({
      workers: s.workers,
      templates: s.templates,
      sessions: s.sessions,
      scaling: s.scaling,
      workflows,
      config: { ...DEFAULT_SCALING_CONFIG },
      clock: () => new Date(NOW),
      poolDemand: () => readPoolDemand({ ...s, clock: () => new Date(NOW) }),
    });
    expect(run.actions).toHaveLength(1);
    expect(run.actions[0]).toMatchObject({
      outcome: 'APPLIED',
      action: { kind: 'LAUNCH', templateName: 'small' },
    });
    const [decision] = (await s.scaling.listDecisions({ limit: 10 })).items;
    // Two pooled labs of 8 cores fit one 16-core host.
    expect(decision?.inputs).toMatchObject({ forSessions: ['pool:pooled:0', 'pool:pooled:1'] });
  });

  it('the book counts the pools: with maxWorkers 1 their two labs fill the host and a booking is refused', async () => {
    const def = await s.definitions.getLatest('pooled');
    const session = bookable(
      def,
      {
        id: 's-1',
        reservationId: 'r-1',
        owner: { userId: 'u-1' },
        timeslot: { start: at(60), end: at(120) },
      },
      at(0),
    );
    const capacity = { maxWorkers: 1, leadSeconds: 900, releaseMarginSeconds: 600 };
    const base = { sessions: s.sessions, templates: s.templates, capacity };
    await expect(checkBookingCapacity(base, session)).resolves.toEqual({ forced: false });
    await expect(
      checkBookingCapacity({ ...base, poolHolds: (from, to) => readPoolHolds(s, from, to) }, session),
    ).rejects.toBeInstanceOf(CapacityFullError);
  });
});
