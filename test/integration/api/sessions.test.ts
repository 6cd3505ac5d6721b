import { apiStores } from '@lcm/shared/app';
import type { LabletSession, SessionStatus } from '@lcm/shared/kernel';
import type { FieldError } from '@lcm/shared/platform';
import { createWorkflowEngine, RecordingWorkflowEngine } from '@lcm/shared/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { handler as defaultSessionsHandler, sessionsHandler } from '../../../functions/api/sessions.ts';
import { handler as templatesHandler } from '../../../functions/api/templates.ts';
import { type CallOptions, call } from '../../support/api.ts';
import { mockDescribeInstanceTypes } from '../../support/instance-types.ts';
import { createTestTable, METAL_48_TEMPLATE, type TestTable } from '../../support/table.ts';

/** /v1/sessions and /v1/reservations end to end: API Gateway v2 event → handler → DynamoDB Local. */

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable('api-sessions');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  delete process.env.WORKFLOW_ENGINE;
});
/** The templates handler checks instance types: EC2 DescribeInstanceTypes at the SDK boundary. */
const ec2 = mockDescribeInstanceTypes();
afterAll(async () => {
  ec2.restore();
  await t?.cleanup();
});

/** The handler under test records workflow calls in this engine; the default handler uses its own. */
const engine = new RecordingWorkflowEngine();
const handler = sessionsHandler(() => ({ ...apiStores(), engine }));
beforeEach(() => engine.reset());

/** The portal's client: every portal call speaks for it, whoever its `sub` (tenancy: api/views.ts). */
const PORTAL_CLIENT = 'portal-app';
const api = (operationId: string, opts: CallOptions = {}) =>
  call(handler, operationId, { role: 'portal', clientId: PORTAL_CLIENT, ...opts });
const stores = () => apiStores();

type StateChange = { from: string; to: string };
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** ISO instant `m` minutes from now. */
const mins = (m: number): string => new Date(Date.now() + m * 60_000).toISOString();
const REQUIREMENTS = { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 };
const PORTS = [{ name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 }];

async function defineDefinition(id: string, over: Record<string, unknown> = {}) {
  const res = await call(definitionsHandler, 'createDefinition', {
    role: 'admin',
    body: {
      id,
      name: id,
      resourceRequirements: REQUIREMENTS,
      portTemplate: PORTS,
      licenseAffinity: ['ENTERPRISE'],
      maxDurationMinutes: 120,
      ...over,
    },
  });
  expect(res.status).toBe(201);
  return res.body;
}

let seq = 0;
const reservation = () => `res-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
const sessionBody = (over: Record<string, unknown> = {}) => ({
  definitionId: 'lab',
  reservationId: reservation(),
  owner: { userId: 'u-1', username: 'learner', email: 'learner@example.com' },
  timeslot: { start: mins(30), end: mins(90) },
  ...over,
});

async function reserve(over: Record<string, unknown> = {}): Promise<LabletSession> {
  const res = await api('createSession', { body: sessionBody(over) });
  expect(res.status).toBe(201);
  return res.body;
}

/** Walks a session along `path` (each step a validated transition), the last step with `patch`. */
async function advance(id: string, path: SessionStatus[], patch: Record<string, unknown> = {}) {
  let s = await stores().sessions.getSession(id);
  for (const [i, to] of path.entries()) {
    s = await stores().sessions.transition(
      id,
      s.status,
      to,
      'test',
      undefined,
      i === path.length - 1 ? patch : {},
    );
  }
  return s;
}
const wait = (kind: 'LOGIN' | 'END' | 'GRADING', taskToken: string) => ({
  pendingWait: { kind, taskToken, since: new Date().toISOString() },
});
const TO_READY: SessionStatus[] = ['SCHEDULED', 'INSTANTIATING', 'READY'];
const TO_RUNNING: SessionStatus[] = [...TO_READY, 'RUNNING'];

/** The enabled template every booking below is admitted against (admission: no template, no booking). */
const TEMPLATE = METAL_48_TEMPLATE;

beforeAll(async () => {
  await defineDefinition('lab');
  const tpl = await call(templatesHandler, 'createWorkerTemplate', { role: 'admin', body: TEMPLATE });
  expect(tpl.status).toBe(201);
});

describe('POST /v1/sessions: horizon and admission (issue 10, item 2)', () => {
  it('refuses every booking with 422 while no template is enabled, then admits once one is', async () => {
    const templates = (operationId: string, opts: CallOptions) =>
      call(templatesHandler, operationId, { role: 'admin', ...opts });
    expect((await templates('disableWorkerTemplate', { params: { name: TEMPLATE.name } })).status).toBe(200);
    try {
      const before = await api('createSession', { body: sessionBody() });
      expect(before.status).toBe(422);
      expect(before.headers['content-type']).toBe('application/problem+json');
      expect(before.body).toMatchObject({
        status: 422,
        code: 'UNPROCESSABLE',
        errors: [{ path: 'definitionId', message: 'no worker template is enabled' }],
      });
    } finally {
      const enabled = await templates('updateWorkerTemplate', {
        params: { name: TEMPLATE.name },
        body: { enabled: true },
      });
      expect(enabled.status).toBe(200);
    }
    expect((await api('createSession', { body: sessionBody() })).status).toBe(201);
  });

  it('refuses a definition no enabled template can hold: 422 naming each failing dimension, nothing stored', async () => {
    await defineDefinition('huge', {
      resourceRequirements: { cpuCores: 301, memoryGb: 64, storageGb: 10, nodeCount: 302 },
    });
    const body = sessionBody({ definitionId: 'huge' });
    const res = await api('createSession', { body });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { path: 'resourceRequirements.cpuCores', message: 'cpuCores 301 > 48 on every template' },
      { path: 'resourceRequirements.nodeCount', message: 'nodeCount 302 > 100 on every template' },
    ]);
    expect(res.body.detail).toContain('definition huge v1 cannot be placed on any enabled worker template');
    expect(engine.calls).toEqual([]);
    const lookup = await api('getReservation', { params: { reservationId: body.reservationId } });
    expect(lookup.status).toBe(404);
  });

  it('refuses a timeslot beyond the 180-day horizon (400 on timeslot.start) and accepts one just inside', async () => {
    const day = 24 * 60;
    const far = await api('createSession', {
      body: sessionBody({ timeslot: { start: mins(181 * day), end: mins(181 * day + 60) } }),
    });
    expect(far.status).toBe(400);
    expect(far.body.errors).toEqual([
      { path: 'timeslot.start', message: expect.stringMatching(/^must be at most 180 days ahead/) },
    ]);
    const year9999 = await api('createSession', {
      body: sessionBody({ timeslot: { start: '9999-01-01T10:00:00Z', end: '9999-01-01T11:00:00Z' } }),
    });
    expect(year9999.status).toBe(400);
    const inside = await api('createSession', {
      body: sessionBody({ timeslot: { start: mins(179 * day), end: mins(179 * day + 60) } }),
    });
    expect(inside.status).toBe(201);
  });

  it('reads the horizon from the booking config (LCM_BOOKING_HORIZON_DAYS per stage)', async () => {
    const shortHorizon = sessionsHandler(() => ({ ...apiStores(), engine, booking: { horizonDays: 7 } }));
    const res = await call(shortHorizon, 'createSession', {
      role: 'portal',
      clientId: PORTAL_CLIENT,
      body: sessionBody({ timeslot: { start: mins(8 * 24 * 60), end: mins(8 * 24 * 60 + 60) } }),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/^must be at most 7 days ahead/);
  });
});

describe('POST /v1/sessions', () => {
  it('creates a PENDING session pinned to the latest version and starts its workflow', async () => {
    const body = sessionBody();
    const res = await api('createSession', { body });
    expect(res.status).toBe(201);
    const s = res.body;
    expect(s.id).toMatch(ULID);
    expect(res.headers.location).toBe(`/v1/sessions/${s.id}`);
    expect(s).toMatchObject({
      definitionId: 'lab',
      definitionVersion: 1,
      reservationId: body.reservationId,
      owner: body.owner,
      timeslot: body.timeslot,
      status: 'PENDING',
      requirements: REQUIREMENTS,
      portTemplate: PORTS,
      licenseAffinity: ['ENTERPRISE'],
      executionArn: `recorded:${s.id}`,
    });
    expect(s.workerId).toBeUndefined();
    expect(engine.callsOf('startSession')).toEqual([
      expect.objectContaining({
        sessionId: s.id,
        executionArn: `recorded:${s.id}`,
        input: { sessionId: s.id },
      }),
    ]);

    const byReservation = await api('getReservation', { params: { reservationId: body.reservationId } });
    expect(byReservation.status).toBe(200);
    // What GET /v1/sessions/{id} shows the same caller (issue 11, item 6).
    const detail = await api('getSession', { params: { id: s.id } });
    expect(byReservation.body).toEqual({ items: [detail.body] });
    expect(byReservation.body.items[0]).toMatchObject({
      ...s,
      userSession: null,
      grading: null,
      score: null,
      history: expect.any(Array),
    });
  });

  it('the exported handler uses the recording engine by default (ARN kept on the session)', async () => {
    const res = await call(defaultSessionsHandler, 'createSession', { role: 'portal', body: sessionBody() });
    expect(res.status).toBe(201);
    expect(res.body.executionArn).toBe(`recorded:${res.body.id}`);
    expect((await stores().sessions.getSession(res.body.id)).executionArn).toBe(`recorded:${res.body.id}`);
    expect(engine.calls).toEqual([]); // not the test's engine
  });

  it('accepts an on-demand timeslot that started a moment ago', async () => {
    const s = await reserve({ timeslot: { start: mins(-2), end: mins(58) } });
    expect(s.status).toBe('PENDING');
  });

  it.each([
    ['end before start', { start: mins(60), end: mins(30) }, 'timeslot.end'],
    ['end equal to start', { start: mins(60), end: mins(60) }, 'timeslot.end'],
    ['start more than a few minutes ago', { start: mins(-10), end: mins(50) }, 'timeslot.start'],
    ['end already past', { start: mins(-4), end: mins(-1) }, 'timeslot.end'],
    ['longer than maxDurationMinutes (120)', { start: mins(10), end: mins(131) }, 'timeslot.end'],
  ])('rejects a timeslot with %s (400 naming %s), creating nothing', async (_, timeslot, path) => {
    const body = sessionBody({ timeslot });
    const res = await api('createSession', { body });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.errors.map((e: FieldError) => e.path)).toEqual([path]);
    expect((await api('getReservation', { params: { reservationId: body.reservationId } })).status).toBe(404);
    expect(engine.calls).toEqual([]);
  });

  it('rejects a timeslot start that is not a date-time (400 naming timeslot.start)', async () => {
    const res = await api('createSession', {
      body: sessionBody({ timeslot: { start: 'tomorrow', end: mins(60) } }),
    });
    expect(res.status).toBe(400);
    // TimeslotSchema's end-after-start refinement also fires on an unparsable start (schemas.ts).
    expect(res.body.errors.map((e: FieldError) => e.path)).toContain('timeslot.start');
    expect(res.body.errors.find((e: FieldError) => e.path === 'timeslot.start').message).toMatch(/datetime/i);
  });

  it('accepts a timeslot exactly as long as the definition allows', async () => {
    const start = mins(10);
    const end = new Date(Date.parse(start) + 120 * 60_000).toISOString();
    expect((await reserve({ timeslot: { start, end } })).timeslot).toEqual({ start, end });
  });

  it('rejects malformed bodies with 400 and every offending field path', async () => {
    const res = await api('createSession', {
      body: {
        definitionId: 'lab',
        definitionVersion: 0,
        owner: { username: 'x', email: 'not-an-email' },
        timeslot: { start: mins(10) },
        extra: true,
      },
    });
    expect(res.status).toBe(400);
    const paths = res.body.errors.map((e: FieldError) => e.path);
    for (const p of ['definitionVersion', 'reservationId', 'owner.userId', 'owner.email', 'timeslot.end']) {
      expect(paths).toContain(p);
    }
    expect(res.body.errors.some((e: FieldError) => /extra/.test(e.message))).toBe(true);
    expect((await api('createSession', { rawBody: '{not json' })).status).toBe(400);
    expect((await api('createSession', {})).status).toBe(400);
  });

  it('404 for an unknown definition or version', async () => {
    const none = await api('createSession', { body: sessionBody({ definitionId: 'no-such-def' }) });
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('NOT_FOUND');
    const version = await api('createSession', { body: sessionBody({ definitionVersion: 7 }) });
    expect(version.status).toBe(404);
  });

  it('409 for a DEPRECATED or ARCHIVED definition', async () => {
    await defineDefinition('old-lab');
    await call(definitionsHandler, 'deprecateDefinition', { role: 'admin', params: { id: 'old-lab' } });
    const deprecated = await api('createSession', { body: sessionBody({ definitionId: 'old-lab' }) });
    expect(deprecated.status).toBe(409);
    expect(deprecated.body.detail).toMatch(/old-lab is DEPRECATED/);
    await call(definitionsHandler, 'archiveDefinition', { role: 'admin', params: { id: 'old-lab' } });
    const archived = await api('createSession', {
      body: sessionBody({ definitionId: 'old-lab', definitionVersion: 1 }),
    });
    expect(archived.status).toBe(409);
    expect(archived.body.detail).toMatch(/old-lab is ARCHIVED/);
  });

  it('pins the requested version; later versions do not change an existing session', async () => {
    await defineDefinition('pinned', { maxDurationMinutes: 60 });
    await call(definitionsHandler, 'updateDefinition', {
      role: 'admin',
      params: { id: 'pinned' },
      body: { resourceRequirements: { ...REQUIREMENTS, cpuCores: 8 }, maxDurationMinutes: 240 },
    });
    const v1 = await reserve({ definitionId: 'pinned', definitionVersion: 1 });
    expect(v1).toMatchObject({ definitionVersion: 1, requirements: REQUIREMENTS });
    // The pinned version's own maxDurationMinutes (60) applies.
    const tooLongForV1 = await api('createSession', {
      body: sessionBody({
        definitionId: 'pinned',
        definitionVersion: 1,
        timeslot: { start: mins(5), end: mins(125) },
      }),
    });
    expect(tooLongForV1.status).toBe(400);
    expect(tooLongForV1.body.errors[0].path).toBe('timeslot.end');

    const latest = await reserve({ definitionId: 'pinned', timeslot: { start: mins(5), end: mins(125) } });
    expect(latest).toMatchObject({ definitionVersion: 2, requirements: { ...REQUIREMENTS, cpuCores: 8 } });

    await call(definitionsHandler, 'updateDefinition', {
      role: 'admin',
      params: { id: 'pinned' },
      body: { resourceRequirements: { ...REQUIREMENTS, cpuCores: 16 } },
    });
    const again = await api('getSession', { params: { id: v1.id } });
    expect(again.body).toMatchObject({ definitionVersion: 1, requirements: REQUIREMENTS });
  });

  it('returns the existing session (200) for a reservation that has one, the same slot however written', async () => {
    const body = sessionBody();
    const first = await api('createSession', { body });
    expect(first.status).toBe(201);
    const again = await api('createSession', { body });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.location).toBe(`/v1/sessions/${first.body.id}`);
    // The same instants with an offset: the same slot.
    const offset = (iso: string) =>
      new Date(Date.parse(iso) + 3_600_000).toISOString().replace('Z', '+01:00');
    const sameSlot = await api('createSession', {
      body: { ...body, timeslot: { start: offset(body.timeslot.start), end: offset(body.timeslot.end) } },
    });
    expect(sameSlot.status).toBe(200);
    expect(sameSlot.body.id).toBe(first.body.id);
    expect(engine.callsOf('startSession')).toHaveLength(1);
  });

  it('409 naming the timeslot fields when a repeat for the reservation names another slot (issue 11, item 6)', async () => {
    const body = sessionBody();
    const first = await reserve(body);
    const moved = await api('createSession', {
      body: { ...body, timeslot: { start: mins(-60), end: mins(-30) } },
    });
    expect(moved.status).toBe(409);
    expect(moved.body).toMatchObject({
      code: 'CONFLICT',
      details: { sessionId: first.id, fields: ['timeslot.start', 'timeslot.end'] },
    });
    expect(moved.body.detail).toContain(first.timeslot.start);
    const later = await api('createSession', {
      body: { ...body, timeslot: { start: body.timeslot.start, end: mins(170) } },
    });
    expect(later.status).toBe(409);
    expect(later.body.details.fields).toEqual(['timeslot.end']);
    // Nothing changed: the session keeps its slot, one workflow.
    const kept = await api('getSession', { params: { id: first.id } });
    expect(kept.body.timeslot).toEqual(first.timeslot);
    expect(engine.callsOf('startSession')).toHaveLength(1);
  });

  it('409 when a repeat for the reservation names another definition or user', async () => {
    await defineDefinition('other-lab');
    const body = sessionBody();
    const first = await reserve(body);
    const otherDef = await api('createSession', { body: { ...body, definitionId: 'other-lab' } });
    expect(otherDef.status).toBe(409);
    expect(otherDef.body).toMatchObject({
      code: 'CONFLICT',
      details: { sessionId: first.id, fields: ['definitionId'] },
    });
    const otherUser = await api('createSession', { body: { ...body, owner: { userId: 'u-2' } } });
    expect(otherUser.status).toBe(409);
    expect(otherUser.body.details.fields).toEqual(['owner.userId']);
    const otherVersion = await api('createSession', { body: { ...body, definitionVersion: 2 } });
    expect(otherVersion.status).toBe(409);
  });

  it('THE RACE: 20 concurrent creates for one reservation make exactly one session', async () => {
    await defineDefinition('race-lab');
    const body = sessionBody({ definitionId: 'race-lab' });
    const replies = await Promise.all(Array.from({ length: 20 }, () => api('createSession', { body })));

    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 200)).toBe(true);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    const id = replies[0]!.body.id;
    expect(id).toMatch(ULID);
    expect(replies.every((r) => r.body.id === id && r.body.reservationId === body.reservationId)).toBe(true);

    // Exactly one session exists: by reservation, and among all sessions of the definition.
    const byReservation = await api('getReservation', { params: { reservationId: body.reservationId } });
    expect(byReservation.body.items.map((s: LabletSession) => s.id)).toEqual([id]);
    const ofDefinition = await api('listSessions', { query: { definitionId: 'race-lab', limit: '100' } });
    expect(ofDefinition.body.items.map((s: LabletSession) => s.id)).toEqual([id]);
    // One workflow execution, for that session (a start is idempotent per session).
    expect(engine.executions()).toEqual([`recorded:${id}`]);
    expect(engine.callsOf('startSession').every((c) => c.sessionId === id)).toBe(true);
    expect((await stores().sessions.getSession(id)).executionArn).toBe(`recorded:${id}`);
  });

  it('heals a session whose workflow never started when its create is retried', async () => {
    // As if the first create crashed between the write and the start.
    const body = sessionBody();
    const def = await stores().definitions.getLatest('lab');
    const orphan = await stores().sessions.create({
      id: '01J00000000000000000000000',
      definitionId: def.id,
      definitionVersion: def.version,
      reservationId: body.reservationId,
      owner: body.owner,
      timeslot: body.timeslot,
      requirements: def.resourceRequirements,
      bookedBy: PORTAL_CLIENT,
    });
    expect(orphan.executionArn).toBeUndefined();
    const retry = await api('createSession', { body });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: orphan.id, executionArn: `recorded:${orphan.id}` });
    expect(engine.executions()).toEqual([`recorded:${orphan.id}`]);
  });

  it('needs sessions:create (viewer 403, no token 401)', async () => {
    expect((await api('createSession', { body: sessionBody(), role: 'viewer' })).status).toBe(403);
    expect((await api('createSession', { body: sessionBody(), role: undefined })).status).toBe(401);
    expect((await api('createSession', { body: sessionBody(), role: 'operator' })).status).toBe(201);
  });
});

describe('GET /v1/sessions/{id}, /history and /v1/reservations/{reservationId}', () => {
  it('returns the session with user session, grading, score, observations and history', async () => {
    const s = await reserve();
    const fresh = await api('getSession', { params: { id: s.id }, role: 'viewer' });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toEqual({
      ...s,
      userSession: null,
      grading: null,
      score: null,
      observations: [],
      history: [],
      // Never placed: no cost (a viewer may see it; docs/cost.md).
      cost: null,
    });

    const now = new Date().toISOString();
    await advance(s.id, TO_RUNNING);
    const userSession = {
      ldsSessionId: 'lds-1',
      loginUrl: 'https://lds.example/login/abc',
      status: 'ACTIVE' as const,
      createdAt: now,
      updatedAt: now,
    };
    await stores().sessions.putUserSession(s.id, userSession);
    const grading = {
      gradingSessionId: 'g-1',
      status: 'COMPLETED' as const,
      submittedAt: now,
      completedAt: now,
    };
    await stores().sessions.putGrading(s.id, grading);
    const score = {
      score: 8,
      maxScore: 10,
      passed: true,
      sections: [{ name: 'OSPF', score: 8, maxScore: 10, checks: [{ name: 'adjacency', passed: true }] }],
      reportedAt: now,
    };
    await stores().sessions.putScore(s.id, score);
    await stores().sessions.addObservation({
      sessionId: s.id,
      definitionId: 'lab',
      definitionVersion: 1,
      observedAt: now,
      observer: 'test',
      totals: REQUIREMENTS,
    });

    const full = (await api('getSession', { params: { id: s.id } })).body;
    expect(full).toMatchObject({ id: s.id, status: 'RUNNING', userSession, grading, score });
    expect(full.userSession.loginUrl).toBe('https://lds.example/login/abc');
    expect(full.observations).toEqual([
      expect.objectContaining({ sessionId: s.id, observedAt: now, totals: REQUIREMENTS }),
    ]);
    expect(full.history.map((h: StateChange) => `${h.from}>${h.to}`)).toEqual([
      'PENDING>SCHEDULED',
      'SCHEDULED>INSTANTIATING',
      'INSTANTIATING>READY',
      'READY>RUNNING',
    ]);

    const history = await api('getSessionHistory', { params: { id: s.id } });
    expect(history.status).toBe(200);
    expect(history.body).toEqual({ items: full.history });
    expect(history.body.items[0]).toMatchObject({ from: 'PENDING', to: 'SCHEDULED', by: 'test' });
  });

  it('404 for unknown sessions and reservations, 400 for malformed ids', async () => {
    for (const op of ['getSession', 'getSessionHistory']) {
      const res = await api(op, { params: { id: 'no-such-session' } });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
      const bad = await api(op, { params: { id: 'has spaces' } });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0]).toMatchObject({ path: 'id', in: 'path' });
    }
    expect((await api('getReservation', { params: { reservationId: 'no-such-reservation' } })).status).toBe(
      404,
    );
    const long = await api('getReservation', { params: { reservationId: 'x'.repeat(300) } });
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path).toBe('reservationId');
  });
});

describe('POST /v1/sessions/{id}/terminate', () => {
  it('a session not yet placed goes straight to TERMINATED; its execution is stopped; repeating is a no-op', async () => {
    const s = await reserve();
    engine.reset();
    const res = await api('terminateSession', {
      params: { id: s.id },
      body: { reason: 'learner cancelled' },
      sub: 'portal-client',
    });
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('terminated');
    expect(res.body.session).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'learner cancelled',
      terminationRequestedAt: expect.any(String),
    });
    const view = (await api('getSession', { params: { id: s.id } })).body;
    expect(view.history).toEqual([
      expect.objectContaining({
        from: 'PENDING',
        to: 'TERMINATED',
        by: 'portal-client',
        reason: 'learner cancelled',
      }),
    ]);
    expect(engine.calls).toEqual([
      expect.objectContaining({
        op: 'stopExecution',
        executionArn: `recorded:${s.id}`,
        cause: 'learner cancelled',
      }),
    ]);

    const again = await api('terminateSession', { params: { id: s.id }, body: { reason: 'again' } });
    expect(again.status).toBe(202);
    expect(again.body.outcome).toBe('noop');
    expect(again.body.session).toEqual(res.body.session);
    expect((await api('getSessionHistory', { params: { id: s.id } })).body.items).toHaveLength(1);
    expect(engine.calls).toHaveLength(1);
    // A terminated reservation is still answered (idempotent create), not re-created.
    const replay = await api('createSession', {
      body: { definitionId: 'lab', reservationId: s.reservationId, owner: s.owner, timeslot: s.timeslot },
    });
    expect(replay.status).toBe(200);
    expect(replay.body.status).toBe('TERMINATED');
    expect(engine.callsOf('startSession')).toEqual([]);
  });

  it('fails the pending task token of a waiting session; the workflow tears down', async () => {
    const s = await reserve();
    await advance(s.id, TO_RUNNING, wait('END', 'token-end-1'));
    engine.reset();
    const res = await api('terminateSession', { params: { id: s.id }, body: { reason: 'operator stop' } });
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('requested');
    expect(res.body.session).toMatchObject({ status: 'RUNNING', terminationReason: 'operator stop' });
    const requestedAt = res.body.session.terminationRequestedAt;
    expect(Date.parse(requestedAt)).not.toBeNaN();
    expect(engine.calls).toEqual([
      expect.objectContaining({
        op: 'sendTaskFailure',
        taskToken: 'token-end-1',
        error: 'Terminated',
        cause: 'operator stop',
      }),
    ]);

    // Safe to repeat: the first request's time and reason stay; the token is failed again
    // (resolving a token already resolved is not an error for the engine).
    const again = await api('terminateSession', { params: { id: s.id }, body: {} });
    expect(again.status).toBe(202);
    expect(again.body.session).toMatchObject({
      terminationRequestedAt: requestedAt,
      terminationReason: 'operator stop',
    });
    expect(again.body.session.version).toBe(res.body.session.version);
    expect(engine.callsOf('sendTaskFailure').map((c) => c.taskToken)).toEqual(['token-end-1', 'token-end-1']);
    expect((await api('getSessionHistory', { params: { id: s.id } })).body.items).toHaveLength(4);
  });

  it('a session in a working step only records the request (the next step sees it)', async () => {
    const s = await reserve();
    await advance(s.id, ['SCHEDULED', 'INSTANTIATING']);
    engine.reset();
    const res = await api('terminateSession', { params: { id: s.id }, role: 'operator' });
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('requested');
    expect(res.body.session.status).toBe('INSTANTIATING');
    expect(res.body.session.terminationRequestedAt).toEqual(expect.any(String));
    expect(res.body.session.terminationReason).toBeUndefined();
    expect(engine.calls).toEqual([]);
  });

  it('404 unknown, 400 bad body, 403 viewer', async () => {
    expect((await api('terminateSession', { params: { id: 'no-such-session' } })).status).toBe(404);
    const s = await reserve();
    const bad = await api('terminateSession', {
      params: { id: s.id },
      body: { reason: 'x'.repeat(2001), force: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: FieldError) => e.path)).toContain('reason');
    expect(bad.body.errors.some((e: FieldError) => /force/.test(e.message))).toBe(true);
    expect((await api('terminateSession', { params: { id: s.id }, role: 'viewer' })).status).toBe(403);
    expect((await stores().sessions.getSession(s.id)).status).toBe('PENDING');
  });
});

describe('POST /v1/sessions/{id}/finish', () => {
  it('RUNNING: records finishRequestedAt and resolves the END wait; repeating keeps the first time', async () => {
    const s = await reserve();
    await advance(s.id, TO_RUNNING, wait('END', 'token-end-2'));
    engine.reset();
    const res = await api('finishSession', {
      params: { id: s.id },
      body: { reason: 'done early' },
      sub: 'learner-x',
    });
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('requested');
    expect(res.body.session.status).toBe('RUNNING');
    const finishedAt = res.body.session.finishRequestedAt;
    expect(Date.parse(finishedAt)).not.toBeNaN();
    expect(engine.calls).toEqual([
      expect.objectContaining({
        op: 'sendTaskSuccess',
        taskToken: 'token-end-2',
        output: { ended: 'FINISHED', source: 'api', by: 'learner-x', at: finishedAt, reason: 'done early' },
      }),
    ]);
    const again = await api('finishSession', { params: { id: s.id } });
    expect(again.status).toBe(202);
    expect(again.body.session.finishRequestedAt).toBe(finishedAt);
    expect(again.body.session.version).toBe(res.body.session.version);
  });

  it('READY waiting for login: records the request without resolving the LOGIN token', async () => {
    const s = await reserve();
    await advance(s.id, TO_READY, wait('LOGIN', 'token-login'));
    engine.reset();
    const res = await api('finishSession', { params: { id: s.id } });
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('requested');
    expect(res.body.session).toMatchObject({ status: 'READY', finishRequestedAt: expect.any(String) });
    expect(engine.calls).toEqual([]);
  });

  it.each([['PENDING'], ['SCHEDULED'], ['INSTANTIATING']] as const)('409 while %s', async (status) => {
    const s = await reserve();
    const path = (['SCHEDULED', 'INSTANTIATING'] as SessionStatus[]).slice(
      0,
      ['PENDING', 'SCHEDULED', 'INSTANTIATING'].indexOf(status),
    );
    await advance(s.id, path);
    const res = await api('finishSession', { params: { id: s.id } });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(new RegExp(`is ${status}`));
    expect((await stores().sessions.getSession(s.id)).finishRequestedAt).toBeUndefined();
  });

  it.each([
    ['COLLECTING', [...TO_RUNNING, 'COLLECTING']],
    ['STOPPED', [...TO_RUNNING, 'STOPPING', 'STOPPED']],
    ['TERMINATED', ['TERMINATED']],
  ] as const)('202 no-op once %s', async (_, path) => {
    const s = await reserve();
    const before = await advance(s.id, [...path]);
    engine.reset();
    const res = await api('finishSession', { params: { id: s.id } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ outcome: 'noop', session: before });
    expect(engine.calls).toEqual([]);
  });

  it('404 unknown, 400 bad body, 403 viewer', async () => {
    expect((await api('finishSession', { params: { id: 'no-such-session' } })).status).toBe(404);
    const s = await reserve();
    const bad = await api('finishSession', { params: { id: s.id }, body: { reason: 42 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'reason', in: 'body' })]);
    expect((await api('finishSession', { params: { id: s.id }, role: 'viewer' })).status).toBe(403);
  });
});

describe('GET /v1/sessions', () => {
  /** s0..s6 of definition `list-lab`, starting one hour apart from a whole minute. */
  const starts: string[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    await defineDefinition('list-lab', { maxDurationMinutes: 600, portTemplate: [] });
    const base = Math.ceil(Date.now() / 60_000) * 60_000 + 60 * 60_000;
    for (let i = 0; i < 7; i++) {
      const start = new Date(base + i * 60 * 60_000).toISOString();
      const end = new Date(Date.parse(start) + 30 * 60_000).toISOString();
      starts.push(start);
      const s = await reserve({
        definitionId: 'list-lab',
        reservationId: `list-r-${i}`,
        timeslot: { start, end },
      });
      ids.push(s.id);
    }
    // s2 and s5 placed on w-list (SCHEDULED, holding a placement); s1 SCHEDULED; s6 terminated.
    await stores().workers.create({
      id: 'w-list',
      templateName: 'm5-metal',
      status: 'RUNNING',
      license: { type: 'ENTERPRISE', status: 'REGISTERED' },
      declaredCapacity: { cpuCores: 64, memoryGb: 256, storageGb: 2000, maxNodes: 100 },
      portRange: { start: 2000, end: 2099 },
    });
    for (const i of [2, 5]) {
      await stores().placement.place({
        session: await stores().sessions.getSession(ids[i]!),
        worker: await stores().workers.get('w-list'),
        ports: {},
        by: 'test',
      });
    }
    await advance(ids[1]!, ['SCHEDULED']);
    await api('terminateSession', { params: { id: ids[6]! } });
  });

  async function listAll(query: Record<string, string>, limit: number) {
    const items: LabletSession[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api('listSessions', {
        query: { ...query, limit: String(limit), ...(cursor ? { cursor } : {}) },
        role: 'viewer',
      });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 200);
    expect(cursor).toBeUndefined();
    return { ids: items.map((s) => s.id), items, pages };
  }
  const pick = (...i: number[]) => i.map((n) => ids[n]);

  it('definitionId: every session of the definition, ordered by start, across pages', async () => {
    const { ids: got, pages } = await listAll({ definitionId: 'list-lab' }, 3);
    expect(got).toEqual(ids);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('status (ordered by start), alone and with the other filters', async () => {
    expect((await listAll({ status: 'SCHEDULED', definitionId: 'list-lab' }, 2)).ids).toEqual(pick(1, 2, 5));
    expect((await listAll({ status: 'PENDING', definitionId: 'list-lab' }, 1)).ids).toEqual(pick(0, 3, 4));
    expect((await listAll({ status: 'TERMINATED', definitionId: 'list-lab' }, 25)).ids).toEqual(pick(6));
    const scheduled = await listAll({ status: 'SCHEDULED' }, 25);
    expect(scheduled.items.every((s) => s.status === 'SCHEDULED')).toBe(true);
    expect(scheduled.ids).toEqual(expect.arrayContaining(pick(1, 2, 5)));
    expect(
      (await listAll({ status: 'SCHEDULED', definitionId: 'list-lab', startFrom: starts[2]! }, 25)).ids,
    ).toEqual(pick(2, 5));
  });

  it('timeslot window [startFrom, startTo)', async () => {
    const window = { startFrom: starts[2]!, startTo: starts[5]! };
    expect((await listAll({ ...window, definitionId: 'list-lab' }, 2)).ids).toEqual(pick(2, 3, 4));
    expect((await listAll({ startTo: starts[1]!, definitionId: 'list-lab' }, 25)).ids).toEqual(pick(0));
    const all = await listAll(window, 25);
    expect(all.ids).toEqual(expect.arrayContaining(pick(2, 3, 4)));
    expect(all.items.every((s) => s.timeslot.start >= starts[2]! && s.timeslot.start < starts[5]!)).toBe(
      true,
    );
  });

  it('workerId: the sessions placed on the worker, with other filters applied', async () => {
    const onWorker = await listAll({ workerId: 'w-list' }, 1);
    expect(onWorker.ids).toEqual(pick(2, 5));
    expect(onWorker.items.every((s) => s.workerId === 'w-list')).toBe(true);
    expect((await listAll({ workerId: 'w-list', startTo: starts[5]! }, 25)).ids).toEqual(pick(2));
    expect((await listAll({ workerId: 'w-list', status: 'PENDING' }, 25)).ids).toEqual([]);
    expect((await listAll({ workerId: 'w-list', definitionId: 'lab' }, 25)).ids).toEqual([]);
    expect((await listAll({ workerId: 'w-none' }, 25)).ids).toEqual([]);
  });

  it('reservationId: the one session of the reservation, if the other filters match', async () => {
    expect((await listAll({ reservationId: 'list-r-3' }, 25)).ids).toEqual(pick(3));
    expect((await listAll({ reservationId: 'list-r-3', status: 'PENDING' }, 25)).ids).toEqual(pick(3));
    expect((await listAll({ reservationId: 'list-r-3', status: 'SCHEDULED' }, 25)).ids).toEqual([]);
    expect((await listAll({ reservationId: 'list-r-3', definitionId: 'lab' }, 25)).ids).toEqual([]);
    expect((await listAll({ reservationId: 'list-r-3', startFrom: starts[4]! }, 25)).ids).toEqual([]);
    expect((await listAll({ reservationId: 'no-such-reservation' }, 25)).ids).toEqual([]);
  });

  it('400 for bad filters, limits and cursors', async () => {
    const expectField = async (query: Record<string, string>, path: string) => {
      const res = await api('listSessions', { query });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: FieldError) => e.path)).toEqual([path]);
    };
    await expectField({ startFrom: starts[3]!, startTo: starts[1]! }, 'startTo');
    await expectField({ status: 'SLEEPING' }, 'status');
    await expectField({ startFrom: 'yesterday' }, 'startFrom');
    await expectField({ limit: '0' }, 'limit');
    await expectField({ workerId: 'bad worker' }, 'workerId');
    await expectField({ cursor: '%%%' }, 'cursor');
    // A cursor belongs to the listing that produced it.
    const first = await api('listSessions', { query: { status: 'PENDING', limit: '1' } });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    await expectField({ status: 'SCHEDULED', cursor: first.body.nextCursor }, 'cursor');
    await expectField({ workerId: 'w-list', cursor: first.body.nextCursor }, 'cursor');
  });

  it('needs sessions:read', async () => {
    expect((await api('listSessions', { role: undefined })).status).toBe(401);
    expect((await api('listSessions', { role: 'portal' })).status).toBe(200);
  });

  // Last in this block: it releases s5's placement.
  it('workerId with includeEnded=true: also the sessions the worker no longer holds (issue 11, item 6)', async () => {
    expect((await stores().placement.release(ids[5]!)).released).toBe(true);
    expect((await listAll({ workerId: 'w-list' }, 25)).ids).toEqual(pick(2));
    const everything = await listAll({ workerId: 'w-list', includeEnded: 'true' }, 1);
    expect(everything.ids).toEqual(pick(2, 5));
    expect(everything.items.every((s) => s.workerId === 'w-list')).toBe(true);
    expect((await listAll({ workerId: 'w-list', includeEnded: 'false' }, 25)).ids).toEqual(pick(2));
    expect(
      (await listAll({ workerId: 'w-list', includeEnded: 'true', startFrom: starts[3]! }, 25)).ids,
    ).toEqual(pick(5));
    const bad = await api('listSessions', { query: { workerId: 'w-list', includeEnded: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: FieldError) => e.path)).toEqual(['includeEnded']);
  });
});

describe('tenancy and views (api/views.ts)', () => {
  const OTHER = { role: 'portal' as const, clientId: 'portal-other' };
  const LOGIN_URL = 'https://lds.example/login/tenant';

  async function runningWithLogin() {
    const s = await reserve();
    await advance(s.id, TO_RUNNING, wait('END', 'token-tenant'));
    const now = new Date().toISOString();
    await stores().sessions.putUserSession(s.id, {
      ldsSessionId: 'lds-t',
      loginUrl: LOGIN_URL,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
    });
    return s;
  }

  it('records the booking client: client_id, else sub', async () => {
    expect((await reserve()).bookedBy).toBe(PORTAL_CLIENT);
    const bySub = await call(handler, 'createSession', {
      role: 'portal',
      sub: 'portal-sub',
      body: sessionBody(),
    });
    expect(bySub.status).toBe(201);
    expect(bySub.body.bookedBy).toBe('portal-sub');
  });

  it('another portal client gets 404 for the session, its history, reservation, terminate and finish, and an empty list', async () => {
    const s = await runningWithLogin();
    for (const op of ['getSession', 'getSessionHistory']) {
      const res = await api(op, { params: { id: s.id }, ...OTHER });
      expect(res.status, op).toBe(404);
      expect(res.body.detail).toBe(`LabletSession ${s.id} not found`);
    }
    const lookup = await api('getReservation', { params: { reservationId: s.reservationId }, ...OTHER });
    expect(lookup.status).toBe(404);
    expect(lookup.body.detail).toBe(`Reservation ${s.reservationId} not found`);
    engine.reset();
    for (const op of ['terminateSession', 'finishSession']) {
      const res = await api(op, { params: { id: s.id }, body: {}, ...OTHER });
      expect(res.status, op).toBe(404);
    }
    expect(engine.calls).toEqual([]);
    const after = await stores().sessions.getSession(s.id);
    expect(after.terminationRequestedAt).toBeUndefined();
    expect(after.finishRequestedAt).toBeUndefined();
    for (const query of [
      {} as Record<string, string>,
      { reservationId: s.reservationId },
      { status: 'RUNNING' },
      { definitionId: 'lab' },
    ]) {
      const list = await api('listSessions', { query: { limit: '100', ...query }, ...OTHER });
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: LabletSession) => i.id)).not.toContain(s.id);
    }
    // Booking the same reservation: 409, naming nothing of the other client's session.
    const clash = await api('createSession', {
      body: sessionBody({ reservationId: s.reservationId }),
      ...OTHER,
    });
    expect(clash.status).toBe(409);
    expect(JSON.stringify(clash.body)).not.toContain(s.id);
    expect(JSON.stringify(clash.body)).not.toContain('learner@example.com');
    // The booking client, operators, viewers and admins see it.
    for (const opts of [
      {},
      { role: 'operator' as const },
      { role: 'viewer' as const },
      { role: 'admin' as const },
    ]) {
      const res = await api('getSession', { params: { id: s.id }, ...opts });
      expect(res.status).toBe(200);
      const list = await api('listSessions', { query: { reservationId: s.reservationId }, ...opts });
      expect(list.body.items.map((i: LabletSession) => i.id)).toEqual([s.id]);
    }
  });

  it('the login URL reaches the booking portal and admins only; no reply carries the task token', async () => {
    const s = await runningWithLogin();
    const seen: Record<string, unknown> = {};
    const seenByReservation: Record<string, unknown> = {};
    for (const [name, opts] of Object.entries({
      portal: {},
      admin: { role: 'admin' as const },
      operator: { role: 'operator' as const },
      viewer: { role: 'viewer' as const },
    })) {
      const res = await api('getSession', { params: { id: s.id }, ...opts });
      expect(res.status).toBe(200);
      expect(res.body.pendingWait).toEqual({ kind: 'END', since: expect.any(String) });
      expect(res.body.userSession).toMatchObject({ ldsSessionId: 'lds-t', status: 'ACTIVE' });
      seen[name] = res.body.userSession.loginUrl;
      // The reservation lookup shows the same caller the same session (status, user session, score).
      const reservation = await api('getReservation', {
        params: { reservationId: s.reservationId },
        ...opts,
      });
      expect(reservation.body.items).toHaveLength(1);
      const { cost: _cost, ...withoutCost } = res.body;
      expect(reservation.body.items[0]).toEqual(withoutCost);
      seenByReservation[name] = reservation.body.items[0].userSession.loginUrl;
      for (const reply of [
        res,
        await api('listSessions', { query: { reservationId: s.reservationId }, ...opts }),
        await api('getReservation', { params: { reservationId: s.reservationId }, ...opts }),
      ]) {
        expect(JSON.stringify(reply.body)).not.toContain('token-tenant');
      }
    }
    expect(seen).toEqual({ portal: LOGIN_URL, admin: LOGIN_URL, operator: undefined, viewer: undefined });
    expect(seenByReservation).toEqual(seen);
    engine.reset();
    const finished = await api('finishSession', { params: { id: s.id }, body: {} });
    expect(finished.status).toBe(202);
    expect(JSON.stringify(finished.body)).not.toContain('token-tenant');
    expect(engine.calls).toEqual([
      expect.objectContaining({ op: 'sendTaskSuccess', taskToken: 'token-tenant' }),
    ]);
  });
});

describe('workflow engine selection', () => {
  it('defaults to the recording engine; stepfunctions on request; an unknown engine fails loudly', () => {
    expect(createWorkflowEngine({}).kind).toBe('recording');
    expect(createWorkflowEngine({ WORKFLOW_ENGINE: 'recording' })).toBeInstanceOf(RecordingWorkflowEngine);
    const sfn = createWorkflowEngine({
      WORKFLOW_ENGINE: 'stepfunctions',
      SESSION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:lcm-session',
    });
    expect(sfn.kind).toBe('stepfunctions');
    expect(() => createWorkflowEngine({ WORKFLOW_ENGINE: 'carrier-pigeon' })).toThrow(/not one of/);
  });
});

describe('POST /v1/sessions/{id}/release and /grade (issue 12, items 4 and 5)', () => {
  it('force-release: operators and admins only; a TEARDOWN_FAILED session → TERMINATED, audited; any other → 409', async () => {
    const s = await reserve();
    // Not TEARDOWN_FAILED: 409 problem+json naming the state.
    const early = await api('releaseSession', { params: { id: s.id }, role: 'operator', body: {} });
    expect(early.status).toBe(409);
    expect(early.headers['content-type']).toBe('application/problem+json');
    expect(early.body).toMatchObject({ status: 409, detail: expect.stringMatching(/TEARDOWN_FAILED/) });

    const current = await stores().sessions.getSession(s.id);
    await stores().sessions.update(s.id, { failureReason: 'TEARDOWN_FAILED' }, current.version);
    // The portal (sessions:operate, not sessions:recover) may not.
    const portal = await api('releaseSession', { params: { id: s.id }, body: {} });
    expect(portal.status).toBe(403);

    const res = await api('releaseSession', {
      params: { id: s.id },
      role: 'operator',
      sub: 'ops-anna',
      body: { reason: 'INC-4711' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      outcome: 'released',
      session: { id: s.id, status: 'TERMINATED', failureReason: 'TEARDOWN_FAILED' },
      released: { workerId: null, capacity: null, ports: [] },
      leftoverLab: null,
    });
    const history = await api('getSessionHistory', { params: { id: s.id }, role: 'operator' });
    expect(history.body.items.at(-1)).toMatchObject({
      from: 'PENDING',
      to: 'TERMINATED',
      by: 'ops-anna',
      reason: expect.stringMatching(/^TEARDOWN_FAILED: force-released by ops-anna \(INC-4711\)/),
    });
    const again = await api('releaseSession', { params: { id: s.id }, role: 'admin', body: {} });
    expect(again.status).toBe(409);
    const missing = await api('releaseSession', {
      params: { id: 'no-such-session' },
      role: 'admin',
      body: {},
    });
    expect(missing.status).toBe(404);
  });

  it('re-grade: operators and admins only; 409 unless the grading failed or timed out and is FAULTED', async () => {
    const s = await reserve();
    const portal = await api('regradeSession', { params: { id: s.id } });
    expect(portal.status).toBe(403);
    const notFailed = await api('regradeSession', { params: { id: s.id }, role: 'operator' });
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.detail).toMatch(/GRADING_FAILED, GRADING_TIMEOUT/);

    const current = await stores().sessions.getSession(s.id);
    await stores().sessions.update(s.id, { failureReason: 'GRADING_TIMEOUT' }, current.version);
    await stores().sessions.putGrading(s.id, { status: 'SUBMITTED', gradingSessionId: 'g-1' });
    const inProgress = await api('regradeSession', { params: { id: s.id }, role: 'admin' });
    expect(inProgress.status).toBe(409);
    expect(inProgress.body.detail).toMatch(/grading is SUBMITTED/);
    await stores().sessions.putGrading(s.id, { status: 'FAULTED', gradingSessionId: 'g-1' });
    const noEvidence = await api('regradeSession', { params: { id: s.id }, role: 'admin' });
    expect(noEvidence.status).toBe(409);
    expect(noEvidence.body.detail).toMatch(/no evidence/);
  });
});
