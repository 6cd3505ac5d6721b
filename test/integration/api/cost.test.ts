import { FleetCostSchema, FleetUsageReplySchema } from '@lcm/shared/api';
import { createStores, type Stores } from '@lcm/shared/app';
import type { Capacity, SessionStatus, WorkerStatus } from '@lcm/shared/kernel';
import type { FieldError } from '@lcm/shared/platform';
import { RecordingWorkflowEngine } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/fleet.ts';
import { sessionsHandler } from '../../../functions/api/sessions.ts';
import { type CallOptions, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { COST_WORKED_EXAMPLE_TOTALS } from '../../unit/builders.ts';
import { newDefinition, newSession, newTemplate, newWorker } from '../persistence/builders.ts';

/**
 * Cost attribution and usage through the API over DynamoDB Local (issue 13, items 4 and 5): the
 * worked example of test/unit/cost.test.ts and docs/cost.md (two hosts, three sessions, one idle
 * hour), this time written through the real stores — worker transitions, the placement
 * transaction, session transitions, release — at the example's times, and read back by the
 * routes from the stored histories. The figures are the hand-computed ones of the unit test.
 */

const DAY = '2026-03-02';
const T = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number): Capacity => ({
  cpuCores,
  memoryGb,
  storageGb,
  maxNodes,
});

let t: TestTable;
let s: Stores;
let clock = T('07:00');
const sessions = sessionsHandler(
  () => ({
    ...createStores({ client: t.client, tableName: t.tableName }),
    engine: new RecordingWorkflowEngine(),
  }),
  () => createStores({ client: t.client, tableName: t.tableName }),
);

const atTime = async <R>(hhmm: string, fn: () => Promise<R>): Promise<R> => {
  clock = T(hhmm);
  return fn();
};

async function walkWorker(id: string, steps: Array<[WorkerStatus, WorkerStatus, string]>): Promise<void> {
  for (const [from, to, hhmm] of steps) await atTime(hhmm, () => s.workers.transition(id, from, to, 'test'));
}

async function runSession(
  id: string,
  definitionId: string,
  workerId: string,
  need: Capacity,
  port: number,
  placed: string,
  stopped: string,
): Promise<void> {
  await atTime(placed, () =>
    s.sessions.create(
      newSession({
        id,
        definitionId,
        reservationId: `r-${id}`,
        bookedBy: 'portal-client',
        timeslot: { start: T(placed), end: T(stopped) },
        requirements: {
          cpuCores: need.cpuCores,
          memoryGb: need.memoryGb,
          storageGb: need.storageGb,
          nodeCount: need.maxNodes,
        },
      }),
    ),
  );
  await atTime(placed, async () =>
    s.placement.place({
      session: await s.sessions.getSession(id),
      worker: await s.workers.get(workerId),
      ports: { R1_serial: port, R1_ssh: port + 1 },
      by: 'test',
    }),
  );
  const path: Array<[SessionStatus, SessionStatus, string]> = [
    ['SCHEDULED', 'INSTANTIATING', placed],
    ['INSTANTIATING', 'READY', placed],
    ['READY', 'RUNNING', placed],
    ['RUNNING', 'STOPPING', stopped],
  ];
  for (const [from, to, hhmm] of path) await atTime(hhmm, () => s.sessions.transition(id, from, to, 'test'));
  await atTime(stopped, () => s.placement.release(id));
  for (const [from, to] of [
    ['STOPPING', 'STOPPED'],
    ['STOPPED', 'ARCHIVED'],
    ['ARCHIVED', 'TERMINATED'],
  ] as Array<[SessionStatus, SessionStatus]>) {
    await atTime(stopped, () => s.sessions.transition(id, from, to, 'test'));
  }
}

beforeAll(async () => {
  t = await createTestTable('api-cost');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  s = createStores({ client: t.client, tableName: t.tableName, clock: () => new Date(clock) });

  await s.templates.create(newTemplate({ name: 'a-big', costPerHourUsd: 4, capacity: cap(16, 64, 400, 40) }));
  await s.templates.create(
    newTemplate({
      name: 'b-small',
      costPerHourUsd: 2,
      stoppedCostPerHourUsd: 0.05,
      capacity: cap(8, 32, 200, 20),
    }),
  );
  await atTime('07:00', () =>
    s.workers.create(
      newWorker({
        id: 'w-a',
        templateName: 'a-big',
        status: 'PENDING',
        declaredCapacity: cap(16, 64, 400, 40),
      }),
    ),
  );
  await atTime('07:00', () =>
    s.workers.create(
      newWorker({
        id: 'w-b',
        templateName: 'b-small',
        status: 'PENDING',
        declaredCapacity: cap(8, 32, 200, 20),
      }),
    ),
  );
  await walkWorker('w-a', [
    ['PENDING', 'PROVISIONING', '07:00'],
    ['PROVISIONING', 'STARTING', '07:05'],
    ['STARTING', 'RUNNING', '07:20'],
  ]);
  await walkWorker('w-b', [
    ['PENDING', 'PROVISIONING', '07:00'],
    ['PROVISIONING', 'STARTING', '07:10'],
    ['STARTING', 'RUNNING', '07:30'],
  ]);
  await runSession('s1', 'ospf', 'w-a', cap(8, 16, 40, 4), 2000, '08:00', '10:00');
  await runSession('s3', 'ospf', 'w-b', cap(8, 8, 10, 2), 2010, '08:00', '10:00');
  await runSession('s2', 'bgp', 'w-a', cap(4, 32, 20, 2), 2020, '09:00', '12:00');
  await walkWorker('w-b', [
    ['RUNNING', 'DRAINING', '10:30'],
    ['DRAINING', 'STOPPING', '10:45'],
    ['STOPPING', 'STOPPED', '11:00'],
  ]);
  await walkWorker('w-a', [
    ['RUNNING', 'DRAINING', '12:00'],
    ['DRAINING', 'SHUTTING_DOWN', '12:00'],
    ['SHUTTING_DOWN', 'TERMINATED', '12:00'],
  ]);
  // Booked in the window but never placed: listed, but no history is read for it.
  await atTime('13:00', () =>
    s.sessions.create(
      newSession({
        id: 's-later',
        reservationId: 'r-later',
        timeslot: { start: T('13:30'), end: T('15:00') },
      }),
    ),
  );
}, 120_000);
afterAll(async () => {
  await t.cleanup();
});

const fleet = (
  operationId: 'getFleetCost' | 'getFleetUsage' | 'getDefinitionCost',
  query: Record<string, string>,
  opts: CallOptions = {},
) => call(handler, operationId, { role: 'viewer', query, ...opts });

describe('GET /v1/fleet/cost', () => {
  it('the worked example from the stored histories: totals and per template', async () => {
    const res = await fleet('getFleetCost', { from: T('08:00'), to: T('14:00'), groupBy: 'template' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const report = FleetCostSchema.parse(res.body);
    expect(report.totals).toEqual(COST_WORKED_EXAMPLE_TOTALS);
    expect(report.groups.map((g) => [g.key, g.costUsd, g.attributedUsd, g.sessions])).toEqual([
      ['a-big', 16, 10, 2],
      ['b-small', 6.15, 4, 1],
    ]);
    // Read: 2 workers, the 4 sessions listed, the histories of the 3 that were placed.
    expect(report.read).toEqual({ workers: 2, sessionsListed: 4, histories: 3, unpricedWorkers: [] });
  });

  it('per definition, with the mean cost per session; per day', async () => {
    const byDef = FleetCostSchema.parse(
      (
        await fleet(
          'getFleetCost',
          { from: T('08:00'), to: T('14:00'), groupBy: 'definition' },
          { role: 'operator' },
        )
      ).body,
    );
    expect(byDef.groups).toEqual([
      { key: 'bgp', costUsd: 6, attributedUsd: 6, sessions: 1, meanCostPerSessionUsd: 6 },
      { key: 'ospf', costUsd: 8, attributedUsd: 8, sessions: 2, meanCostPerSessionUsd: 4 },
    ]);
    const byDay = FleetCostSchema.parse(
      (await fleet('getFleetCost', { from: T('08:00'), to: T('14:00') })).body,
    );
    expect(byDay.groupBy).toBe('day');
    expect(byDay.groups.map((g) => [g.key, g.costUsd])).toEqual([[DAY, 22.15]]);
  });

  it("GET /v1/definitions/{id}/cost: the definition's sessions, charge and mean per session; 404 unknown", async () => {
    for (const id of ['ospf', 'bgp']) await s.definitions.create(newDefinition({ id, name: id }));
    const window = { from: T('08:00'), to: T('14:00') };
    const ospf = await fleet('getDefinitionCost', window, { params: { id: 'ospf' } });
    expect(ospf.status).toBe(200);
    expect(ospf.body).toMatchObject({
      definitionId: 'ospf',
      sessions: 2,
      attributedUsd: 8,
      meanCostPerSessionUsd: 4,
      read: { workers: 2, sessionsListed: 4, histories: 3, unpricedWorkers: [] },
    });
    const bgp = await fleet('getDefinitionCost', window, { params: { id: 'bgp' } });
    expect(bgp.body).toMatchObject({ sessions: 1, attributedUsd: 6, meanCostPerSessionUsd: 6 });
    // Before any session of the definition: nothing charged, mean 0.
    const early = await fleet(
      'getDefinitionCost',
      { from: T('07:00'), to: T('08:00') },
      { params: { id: 'ospf' } },
    );
    expect(early.body).toMatchObject({ sessions: 0, attributedUsd: 0, meanCostPerSessionUsd: 0 });
    expect((await fleet('getDefinitionCost', window, { params: { id: 'nope' } })).status).toBe(404);
    const bad = await fleet(
      'getDefinitionCost',
      { from: T('10:00'), to: T('09:00') },
      { params: { id: 'ospf' } },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: FieldError) => e.path)).toEqual(['to']);
    expect(
      (await fleet('getDefinitionCost', window, { params: { id: 'ospf' }, role: 'portal' })).status,
    ).toBe(403);
  });

  it('a narrower window counts only what falls in it', async () => {
    // 09:30–10:30. A ($4/h): s1 + s2 until 10:00 ($1 each), then s2 alone ($1, $1 unallocated).
    // B ($2/h): s3 until 10:00 ($1), then nobody until 10:30 ($1 idle). 6 = 4 + 1 + 1.
    const report = FleetCostSchema.parse(
      (await fleet('getFleetCost', { from: T('09:30'), to: T('10:30') })).body,
    );
    expect(report.totals).toMatchObject({
      totalUsd: 6,
      attributedUsd: 4,
      unallocatedUsd: 1,
      idleUsd: 1,
      sessions: 3,
    });
  });

  it.each([
    ['to before from', { from: T('10:00'), to: T('09:00') }, 'to'],
    ['more than 31 days', { from: '2026-01-01T00:00:00Z', to: '2026-02-02T00:00:01Z' }, 'to'],
    ['no from', { to: T('09:00') }, 'from'],
    ['from not a date', { from: 'yesterday', to: T('09:00') }, 'from'],
    ['an unknown groupBy', { from: T('08:00'), to: T('09:00'), groupBy: 'week' }, 'groupBy'],
  ])('400 naming the field: %s', async (_name, query, field) => {
    const res = await fleet('getFleetCost', query as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.errors.map((e: FieldError) => e.path)).toEqual([field]);
  });

  it('roles: viewers, operators and admins; not the portal', async () => {
    const q = { from: T('08:00'), to: T('09:00') };
    expect((await fleet('getFleetCost', q, { role: 'admin' })).status).toBe(200);
    expect((await fleet('getFleetCost', q, { role: 'portal' })).status).toBe(403);
    expect((await fleet('getFleetUsage', { ...q, step: '60' }, { role: 'portal' })).status).toBe(403);
  });
});

describe('GET /v1/fleet/usage', () => {
  it('hourly points of the worked example', async () => {
    const res = await fleet('getFleetUsage', { from: T('08:00'), to: T('14:00'), step: '3600' });
    expect(res.status).toBe(200);
    const usage = FleetUsageReplySchema.parse(res.body);
    expect(usage.stepSeconds).toBe(3600);
    expect(
      usage.points.map((p) => [p.at.slice(11, 16), p.sessionsActive, p.costRatePerHourUsd, p.costUsd]),
    ).toEqual([
      ['08:00', 2, 6, 6],
      ['09:00', 3, 6, 6],
      ['10:00', 1, 6, 6],
      ['11:00', 1, 4.05, 4.05],
      ['12:00', 0, 0.05, 0.05],
      ['13:00', 0, 0.05, 0.05],
    ]);
    expect(usage.points[1]).toMatchObject({
      workersByStatus: expect.objectContaining({ RUNNING: 2 }),
      declared: cap(24, 96, 600, 60),
      allocated: cap(20, 56, 70, 8),
    });
  });

  it.each([
    ['a step of 0', { step: '0' }, 'step'],
    ['too many points', { step: '10' }, 'step'],
    ['no step', {}, 'step'],
  ])('400 naming the field: %s', async (_name, extra, field) => {
    const res = await fleet('getFleetUsage', { from: T('08:00'), to: T('14:00'), ...extra });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: FieldError) => e.path)).toEqual([field]);
  });
});

describe('GET /v1/sessions/{id}: the session cost', () => {
  const get = (id: string, opts: CallOptions) => call(sessions, 'getSession', { params: { id }, ...opts });

  it('operators, viewers and admins see what the session was charged', async () => {
    for (const role of ['operator', 'viewer', 'admin'] as const) {
      const res = await get('s2', { role });
      expect(res.status).toBe(200);
      expect(res.body.cost).toEqual({
        workerId: 'w-a',
        templateName: 'a-big',
        capacityShare: 0.5,
        heldFrom: T('09:00'),
        heldUntil: T('12:00'),
        heldHours: 3,
        runningPerHourUsd: 4,
        costUsd: 6,
        final: true,
        priced: true,
      });
    }
    expect((await get('s3', { role: 'viewer' })).body.cost).toMatchObject({ capacityShare: 1, costUsd: 4 });
    // Never placed: null.
    expect((await get('s-later', { role: 'viewer' })).body.cost).toBeNull();
  });

  it('the portal that booked it sees the session, not its cost', async () => {
    const res = await get('s2', { role: 'portal', clientId: 'portal-client' });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('s2');
    expect(res.body).not.toHaveProperty('cost');
  });
});
