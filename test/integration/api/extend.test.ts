import { apiStores } from '@lcm/shared/app';
import type { CapacityBookConfig } from '@lcm/shared/fleet';
import type { SessionStatus } from '@lcm/shared/kernel';
import { RecordingWorkflowEngine } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { sessionsHandler } from '../../../functions/api/sessions.ts';
import { handler as templatesHandler } from '../../../functions/api/templates.ts';
import { type CallOptions, call, type TestRole } from '../../support/api.ts';
import { mockDescribeInstanceTypes } from '../../support/instance-types.ts';
import { METAL_48_TEMPLATE, useApiTable } from '../../support/table.ts';

/**
 * POST /v1/sessions/{id}/extend (issue 15, item 1) on a fleet whose maxWorkers is 1: one 48-core
 * host holds four 12-core labs. Granted within the definition's limits while every admitted
 * booking still fits; refused with 409 extension-not-allowed by the definition, and with 409
 * capacity-full (the first minute that overflows) when the moved end would break a booking.
 */

/** The templates handler checks instance types: EC2 DescribeInstanceTypes at the SDK boundary. */
const ec2 = mockDescribeInstanceTypes();

useApiTable('api-extend');
afterAll(() => ec2.restore());

const engine = new RecordingWorkflowEngine();
const CAPACITY: CapacityBookConfig = { maxWorkers: 1, leadSeconds: 900, releaseMarginSeconds: 600 };
const handler = sessionsHandler(() => ({ ...apiStores(), engine, capacity: CAPACITY }));
const as = (role: TestRole | undefined, operationId: string, opts: CallOptions = {}) =>
  call(handler, operationId, { role, clientId: 'portal-app', ...opts });

/** The next whole minute but one: the sessions below start about now, so they can be extended. */
const BASE = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
const at = (minutes: number): string => new Date(BASE + minutes * 60_000).toISOString();

let seq = 0;
const body = (definitionId: string, startMin: number, endMin: number) => ({
  definitionId,
  reservationId: `ext-${++seq}-${Math.random().toString(36).slice(2, 8)}`,
  owner: { userId: `u-${seq}` },
  timeslot: { start: at(startMin), end: at(endMin) },
});

async function book(definitionId: string, startMin: number, endMin: number, clientId = 'portal-app') {
  const res = await as('portal', 'createSession', { body: body(definitionId, startMin, endMin), clientId });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

/** The workflow's part, walked by hand: PENDING → … → READY (→ RUNNING). */
async function advance(id: string, to: SessionStatus) {
  const path: SessionStatus[] = [
    'SCHEDULED',
    'INSTANTIATING',
    'READY',
    ...(to === 'RUNNING' ? ['RUNNING' as const] : []),
  ];
  let s = await apiStores().sessions.getSession(id);
  for (const next of path) s = await apiStores().sessions.transition(id, s.status, next, 'test');
  return s;
}

const extend = (id: string, minutes: number, role: TestRole = 'portal', reason?: string, sub?: string) =>
  as(role, 'extendSession', {
    params: { id },
    body: { minutes, ...(reason ? { reason } : {}) },
    ...(sub ? { sub } : {}),
  });

beforeAll(async () => {
  const tpl = await call(templatesHandler, 'createWorkerTemplate', {
    role: 'admin',
    body: METAL_48_TEMPLATE,
  });
  expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
  for (const [id, extra] of [
    ['extendable', { maxExtensionMinutes: 30 }],
    ['fixed', {}],
  ] as const) {
    const def = await call(definitionsHandler, 'createDefinition', {
      role: 'admin',
      body: {
        id,
        name: `a quarter of a host (${id})`,
        resourceRequirements: { cpuCores: 12, memoryGb: 16, storageGb: 20, nodeCount: 4 },
        licenseAffinity: ['ENTERPRISE'],
        maxDurationMinutes: 90,
        ...extra,
      },
    });
    expect(def.status).toBe(201);
    expect(def.body.maxExtensionMinutes).toBe(id === 'fixed' ? 0 : 30);
  }
});

describe('POST /v1/sessions/{id}/extend (maxWorkers 1)', () => {
  it('granted: the end moves, the history says who asked and why, and the limits count every extension', async () => {
    const s = await book('extendable', 0, 60);
    await advance(s.id, 'RUNNING');
    const first = await extend(s.id, 20, 'portal', 'lab took longer', 'learner-portal');
    expect(first.status).toBe(200);
    expect(first.body.extension).toEqual({
      minutes: 20,
      previousEnd: at(60),
      end: at(80),
      extendedMinutes: 20,
    });
    expect(first.body.session).toMatchObject({
      status: 'RUNNING',
      timeslot: { start: at(0), end: at(80) },
      extendedMinutes: 20,
    });
    expect(first.body.session.pendingWait?.taskToken).toBeUndefined();
    const history = await as('operator', 'getSessionHistory', { params: { id: s.id } });
    expect(history.body.items.at(-1)).toMatchObject({
      from: 'RUNNING',
      to: 'RUNNING',
      by: 'learner-portal',
      reason: `extended by 20 min to ${at(80)} (20 min in all): lab took longer`,
    });

    // maxExtensionMinutes (30) counts both: 20 + 15 is refused, naming the limit and what is left.
    const over = await extend(s.id, 15, 'operator');
    expect(over.status).toBe(409);
    expect(over.headers['content-type']).toBe('application/problem+json');
    expect(over.body).toMatchObject({
      type: 'https://lablet.io/problems/lcm/extension-not-allowed',
      code: 'EXTENSION_NOT_ALLOWED',
      details: { limit: 'maxExtensionMinutes', maxExtensionMinutes: 30, extendedMinutes: 20 },
    });
    expect(over.body.detail).toContain('10 left');
    // maxDurationMinutes (90): 80 + 10 fits exactly, and an operator may extend any session.
    const second = await extend(s.id, 10, 'operator');
    expect(second.status).toBe(200);
    expect(second.body.session.timeslot.end).toBe(at(90));
    expect((await as('portal', 'getSession', { params: { id: s.id } })).body.timeslot.end).toBe(at(90));
  });

  it('refused by the definition: extensions off by default, the new length past maxDurationMinutes', async () => {
    const fixed = await book('fixed', 0, 30);
    await advance(fixed.id, 'READY');
    const off = await extend(fixed.id, 5);
    expect(off.status).toBe(409);
    expect(off.body).toMatchObject({
      code: 'EXTENSION_NOT_ALLOWED',
      details: { limit: 'maxExtensionMinutes' },
    });
    expect((await as('admin', 'getSession', { params: { id: fixed.id } })).body.timeslot.end).toBe(at(30));

    const long = await book('extendable', 0, 80);
    await advance(long.id, 'READY');
    const tooLong = await extend(long.id, 15);
    expect(tooLong.status).toBe(409);
    expect(tooLong.body).toMatchObject({
      code: 'EXTENSION_NOT_ALLOWED',
      details: { limit: 'maxDurationMinutes', maxDurationMinutes: 90, lengthMinutes: 95 },
    });
  });

  it('refused with capacity-full when the moved end would break an admitted booking', async () => {
    // Held: this session until 360 + 10 (release margin); four bookings from 390 − 15 (lead) = 375.
    const s = await book('extendable', 300, 360, 'another-portal');
    await advance(s.id, 'RUNNING');
    for (let i = 0; i < 4; i++) await book('extendable', 390, 450);
    const refused = await extend(s.id, 10);
    // Another portal client booked it: outside this portal's scope it is a 404.
    expect(refused.status).toBe(404);
    const full = await extend(s.id, 10, 'operator');
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({
      code: 'CAPACITY_FULL',
      details: { firstOverflow: at(375), maxWorkers: 1, hostsNeeded: 2, sessionsHolding: 5 },
    });
    expect((await as('admin', 'getSession', { params: { id: s.id } })).body.timeslot.end).toBe(at(360));
    // Up to where the bookings' hold begins, it fits.
    const fits = await extend(s.id, 5, 'operator');
    expect(fits.status).toBe(200);
    expect(fits.body.session.timeslot.end).toBe(at(365));
  });

  it('a retry with the same Idempotency-Key gets the first reply back and extends once', async () => {
    // Later than the other tests' sessions, so that the one host has room for it.
    const s = await book('extendable', 200, 260);
    await advance(s.id, 'RUNNING');
    const headers = { 'Idempotency-Key': `extend-${s.id}` };
    const once = await as('portal', 'extendSession', {
      params: { id: s.id },
      body: { minutes: 10 },
      headers,
    });
    const again = await as('portal', 'extendSession', {
      params: { id: s.id },
      body: { minutes: 10 },
      headers,
    });
    expect(once.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.body).toEqual(once.body);
    expect((await as('admin', 'getSession', { params: { id: s.id } })).body).toMatchObject({
      timeslot: { end: at(270) },
      extendedMinutes: 10,
    });
    // The same key with other minutes is another request: a 422, nothing extended.
    const other = await as('portal', 'extendSession', {
      params: { id: s.id },
      body: { minutes: 5 },
      headers,
    });
    expect(other.status).toBe(422);
    // A new key is a new extension.
    const next = await as('portal', 'extendSession', {
      params: { id: s.id },
      body: { minutes: 5 },
      headers: { 'Idempotency-Key': `extend-${s.id}-2` },
    });
    expect(next.body.session.timeslot.end).toBe(at(275));
  });

  it('only READY or RUNNING (409 naming the status); validates minutes naming the field', async () => {
    const pending = await book('extendable', 0, 30);
    const early = await extend(pending.id, 5);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('CONFLICT');
    expect(early.body.detail).toContain('PENDING');
    const bad = await extend(pending.id, 0);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['minutes']);
    expect(
      (await as('viewer', 'extendSession', { params: { id: pending.id }, body: { minutes: 5 } })).status,
    ).toBe(403);
  });
});
