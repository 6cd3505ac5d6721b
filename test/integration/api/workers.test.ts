import { operationById } from '@lcm/shared/api';
import { createStores, type Stores } from '@lcm/shared/app';
import { workerIdForRequest } from '@lcm/shared/fleet';
import type { WorkerStatus } from '@lcm/shared/kernel';
import { LabletSessionSchema, PortLeaseSchema, type Worker } from '@lcm/shared/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/workers.ts';
import { type CallOptions, type CallResult, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newTemplate, newWorker } from '../persistence/builders.ts';

let t: TestTable;
let s: Stores;

const TEMPLATE = 'tpl-metal';
const TEMPLATE_CAPACITY = { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 };

beforeAll(async () => {
  t = await createTestTable('api-workers');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  s = createStores({ client: t.client, tableName: t.tableName });
  await s.templates.create(
    newTemplate({
      name: TEMPLATE,
      capacity: TEMPLATE_CAPACITY,
      licenseType: 'PERSONAL',
      podType: 'CML_ON_AWS',
      portRange: { start: 3000, end: 3999 },
    }),
  );
  await s.templates.create(
    newTemplate({ name: 'tpl-small', capacity: { ...TEMPLATE_CAPACITY, cpuCores: 8 } }),
  );
  await s.templates.create(newTemplate({ name: 'tpl-disabled', enabled: false }));
});
afterAll(async () => {
  await t.cleanup();
});

const api = (operationId: string, opts: CallOptions = {}): Promise<CallResult> =>
  call(handler, operationId, { role: 'operator', ...opts });

const fieldPaths = (res: CallResult): string[] => {
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return (res.body.errors as Array<{ path: string }>).map((e) => e.path);
};

const response = (operationId: string) => operationById(operationId)!.response!;

/** A worker stored directly in `status` (what the fleet workflows would have made of it). */
const seed = (id: string, status: WorkerStatus, over: Parameters<typeof newWorker>[0] = {}) =>
  s.workers.create(newWorker({ id, templateName: TEMPLATE, status, ...over }));

describe('POST /v1/workers (createWorker)', () => {
  it('creates a PENDING worker from the template, desired RUNNING, nothing allocated', async () => {
    const res = await api('createWorker', { body: { templateName: TEMPLATE } });
    expect(res.status).toBe(201);
    const worker = response('createWorker').parse(res.body) as Worker;
    expect(worker.id).toMatch(/^w-[0-9a-z]{26}$/);
    expect(worker).toMatchObject({
      templateName: TEMPLATE,
      status: 'PENDING',
      desiredStatus: 'RUNNING',
      serviceStatus: 'UNAVAILABLE',
      license: { type: 'PERSONAL', status: 'UNREGISTERED' },
      podType: 'CML_ON_AWS',
      amiId: 'ami-0123456789abcdef0',
      declaredCapacity: TEMPLATE_CAPACITY,
      allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
      portRange: { start: 3000, end: 3999 },
      leasedPortCount: 0,
      stateHistory: [],
    });
    expect(await s.workers.get(worker.id)).toEqual(worker);
  });

  it('gives every create without an Idempotency-Key a new worker', async () => {
    const a = await api('createWorker', { body: { templateName: 'tpl-small' } });
    const b = await api('createWorker', { body: { templateName: 'tpl-small' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('with an Idempotency-Key: a retry returns the same worker, another caller gets its own', async () => {
    const headers = { 'Idempotency-Key': 'create-w-1' };
    const first = await api('createWorker', { body: { templateName: TEMPLATE }, headers });
    const again = await api('createWorker', { body: { templateName: TEMPLATE }, headers });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body).toEqual(first.body);
    expect(first.body.id).toBe(workerIdForRequest('operator-user', 'create-w-1'));

    const other = await api('createWorker', {
      body: { templateName: TEMPLATE },
      headers,
      sub: 'someone-else',
    });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);

    const changed = await api('createWorker', { body: { templateName: 'tpl-small' }, headers });
    // The same key with another body is refused by the idempotency layer (IETF draft: 422).
    expect(changed.status).toBe(422);
    expect(changed.body.type).toMatch(/idempotency-key-reused$/);
  });

  it('404 for an unknown template, 409 for a disabled one; nothing is created', async () => {
    const before = (await s.workers.listAll({ limit: 1000 })).items.length;
    const unknown = await api('createWorker', { body: { templateName: 'tpl-unknown' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      code: 'NOT_FOUND',
      details: { entity: 'WorkerTemplate', id: 'tpl-unknown' },
    });
    const disabled = await api('createWorker', { body: { templateName: 'tpl-disabled' } });
    expect(disabled.status).toBe(409);
    expect(disabled.body).toMatchObject({ code: 'CONFLICT', details: { template: 'tpl-disabled' } });
    expect((await s.workers.listAll({ limit: 1000 })).items.length).toBe(before);
  });

  it('answers 400 naming the field; 403 for a viewer', async () => {
    expect(fieldPaths(await api('createWorker', { body: { templateName: 'Not A Name' } }))).toEqual([
      'templateName',
    ]);
    expect(fieldPaths(await api('createWorker', { body: {} }))).toEqual(['templateName']);
    expect(fieldPaths(await api('createWorker', { body: { templateName: 42 } }))).toEqual(['templateName']);
    const extra = await api('createWorker', { body: { templateName: TEMPLATE, status: 'RUNNING' } });
    expect(extra.status).toBe(400);
    expect(extra.body.errors[0].message).toMatch(/status/);
    expect((await api('createWorker', { body: { templateName: TEMPLATE }, role: 'viewer' })).status).toBe(
      403,
    );
  });
});

describe('GET /v1/workers/{id} (getWorker)', () => {
  it('returns the worker; 404 unknown; 400 malformed id', async () => {
    const seeded = await seed('w-get', 'RUNNING');
    const res = await api('getWorker', { params: { id: 'w-get' }, role: 'viewer' });
    expect(res.status).toBe(200);
    expect(response('getWorker').parse(res.body)).toEqual(seeded);

    const missing = await api('getWorker', { params: { id: 'w-missing' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND', details: { entity: 'Worker', id: 'w-missing' } });

    const bad = await api('getWorker', { params: { id: '!bad id' } });
    expect(fieldPaths(bad)).toEqual(['id']);
    expect(bad.body.errors[0].in).toBe('path');
  });
});

describe('GET /v1/workers (listWorkers)', () => {
  const pageThrough = async (query: Record<string, string>, limit: number) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await api('listWorkers', {
        query: { ...query, limit: String(limit), ...(cursor ? { cursor } : {}) },
        role: 'viewer',
      });
      expect(res.status).toBe(200);
      const page = response('listWorkers').parse(res.body) as { items: Worker[]; nextCursor?: string };
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((w) => w.id));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  };

  it('pages through all workers, each once', async () => {
    for (const id of ['w-list-1', 'w-list-2', 'w-list-3']) await seed(id, 'STOPPED');
    const ids = await pageThrough({}, 2);
    const stored = (await s.workers.listAll({ limit: 1000 })).items.map((w) => w.id);
    expect(ids).toEqual(stored);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['w-list-1', 'w-list-2', 'w-list-3']));
  });

  it('filters by status', async () => {
    for (const id of ['w-failed-1', 'w-failed-2', 'w-failed-3']) await seed(id, 'FAILED');
    expect((await pageThrough({ status: 'FAILED' }, 2)).sort()).toEqual([
      'w-failed-1',
      'w-failed-2',
      'w-failed-3',
    ]);
    const one = await api('listWorkers', { query: { status: 'FAILED', limit: '1' } });
    expect(one.body.items).toHaveLength(1);
    expect(typeof one.body.nextCursor).toBe('string');
    const last = await api('listWorkers', { query: { status: 'FAILED', limit: '100' } });
    expect(last.body).not.toHaveProperty('nextCursor');
  });

  it('answers 400 for a bad status, limit or cursor', async () => {
    expect(fieldPaths(await api('listWorkers', { query: { status: 'ASLEEP' } }))).toEqual(['status']);
    expect(fieldPaths(await api('listWorkers', { query: { limit: '0', status: 'nope' } })).sort()).toEqual([
      'limit',
      'status',
    ]);
    expect(fieldPaths(await api('listWorkers', { query: { cursor: '***' } }))).toEqual(['cursor']);
    // A cursor of the FAILED listing does not page the full listing.
    const page = await api('listWorkers', { query: { status: 'FAILED', limit: '1' } });
    expect(fieldPaths(await api('listWorkers', { query: { cursor: page.body.nextCursor } }))).toEqual([
      'cursor',
    ]);
  });
});

describe('worker actions: start, stop, drain, terminate', () => {
  type Outcome = { to: WorkerStatus; desired: WorkerStatus } | 409;
  const ALL: WorkerStatus[] = [
    'PENDING',
    'PROVISIONING',
    'STARTING',
    'RUNNING',
    'DRAINING',
    'STOPPING',
    'STOPPED',
    'SHUTTING_DOWN',
    'TERMINATED',
    'FAILED',
  ];
  /** The expected outcome of each action from each status (idle worker, no desired status yet). */
  const EXPECTED: Record<'start' | 'stop' | 'drain' | 'terminate', Record<WorkerStatus, Outcome>> = {
    start: {
      PENDING: { to: 'PENDING', desired: 'RUNNING' },
      PROVISIONING: { to: 'PROVISIONING', desired: 'RUNNING' },
      STARTING: { to: 'STARTING', desired: 'RUNNING' },
      RUNNING: { to: 'RUNNING', desired: 'RUNNING' },
      DRAINING: { to: 'RUNNING', desired: 'RUNNING' },
      STOPPING: 409,
      STOPPED: { to: 'STARTING', desired: 'RUNNING' },
      SHUTTING_DOWN: 409,
      TERMINATED: 409,
      FAILED: 409,
    },
    stop: {
      PENDING: 409,
      PROVISIONING: 409,
      STARTING: 409,
      RUNNING: { to: 'DRAINING', desired: 'STOPPED' },
      DRAINING: { to: 'STOPPING', desired: 'STOPPED' },
      STOPPING: { to: 'STOPPING', desired: 'STOPPED' },
      STOPPED: { to: 'STOPPED', desired: 'STOPPED' },
      SHUTTING_DOWN: 409,
      TERMINATED: 409,
      FAILED: 409,
    },
    drain: {
      PENDING: 409,
      PROVISIONING: 409,
      STARTING: 409,
      RUNNING: { to: 'DRAINING', desired: 'DRAINING' },
      DRAINING: { to: 'DRAINING', desired: 'DRAINING' },
      STOPPING: 409,
      STOPPED: 409,
      SHUTTING_DOWN: 409,
      TERMINATED: 409,
      FAILED: 409,
    },
    terminate: {
      PENDING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      PROVISIONING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      STARTING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      RUNNING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      DRAINING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      STOPPING: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      STOPPED: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      SHUTTING_DOWN: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
      TERMINATED: { to: 'TERMINATED', desired: 'TERMINATED' },
      FAILED: { to: 'SHUTTING_DOWN', desired: 'TERMINATED' },
    },
  };

  for (const action of ['start', 'stop', 'drain', 'terminate'] as const) {
    const operationId = `${action}Worker`;
    describe(`POST /v1/workers/{id}/${action} (${operationId})`, () => {
      it.each(ALL)(`from %s`, async (from) => {
        const id = `w-${action}-${from.toLowerCase().replace('_', '-')}`;
        const before = await seed(id, from);
        const expected = EXPECTED[action][from];
        const res = await api(operationId, { params: { id }, body: { reason: `test ${action}` } });
        const stored = await s.workers.get(id);

        if (expected === 409) {
          expect(res.status).toBe(409);
          expect(res.body).toMatchObject({
            code: 'INVALID_TRANSITION',
            details: { entity: 'Worker', from },
          });
          expect(stored).toEqual(before);
          return;
        }

        expect(res.status).toBe(202);
        const worker = response(operationId).parse(res.body) as Worker;
        expect(worker).toEqual(stored);
        expect(worker).toMatchObject({ status: expected.to, desiredStatus: expected.desired });
        expect(worker.version).toBe(before.version + 1);
        if (expected.to !== from) {
          expect(worker.stateHistory).toEqual([
            { from, to: expected.to, at: worker.updatedAt, by: 'operator-user', reason: `test ${action}` },
          ]);
        } else {
          expect(worker.stateHistory).toEqual([]);
        }

        // Repeating the action is safe (202). Once its target is reached nothing more is written;
        // the one exception is stop, which first drains and on the repeat stops the idle worker.
        const again = await api(operationId, { params: { id } });
        expect(again.status).toBe(202);
        if (action === 'stop' && from === 'RUNNING') {
          expect(again.body).toMatchObject({
            status: 'STOPPING',
            desiredStatus: 'STOPPED',
            version: worker.version + 1,
          });
        } else {
          expect(again.body).toEqual(res.body);
        }
      });
    });
  }

  it('stop on a DRAINING worker that still holds a session waits for the drain, then stops it', async () => {
    await seed('w-busy', 'RUNNING');
    await s.sessions.create(newSession({ id: 's-busy', reservationId: 'r-busy' }));
    await s.placement.place({
      session: await s.sessions.getSession('s-busy'),
      worker: await s.workers.get('w-busy'),
      ports: { R1_serial: 2000, R1_ssh: 2001 },
      by: 'test',
    });

    const drained = await api('drainWorker', { params: { id: 'w-busy' } });
    expect(drained.body).toMatchObject({ status: 'DRAINING', desiredStatus: 'DRAINING' });
    expect(drained.body.stateHistory.at(-1)).toMatchObject({
      reason: 'drain requested',
      by: 'operator-user',
    });

    const waiting = await api('stopWorker', { params: { id: 'w-busy' } });
    expect(waiting.status).toBe(202);
    expect(waiting.body).toMatchObject({ status: 'DRAINING', desiredStatus: 'STOPPED' });

    // drain keeps a pending stop's goal
    const drainAgain = await api('drainWorker', { params: { id: 'w-busy' } });
    expect(drainAgain.body).toEqual(waiting.body);

    await s.placement.release('s-busy');
    const stopped = await api('stopWorker', { params: { id: 'w-busy' } });
    expect(stopped.body).toMatchObject({ status: 'STOPPING', desiredStatus: 'STOPPED' });
    expect(stopped.body.stateHistory.map((h: { to: string }) => h.to)).toEqual(['DRAINING', 'STOPPING']);
  });

  it('start on a DRAINING worker cancels a pending stop', async () => {
    await seed('w-cancel', 'DRAINING', { desiredStatus: 'STOPPED' });
    const res = await api('startWorker', { params: { id: 'w-cancel' } });
    expect(res.body).toMatchObject({ status: 'RUNNING', desiredStatus: 'RUNNING' });
  });

  it('a worker created by the API can be terminated before it is provisioned', async () => {
    const created = await api('createWorker', { body: { templateName: TEMPLATE } });
    const res = await api('terminateWorker', { params: { id: created.body.id }, role: 'admin' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'SHUTTING_DOWN', desiredStatus: 'TERMINATED' });
    expect(res.body.stateHistory).toEqual([
      expect.objectContaining({
        from: 'PENDING',
        to: 'SHUTTING_DOWN',
        by: 'admin-user',
        reason: 'terminate requested',
      }),
    ]);
  });

  it('concurrent identical actions make one transition', async () => {
    await seed('w-race', 'RUNNING');
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => api('drainWorker', { params: { id: 'w-race' } })),
    );
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const stored = await s.workers.get('w-race');
    expect(stored).toMatchObject({ status: 'DRAINING', desiredStatus: 'DRAINING' });
    expect(stored.stateHistory.map((h) => `${h.from}>${h.to}`)).toEqual(['RUNNING>DRAINING']);
  });

  it('404 for an unknown worker, 400 for bad input, 403 for a viewer', async () => {
    await seed('w-act-input', 'RUNNING');
    for (const operationId of ['startWorker', 'stopWorker', 'drainWorker', 'terminateWorker']) {
      const missing = await api(operationId, { params: { id: 'w-nobody' } });
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('NOT_FOUND');
      expect(
        fieldPaths(await api(operationId, { params: { id: 'w-act-input' }, body: { reason: 7 } })),
      ).toEqual(['reason']);
      expect(fieldPaths(await api(operationId, { params: { id: '../etc' } }))).toEqual(['id']);
      const extra = await api(operationId, { params: { id: 'w-act-input' }, body: { force: true } });
      expect(extra.status).toBe(400);
      expect(extra.body.errors[0].message).toMatch(/force/);
      expect((await api(operationId, { params: { id: 'w-act-input' }, role: 'viewer' })).status).toBe(403);
    }
    expect(await s.workers.get('w-act-input')).toMatchObject({ status: 'RUNNING', version: 1 });
  });
});

describe('worker sessions, capacity and ports', () => {
  beforeAll(async () => {
    await seed('w-host', 'RUNNING', { portRange: { start: 4000, end: 4099 } });
    for (const [sid, ports] of [
      ['s-host-1', { R1_serial: 4000, R1_ssh: 4001 }],
      ['s-host-2', { R1_serial: 4002, R1_ssh: 4003 }],
    ] as const) {
      await s.sessions.create(newSession({ id: sid, reservationId: `r-${sid}` }));
      await s.placement.place({
        session: await s.sessions.getSession(sid),
        worker: await s.workers.get('w-host'),
        ports,
        by: 'test',
      });
    }
    await seed('w-empty', 'RUNNING');
  });

  it('GET /v1/workers/{id}/sessions lists the sessions placed on the worker', async () => {
    const res = await api('listWorkerSessions', { params: { id: 'w-host' }, role: 'viewer' });
    expect(res.status).toBe(200);
    const page = response('listWorkerSessions').parse(res.body) as { items: Array<{ id: string }> };
    expect(page.items.map((x) => x.id).sort()).toEqual(['s-host-1', 's-host-2']);
    for (const item of res.body.items) {
      expect(LabletSessionSchema.parse(item)).toMatchObject({ workerId: 'w-host', status: 'SCHEDULED' });
    }
    expect(res.body).not.toHaveProperty('nextCursor');

    await s.placement.release('s-host-2');
    const after = await api('listWorkerSessions', { params: { id: 'w-host' } });
    expect(after.body.items.map((x: { id: string }) => x.id)).toEqual(['s-host-1']);
    expect((await api('listWorkerSessions', { params: { id: 'w-empty' } })).body).toEqual({ items: [] });
  });

  it('GET /v1/workers/{id}/capacity gives declared, allocated and free', async () => {
    const res = await api('getWorkerCapacity', { params: { id: 'w-host' }, role: 'viewer' });
    expect(res.status).toBe(200);
    expect(response('getWorkerCapacity').parse(res.body)).toEqual({
      declared: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
      allocated: { cpuCores: 4, memoryGb: 8, storageGb: 20, maxNodes: 4 },
      free: { cpuCores: 12, memoryGb: 56, storageGb: 480, maxNodes: 46 },
    });
    const empty = await api('getWorkerCapacity', { params: { id: 'w-empty' } });
    expect(empty.body.free).toEqual(empty.body.declared);
  });

  it('GET /v1/workers/{id}/ports lists the leases, ordered by port', async () => {
    const res = await api('listWorkerPorts', { params: { id: 'w-host' }, role: 'viewer' });
    expect(res.status).toBe(200);
    const page = response('listWorkerPorts').parse(res.body) as { items: unknown[] };
    expect(page.items.map((l) => PortLeaseSchema.parse(l)).map((l) => [l.port, l.name, l.sessionId])).toEqual(
      [
        [4000, 'R1_serial', 's-host-1'],
        [4001, 'R1_ssh', 's-host-1'],
      ],
    );
    expect((await api('listWorkerPorts', { params: { id: 'w-empty' } })).body).toEqual({ items: [] });
  });

  it('404 for an unknown worker, 400 for a malformed id, 403 for the portal', async () => {
    for (const operationId of ['listWorkerSessions', 'getWorkerCapacity', 'listWorkerPorts']) {
      const missing = await api(operationId, { params: { id: 'w-unknown' } });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({
        code: 'NOT_FOUND',
        details: { entity: 'Worker', id: 'w-unknown' },
      });
      expect(fieldPaths(await api(operationId, { params: { id: 'a b' } }))).toEqual(['id']);
      expect((await api(operationId, { params: { id: 'w-host' }, role: 'portal' })).status).toBe(403);
    }
  });
});
