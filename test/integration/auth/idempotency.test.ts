import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { operationsHandler } from '@lcm/shared/api';
import { ConflictError } from '@lcm/shared/kernel';
import {
  IDEMPOTENCY_PARTITION,
  IDEMPOTENCY_TTL_SECONDS,
  json,
  REPLAYED_HEADER,
  runIdempotent,
} from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, type CallOptions, type CallResult, call, lambdaContext } from '../../support/api.ts';
import { mockDescribeInstanceTypes } from '../../support/instance-types.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';

/**
 * Idempotency-Key over DynamoDB Local: the dispatcher's Powertools idempotency on the single table,
 * first with a stand-in workers group whose implementations the test controls, then with the real
 * workers and templates handlers.
 */

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable('auth-idem');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
});
/** The templates handler checks instance types: EC2 DescribeInstanceTypes at the SDK boundary. */
const ec2 = mockDescribeInstanceTypes();
afterAll(async () => {
  ec2.restore();
  await t?.cleanup();
});

// --- a stand-in group -------------------------------------------------------------------------

let runs = 0;
let next: (req: { body: unknown; params: unknown }) => Promise<ReturnType<typeof json>> = async () =>
  json(201, { n: runs }, { location: `/v1/workers/w-${runs}` });
beforeEach(() => {
  runs = 0;
  next = async () => json(201, { n: runs }, { location: `/v1/workers/w-${runs}` });
});

const counted = async (req: { body: unknown; params: unknown }) => {
  runs += 1;
  return next(req);
};
const stubImpls = {
  createWorker: counted,
  startWorker: counted,
  listWorkers: async () => json(200, { items: [] }),
} as unknown as Parameters<typeof operationsHandler<'workers'>>[1];
const stub = operationsHandler('workers', stubImpls, { idempotency: runIdempotent });

const post = (key: string | undefined, opts: CallOptions = {}, operationId = 'createWorker') =>
  call(stub, operationId, {
    role: 'operator',
    body: { templateName: 'tpl-a' },
    ...opts,
    headers: { ...(key === undefined ? {} : { 'Idempotency-Key': key }), ...opts.headers },
  });

const expectProblem = (res: CallResult, status: number, type?: string) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  if (type) expect(res.body.type).toBe(`https://lablet.io/problems/lcm/${type}`);
};

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('Idempotency-Key on an idempotent POST', () => {
  it('runs once and replays the stored first reply, marked as replayed', async () => {
    const first = await post('k-replay');
    const again = await post('k-replay');
    expect(runs).toBe(1);
    expect(first.status).toBe(201);
    expect(first.headers[REPLAYED_HEADER]).toBeUndefined();
    expect(again).toEqual({
      status: 201,
      headers: { ...first.headers, [REPLAYED_HEADER]: 'true' },
      body: first.body,
    });
  });

  it('keeps the record in the table under IDEMPOTENCY with the TTL attribute 24 h ahead', async () => {
    const before = Math.floor(Date.now() / 1000);
    await post('k-record');
    const { Items = [] } = await t.client.send(
      new QueryCommand({
        TableName: t.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': IDEMPOTENCY_PARTITION },
      }),
    );
    expect(Items.length).toBeGreaterThan(0);
    for (const item of Items) {
      expect(item.SK).toMatch(/^lcm-api#[A-Za-z0-9+/=]{44}$/); // sha256, base64
      expect(item.status).toBe('COMPLETED');
      expect(item.expiresAt).toBeGreaterThanOrEqual(before + IDEMPOTENCY_TTL_SECONDS - 5);
      expect(item.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + IDEMPOTENCY_TTL_SECONDS + 5);
      expect(item.data).toMatchObject({ statusCode: 201 });
      expect(item).not.toHaveProperty('entity');
    }
    // The key does not appear in clear: it is hashed with the caller and the operation.
    expect(JSON.stringify(Items)).not.toContain('k-record');
  });

  it('the same key with a different body is a 422 problem and does not run', async () => {
    await post('k-body');
    const other = await post('k-body', { body: { templateName: 'tpl-b' } });
    expectProblem(other, 422, 'idempotency-key-reused');
    expect(runs).toBe(1);
    // Formatting and member order do not make a request different.
    const same = await post('k-body', { rawBody: '{ "templateName" :\n "tpl-a" }' });
    expect(same.status).toBe(201);
    expect(same.headers[REPLAYED_HEADER]).toBe('true');
  });

  it('the same key on another resource (path parameter) is a different request: 422', async () => {
    const a = await post('k-path', { params: { id: 'w-a' }, body: {} }, 'startWorker');
    expect(a.status).toBe(201);
    expectProblem(await post('k-path', { params: { id: 'w-b' }, body: {} }, 'startWorker'), 422);
    expect(runs).toBe(1);
  });

  it('keys are per caller and per operation', async () => {
    await post('k-shared');
    const otherCaller = await post('k-shared', { sub: 'someone-else' });
    const otherOperation = await post('k-shared', { params: { id: 'w-1' }, body: {} }, 'startWorker');
    expect([otherCaller.status, otherOperation.status]).toEqual([201, 201]);
    expect(otherCaller.headers[REPLAYED_HEADER]).toBeUndefined();
    expect(otherOperation.headers[REPLAYED_HEADER]).toBeUndefined();
    expect(runs).toBe(3);
  });

  it('a quoted key (structured-field string) is the same key', async () => {
    await post('k-quoted');
    const again = await post('"k-quoted"');
    expect(again.headers[REPLAYED_HEADER]).toBe('true');
    expect(runs).toBe(1);
  });

  it('without a key every request runs', async () => {
    await post(undefined);
    await post(undefined);
    expect(runs).toBe(2);
  });

  it('while the first request runs, a repeat is a 409 problem with Retry-After; afterwards it replays', async () => {
    const gate = deferred();
    next = async () => {
      await gate.promise;
      return json(201, { slow: true });
    };
    const first = post('k-slow');
    // Let the first request write its in-progress mark.
    await vi.waitFor(
      async () => {
        const { Items = [] } = await t.client.send(
          new QueryCommand({
            TableName: t.tableName,
            KeyConditionExpression: 'PK = :pk',
            FilterExpression: '#s = :inprogress',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':pk': IDEMPOTENCY_PARTITION, ':inprogress': 'INPROGRESS' },
          }),
        );
        expect(Items).toHaveLength(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    const during = await post('k-slow');
    expectProblem(during, 409, 'idempotency-in-progress');
    expect(during.headers['retry-after']).toBe('1');
    // A different body is refused as reuse even while in progress.
    expectProblem(await post('k-slow', { body: { templateName: 'tpl-b' } }), 422);
    gate.resolve();
    expect((await first).status).toBe(201);
    const after = await post('k-slow');
    expect(after).toMatchObject({ status: 201, body: { slow: true } });
    expect(after.headers[REPLAYED_HEADER]).toBe('true');
    expect(runs).toBe(1);
  });

  it('an in-progress mark lapses with the invocation that set it (a crashed Lambda does not block the key)', async () => {
    const gate = deferred();
    next = async () => {
      await gate.promise;
      return json(201, { first: true });
    };
    // The first invocation has 300 ms left: its mark expires then.
    const shortContext: Context = { ...lambdaContext(), getRemainingTimeInMillis: () => 300 };
    const first = stub(
      apiEvent('createWorker', {
        role: 'operator',
        body: { templateName: 'tpl-a' },
        headers: { 'Idempotency-Key': 'k-crash' },
      }),
      shortContext,
    );
    await new Promise((r) => setTimeout(r, 150));
    next = async () => json(201, { second: true });
    expectProblem(await post('k-crash'), 409);
    await new Promise((r) => setTimeout(r, 400));
    const second = await post('k-crash');
    expect(second).toMatchObject({ status: 201, body: { second: true } });
    gate.resolve();
    await first;
    expect(runs).toBe(2);
  });

  it('errors are not stored: a retry after a failure runs again', async () => {
    next = async () => {
      throw new ConflictError('not yet');
    };
    expectProblem(await post('k-error'), 409);
    next = async () => json(422, { refused: true });
    expect((await post('k-error')).status).toBe(422);
    next = async () => json(201, { finally: true });
    const ok = await post('k-error');
    expect(ok).toMatchObject({ status: 201, body: { finally: true } });
    expect(ok.headers[REPLAYED_HEADER]).toBeUndefined();
    expect(runs).toBe(3);
    expect((await post('k-error')).headers[REPLAYED_HEADER]).toBe('true');
    expect(runs).toBe(3);
  });

  it('RBAC and validation come first: refused requests leave no record', async () => {
    expectProblem(await post('k-refused', { role: 'viewer' }), 403);
    expectProblem(await post('k-refused', { body: { templateName: '' } }), 400);
    expect(runs).toBe(0);
    expect((await post('k-refused')).status).toBe(201);
    expect(runs).toBe(1);
  });
});

// --- the real handlers --------------------------------------------------------------------------

describe('wiring', () => {
  it('a group with idempotent operations must be given the runner, naming them', () => {
    expect(() => operationsHandler('workers', stubImpls)).toThrow(
      /^The workers group has idempotent operations \(createWorker, .*\): its handler must pass \{ idempotency: runIdempotent \}/,
    );
  });

  it('a group without them needs none', () => {
    expect(() =>
      operationsHandler('fleet', {
        getFleetCapacity: async () => json(200, {}),
        getFleetPools: async () => json(200, { pools: [] }),
        getFleetScaling: async () => json(200, { items: [] }),
        getFleetCost: async () => json(200, {}),
        getFleetUsage: async () => json(200, {}),
        getDefinitionCost: async () => json(200, {}),
      }),
    ).not.toThrow();
  });
});

describe('createWorker with the real workers handler', () => {
  const TEMPLATE = {
    name: 'idem-tpl',
    instanceType: 'm5zn.metal',
    capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    amiId: 'ami-0123456789abcdef0',
    costPerHourUsd: 3.96,
    licenseType: 'ENTERPRISE',
  };

  it('a retried create returns the same worker and creates one', async () => {
    const templates = (await import('../../../functions/api/templates.ts')).handler;
    const workers = (await import('../../../functions/api/workers.ts')).handler;
    const created = await call(templates, 'createWorkerTemplate', { role: 'admin', body: TEMPLATE });
    expect(created.status).toBe(201);
    const second = await call(templates, 'createWorkerTemplate', {
      role: 'admin',
      body: { ...TEMPLATE, name: 'idem-tpl-2' },
    });
    expect(second.status).toBe(201);

    const headers = { 'Idempotency-Key': 'create-worker-once' };
    const first = await call(workers, 'createWorker', {
      role: 'operator',
      body: { templateName: 'idem-tpl' },
      headers,
    });
    const again = await call(workers, 'createWorker', {
      role: 'operator',
      body: { templateName: 'idem-tpl' },
      headers,
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers[REPLAYED_HEADER]).toBe('true');

    const { Item } = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: { PK: `WORKER#${first.body.id}`, SK: 'WORKER' } }),
    );
    expect(Item?.id).toBe(first.body.id);
    const list = await call(workers, 'listWorkers', { role: 'operator' });
    expect(
      list.body.items.filter((w: { templateName: string }) => w.templateName === 'idem-tpl'),
    ).toHaveLength(1);

    const reused = await call(workers, 'createWorker', {
      role: 'operator',
      body: { templateName: 'idem-tpl-2' },
      headers,
    });
    expectProblem(reused, 422, 'idempotency-key-reused');
  });
});
