import { apiStores } from '@lcm/shared/app';
import type { CapacityBookConfig } from '@lcm/shared/fleet';
import { RecordingWorkflowEngine } from '@lcm/shared/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { sessionsHandler } from '../../../functions/api/sessions.ts';
import { handler as templatesHandler } from '../../../functions/api/templates.ts';
import { type CallOptions, call, type TestRole } from '../../support/api.ts';
import { mockDescribeInstanceTypes } from '../../support/instance-types.ts';
import { METAL_48_TEMPLATE, useApiTable } from '../../support/table.ts';

/**
 * The capacity book through the API (issue 10, item 3) on a fleet whose maxWorkers is 1: one
 * 48-core host holds four 12-core labs, so the fifth booking of a slot is a 409 capacity-full,
 * availability says so, and an operator may force it (recorded in the session history).
 */

useApiTable('api-capacity-book');
/** The templates handler checks instance types: EC2 DescribeInstanceTypes at the SDK boundary. */
const ec2 = mockDescribeInstanceTypes();
afterAll(() => ec2.restore());

const engine = new RecordingWorkflowEngine();
beforeEach(() => engine.reset());
const CAPACITY: CapacityBookConfig = { maxWorkers: 1, leadSeconds: 900, releaseMarginSeconds: 600 };
const handler = sessionsHandler(() => ({ ...apiStores(), engine, capacity: CAPACITY }));
const as = (role: TestRole | undefined, operationId: string, opts: CallOptions = {}) =>
  call(handler, operationId, { role, clientId: 'portal-app', ...opts });

const HOUR = 3_600_000;
/** Two days ahead on the hour: well inside the horizon, nothing else booked near it. */
const BASE = Math.ceil((Date.now() + 48 * HOUR) / HOUR) * HOUR;
const at = (minutes: number): string => new Date(BASE + minutes * 60_000).toISOString();

let seq = 0;
const body = (startMin: number, endMin: number, over: Record<string, unknown> = {}) => ({
  definitionId: 'quarter',
  reservationId: `cap-${++seq}-${Math.random().toString(36).slice(2, 8)}`,
  owner: { userId: `u-${seq}` },
  timeslot: { start: at(startMin), end: at(endMin) },
  ...over,
});
const availability = (query: Record<string, string>, role: TestRole = 'portal') =>
  as(role, 'getAvailability', { query: { definitionId: 'quarter', ...query } });

beforeAll(async () => {
  const tpl = await call(templatesHandler, 'createWorkerTemplate', {
    role: 'admin',
    body: METAL_48_TEMPLATE,
  });
  expect(tpl.status).toBe(201);
  const def = await call(definitionsHandler, 'createDefinition', {
    role: 'admin',
    body: {
      id: 'quarter',
      name: 'a quarter of a host',
      resourceRequirements: { cpuCores: 12, memoryGb: 16, storageGb: 20, nodeCount: 4 },
      licenseAffinity: ['ENTERPRISE'],
      maxDurationMinutes: 120,
    },
  });
  expect(def.status).toBe(201);
});

describe('GET /v1/availability and POST /v1/sessions on a full book (maxWorkers 1)', () => {
  it('counts down per slot, refuses the fifth booking with 409 capacity-full and its first minute', async () => {
    const range = { from: at(0), to: at(180), stepMinutes: '60', durationMinutes: '60' };
    const before = await availability(range);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ definitionId: 'quarter', definitionVersion: 1, maxWorkers: 1 });
    expect(before.body.slots.map((s: { additional: number }) => s.additional)).toEqual([4, 4, 4]);

    for (let i = 0; i < 4; i++)
      expect((await as('portal', 'createSession', { body: body(60, 120) })).status).toBe(201);
    const after = await availability(range);
    // 10:00–11:00 is full; 09:00–10:00 and 11:00–12:00 share its hold (lead 15 min, release 10 min).
    expect(after.body.slots).toEqual([
      { start: at(0), end: at(60), fits: false, additional: 0, capped: false, firstOverflow: at(45) },
      { start: at(60), end: at(120), fits: false, additional: 0, capped: false, firstOverflow: at(45) },
      { start: at(120), end: at(180), fits: false, additional: 0, capped: false, firstOverflow: at(105) },
    ]);
    // Far enough after: free again.
    const later = await availability({ from: at(180), to: at(181), durationMinutes: '60' });
    expect(later.body.slots).toEqual([
      { start: at(180), end: at(240), fits: true, additional: 4, capped: false },
    ]);
    expect(after.body.read).toEqual({ sessions: 4, templates: 1 });

    const fifth = body(60, 120);
    const started = engine.calls.length;
    const refused = await as('portal', 'createSession', { body: fifth });
    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.body).toMatchObject({
      type: 'https://lablet.io/problems/lcm/capacity-full',
      title: 'Capacity full',
      code: 'CAPACITY_FULL',
      details: { firstOverflow: at(45), hostsNeeded: 2, maxWorkers: 1, sessionsHolding: 5 },
    });
    expect(refused.body.detail).toContain('maxWorkers is 1');
    expect(engine.calls).toHaveLength(started); // no workflow for it
    expect(
      (await as('portal', 'getReservation', { params: { reservationId: fifth.reservationId } })).status,
    ).toBe(404);
  });

  it('a portal may not force (403 naming force, nothing stored); an operator may, and the history says so', async () => {
    const portal = body(60, 120, { force: true });
    const denied = await as('portal', 'createSession', { body: portal });
    expect(denied.status).toBe(403);
    expect(denied.body.errors).toEqual([
      { path: 'force', message: 'needs sessions:overbook (lcm.operator or lcm.admin)', in: 'body' },
    ]);
    expect(
      (await as('admin', 'getReservation', { params: { reservationId: portal.reservationId } })).status,
    ).toBe(404);

    const forced = await as('operator', 'createSession', {
      body: body(60, 120, { force: true }),
      sub: 'ops-1',
    });
    expect(forced.status).toBe(201);
    const history = await as('operator', 'getSessionHistory', { params: { id: forced.body.id } });
    expect(history.body.items).toEqual([
      {
        from: 'PENDING',
        to: 'PENDING',
        at: forced.body.createdAt,
        by: 'ops-1',
        reason: `booked past a full capacity book, forced by ops-1: at ${at(45)} the 5 sessions holding capacity would need 2 hosts; maxWorkers is 1`,
      },
    ]);
    // force on a booking that fits records nothing.
    const roomy = await as('admin', 'createSession', { body: body(600, 660, { force: true }) });
    expect(roomy.status).toBe(201);
    expect((await as('admin', 'getSessionHistory', { params: { id: roomy.body.id } })).body.items).toEqual(
      [],
    );
  });

  it('a terminated booking gives its capacity back', async () => {
    const range = { from: at(1200), to: at(1201), durationMinutes: '60' };
    const booked = await as('portal', 'createSession', { body: body(1200, 1260) });
    expect(booked.status).toBe(201);
    expect((await availability(range)).body.slots[0].additional).toBe(3);
    await apiStores().sessions.transition(booked.body.id, 'PENDING', 'TERMINATED', 'test');
    expect((await availability(range)).body.slots[0].additional).toBe(4);
  });

  it('validates the query naming the field, answers 404 for an unknown definition, and is for every role that reads sessions', async () => {
    const bad = async (query: Record<string, string>, path: string) => {
      const res = await availability(query);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    };
    await bad({ from: at(60), to: at(0) }, 'to');
    await bad({ from: at(0), to: at(8 * 24 * 60) }, 'to');
    await bad({ from: at(0), to: at(24 * 60), stepMinutes: '5' }, 'stepMinutes');
    await bad({ from: 'tomorrow', to: at(60) }, 'from');
    await bad({ from: at(0), to: at(60), maxAdditional: '0' }, 'maxAdditional');
    const tooLong = await availability({ from: at(0), to: at(60), durationMinutes: '121' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors).toEqual([
      { path: 'durationMinutes', message: "must be at most the definition's maxDurationMinutes (120)" },
    ]);
    const unknown = await availability({ definitionId: 'nope', from: at(0), to: at(60) });
    expect(unknown.status).toBe(404);
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      expect((await availability({ from: at(3000), to: at(3060) }, role)).status, role).toBe(200);
    }
    expect((await as(undefined, 'getAvailability', { query: { definitionId: 'quarter' } })).status).toBe(401);
  });
});
