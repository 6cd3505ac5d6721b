import { callerOf, type OperationRequest, operationsHandler } from '@lcm/shared/api';
import { idempotencyKeyOf, json, runIdempotent } from '@lcm/shared/platform';
import { describe, expect, it, vi } from 'vitest';
import { apiEvent, type CallOptions, call } from '../../support/api.ts';

/**
 * The dispatcher without a database: routing, RBAC, validation, the Idempotency-Key header
 * checks (they run before any store is touched). The idempotent replay itself is tested over
 * DynamoDB Local in test/integration/auth/idempotency.test.ts.
 */

vi.hoisted(() => {
  delete process.env.TABLE_NAME; // reaching the idempotency store would be a 500
});

type Seen = Pick<OperationRequest<'createWorker'>, 'params' | 'query' | 'body' | 'idempotencyKey'>;
const seen: Seen[] = [];
const record = (status: number) => async (req: Seen) => {
  seen.push({ params: req.params, query: req.query, body: req.body, idempotencyKey: req.idempotencyKey });
  return json(status, { ok: true });
};

// A workers group with stand-in implementations (getWorkerCapacity left out: 501).
const handler = operationsHandler(
  'workers',
  {
    listWorkers: record(200),
    createWorker: record(201),
    getWorker: record(200),
    startWorker: record(202),
    stopWorker: record(202),
    drainWorker: record(202),
    terminateWorker: record(202),
    listWorkerSessions: record(200),
    listWorkerPorts: record(200),
  } as unknown as Parameters<typeof operationsHandler<'workers'>>[1],
  { idempotency: runIdempotent },
);

const api = (operationId: string, opts: CallOptions = {}) =>
  call(handler, operationId, { role: 'admin', ...opts });

const expectProblem = (res: Awaited<ReturnType<typeof call>>, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(typeof res.body.detail).toBe('string');
};

describe('operationsHandler', () => {
  it('routes by routeKey and hands the implementation validated input', async () => {
    seen.length = 0;
    const res = await api('listWorkers', { query: { limit: '5', status: 'RUNNING' } });
    expect(res.status).toBe(200);
    expect(seen).toEqual([
      {
        params: undefined,
        query: { limit: 5, status: 'RUNNING' },
        body: undefined,
        idempotencyKey: undefined,
      },
    ]);
  });

  it('answers an unknown route of the group with 404 problem+json', async () => {
    const event = apiEvent('listWorkers', { role: 'admin' });
    event.routeKey = 'GET /v1/elsewhere';
    const res = await handler(event, {} as never);
    expect(res.statusCode).toBe(404);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
  });

  it('is 401 without a caller and 403 when no role grants the permission', async () => {
    const none = await api('createWorker', { role: undefined, body: { templateName: 't' } });
    expectProblem(none, 401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const viewer = await api('createWorker', { role: 'viewer', body: { templateName: 't' } });
    expectProblem(viewer, 403);
    expect(viewer.body.detail).toBe('This operation needs the permission workers:write.');
    expect((await api('listWorkers', { role: 'viewer' })).status).toBe(200);
    expect((await api('listWorkers', { role: 'portal' })).status).toBe(403);
  });

  it('checks roles before input: a forbidden caller learns nothing about validation', async () => {
    expectProblem(await api('createWorker', { role: 'viewer', rawBody: '{not json' }), 403);
    expectProblem(await api('createWorker', { role: 'viewer', body: { nope: 1 } }), 403);
  });

  it('is 400 with the offending fields and where they were', async () => {
    const path = await api('getWorker', { params: { id: '-bad id' } });
    expectProblem(path, 400);
    expect(path.body.errors).toEqual([expect.objectContaining({ path: 'id', in: 'path' })]);
    const query = await api('listWorkers', { query: { limit: '0', status: 'NOPE' } });
    expectProblem(query, 400);
    expect(query.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['limit', 'status']);
    const body = await api('createWorker', { body: { templateName: 't', extra: true } });
    expectProblem(body, 400);
    expect(body.body.errors).toEqual([expect.objectContaining({ in: 'body' })]);
  });

  it('refuses a body on an operation that takes none', async () => {
    expectProblem(await api('getWorker', { params: { id: 'w-1' }, body: { a: 1 } }), 400);
  });

  it('answers 501 for an operation without an implementation', async () => {
    expectProblem(await api('getWorkerCapacity', { params: { id: 'w-1' } }), 501);
  });
});

describe('Idempotency-Key header', () => {
  it('is refused with 400 when empty, too long or not printable ASCII, before any store is used', async () => {
    for (const value of ['', '   ', '""', 'k'.repeat(256), 'clé', 'a\tb']) {
      const res = await api('createWorker', {
        body: { templateName: 't' },
        headers: { 'Idempotency-Key': value },
      });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'Idempotency-Key', in: 'header' })]);
    }
  });

  it('is validated only on idempotent operations and passed to them unquoted', () => {
    expect(idempotencyKeyOf({ 'idempotency-key': 'abc-123' })).toBe('abc-123');
    expect(idempotencyKeyOf({ 'idempotency-key': '"8e03978e-40d5"' })).toBe('8e03978e-40d5');
    expect(idempotencyKeyOf({ 'Idempotency-Key': ' spaced ' })).toBe('spaced');
    expect(idempotencyKeyOf({ other: 'x' })).toBeUndefined();
    expect(idempotencyKeyOf(undefined)).toBeUndefined();
    expect(idempotencyKeyOf({ 'idempotency-key': 'k'.repeat(255) })).toHaveLength(255);
  });

  it('is ignored on operations that are not idempotent', async () => {
    seen.length = 0;
    const res = await api('listWorkers', { headers: { 'Idempotency-Key': '' } });
    expect(res.status).toBe(200);
    expect(seen[0]?.idempotencyKey).toBeUndefined();
  });
});

describe('callerOf', () => {
  const event = (claims: Record<string, string>, scopes: string[] | null = null) =>
    ({ requestContext: { authorizer: { jwt: { claims, scopes } } } }) as never;

  it('reads roles from flattened group claims and from scopes', () => {
    expect(callerOf(event({ sub: 'u', 'cognito:groups': '[lcm.viewer lcm.portal other]' }))).toMatchObject({
      sub: 'u',
      roles: ['lcm.portal', 'lcm.viewer'],
    });
    expect(callerOf(event({ sub: 'm2m', scope: 'lcm.operator openid' }))?.roles).toEqual(['lcm.operator']);
    expect(callerOf(event({ sub: 'm2m' }, ['lcm.admin']))?.roles).toEqual(['lcm.admin']);
    expect(callerOf(event({ sub: 'nobody' }))?.roles).toEqual([]);
    expect(callerOf(event({ 'cognito:groups': '[lcm.admin]' }))).toBeUndefined(); // no sub
  });
});
