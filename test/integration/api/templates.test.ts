import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import { operationById } from '@lcm/shared/api';
import { createStores, type Stores } from '@lcm/shared/app';
import { WorkerTemplateSchema } from '@lcm/shared/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/templates.ts';
import { type CallOptions, type CallResult, call } from '../../support/api.ts';
import { mockDescribeInstanceTypes } from '../../support/instance-types.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newWorker } from '../persistence/builders.ts';

let t: TestTable;
let s: Stores;
/** EC2 DescribeInstanceTypes at the SDK boundary, from the sandbox's table of real types. */
const ec2 = mockDescribeInstanceTypes();

beforeAll(async () => {
  t = await createTestTable('api-templates');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  s = createStores({ client: t.client, tableName: t.tableName });
});
afterAll(async () => {
  ec2.restore();
  await t.cleanup();
});

const api = (operationId: string, opts: CallOptions = {}): Promise<CallResult> =>
  call(handler, operationId, { role: 'operator', ...opts });

const body = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  instanceType: 'm5zn.metal',
  capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
  amiId: 'ami-0123456789abcdef0',
  costPerHourUsd: 3.96,
  licenseType: 'ENTERPRISE',
  ...over,
});

const create = async (name: string, over: Record<string, unknown> = {}) => {
  const res = await api('createWorkerTemplate', { body: body(name, over) });
  expect(res.status).toBe(201);
  return WorkerTemplateSchema.parse(res.body);
};

/** The field paths of a 400 problem. */
const fieldPaths = (res: CallResult): string[] => {
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return (res.body.errors as Array<{ path: string }>).map((e) => e.path);
};

const response = (operationId: string) => operationById(operationId)!.response!;

describe('POST /v1/worker-templates (createWorkerTemplate)', () => {
  it('creates a template with defaults, version 1, a zod-valid reply', async () => {
    const res = await api('createWorkerTemplate', { body: body('tpl-create', { description: 'metal' }) });
    expect(res.status).toBe(201);
    const tpl = response('createWorkerTemplate').parse(res.body);
    expect(tpl).toMatchObject({
      name: 'tpl-create',
      description: 'metal',
      capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
      podType: 'CML_ON_AWS',
      bootMinutes: 15,
      portRange: { start: 2000, end: 7999 },
      enabled: true,
      version: 1,
    });
    expect(res.body.createdAt).toBe(res.body.updatedAt);
    expect(await s.templates.get('tpl-create')).toEqual(tpl);
  });

  it('refuses an existing name with 409 DUPLICATE and leaves the stored one alone', async () => {
    await create('tpl-dup');
    const res = await api('createWorkerTemplate', { body: body('tpl-dup', { instanceType: 'c5.metal' }) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: 409, code: 'DUPLICATE' });
    expect((await s.templates.get('tpl-dup')).instanceType).toBe('m5zn.metal');
  });

  it('replays a retried create with an Idempotency-Key only when the content is the same', async () => {
    const headers = { 'Idempotency-Key': 'k-tpl-1' };
    const first = await api('createWorkerTemplate', { body: body('tpl-idem'), headers });
    expect(first.status).toBe(201);
    const again = await api('createWorkerTemplate', { body: body('tpl-idem'), headers });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);

    const other = await api('createWorkerTemplate', {
      body: body('tpl-idem', { costPerHourUsd: 9 }),
      headers,
    });
    // The same key with another body is refused by the idempotency layer (IETF draft: 422).
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused$/);
    // Without a key, the same content is still a duplicate.
    expect((await api('createWorkerTemplate', { body: body('tpl-idem') })).status).toBe(409);
  });

  it('answers 400 naming every offending body field', async () => {
    const res = await api('createWorkerTemplate', {
      body: body('Bad_Name', {
        capacity: { cpuCores: -1, memoryGb: 192, storageGb: 1000, maxNodes: 1.5 },
        portRange: { start: 3000, end: 2000 },
        licenseType: 'FREE',
        instanceType: undefined,
      }),
    });
    expect(fieldPaths(res).sort()).toEqual(
      [
        'name',
        'capacity.cpuCores',
        'capacity.maxNodes',
        'portRange.end',
        'licenseType',
        'instanceType',
      ].sort(),
    );
    expect(res.body.errors.every((e: { in: string }) => e.in === 'body')).toBe(true);
    expect(res.body.errors.find((e: { path: string }) => e.path === 'instanceType')).toBeDefined();
  });

  it('answers 400 for fields a create may not set (version, unknown keys)', async () => {
    const res = await api('createWorkerTemplate', {
      body: { ...body('tpl-extra'), version: 7, colour: 'red' },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toMatch(/version/);
    expect(JSON.stringify(res.body.errors)).toMatch(/colour/);
    await expect(s.templates.get('tpl-extra')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('checks roles: 401 without a token, 403 for a viewer', async () => {
    expect((await call(handler, 'createWorkerTemplate', { body: body('tpl-anon') })).status).toBe(401);
    expect((await api('createWorkerTemplate', { body: body('tpl-viewer'), role: 'viewer' })).status).toBe(
      403,
    );
  });
});

describe('GET /v1/worker-templates/{name} (getWorkerTemplate)', () => {
  it('returns the template', async () => {
    const tpl = await create('tpl-get');
    const res = await api('getWorkerTemplate', { params: { name: 'tpl-get' }, role: 'viewer' });
    expect(res.status).toBe(200);
    expect(response('getWorkerTemplate').parse(res.body)).toEqual(tpl);
  });

  it('404 for an unknown name, 400 for a malformed one', async () => {
    const missing = await api('getWorkerTemplate', { params: { name: 'tpl-nope' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND', instance: '/v1/worker-templates/tpl-nope' });
    const bad = await api('getWorkerTemplate', { params: { name: 'UPPER_case' } });
    expect(fieldPaths(bad)).toEqual(['name']);
    expect(bad.body.errors[0].in).toBe('path');
  });
});

describe('GET /v1/worker-templates (listWorkerTemplates)', () => {
  it('pages with limit and an opaque cursor until every template was seen once', async () => {
    const names = ['tpl-list-a', 'tpl-list-b', 'tpl-list-c', 'tpl-list-d', 'tpl-list-e'];
    for (const n of names) await create(n);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api('listWorkerTemplates', {
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
        role: 'viewer',
      });
      expect(res.status).toBe(200);
      const page = response('listWorkerTemplates').parse(res.body) as {
        items: unknown[];
        nextCursor?: string;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((i: { name: string }) => i.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    const all = (await s.templates.list({ limit: 1000 })).items.map((x) => x.name);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    for (const n of names) expect(seen).toContain(n);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
  });

  it('defaults the limit and omits nextCursor on the last page', async () => {
    const res = await api('listWorkerTemplates');
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body).not.toHaveProperty('nextCursor');
  });

  it('answers 400 for a bad limit or a cursor that is not ours', async () => {
    expect(fieldPaths(await api('listWorkerTemplates', { query: { limit: '0' } }))).toEqual(['limit']);
    expect(fieldPaths(await api('listWorkerTemplates', { query: { limit: '101' } }))).toEqual(['limit']);
    expect(fieldPaths(await api('listWorkerTemplates', { query: { limit: 'ten' } }))).toEqual(['limit']);
    expect(fieldPaths(await api('listWorkerTemplates', { query: { cursor: 'not a cursor!' } }))).toEqual([
      'cursor',
    ]);
    const foreign = Buffer.from(
      JSON.stringify({ PK: 'X', SK: 'Y', GSI2PK: 'TYPE#Worker', GSI2SK: 'w' }),
    ).toString('base64url');
    expect(fieldPaths(await api('listWorkerTemplates', { query: { cursor: foreign } }))).toEqual(['cursor']);
  });

  it('is forbidden to the portal role', async () => {
    expect((await api('listWorkerTemplates', { role: 'portal' })).status).toBe(403);
  });
});

describe('PATCH /v1/worker-templates/{name} (updateWorkerTemplate)', () => {
  it('applies a change under the expected version and bumps it', async () => {
    const tpl = await create('tpl-upd');
    const res = await api('updateWorkerTemplate', {
      params: { name: 'tpl-upd' },
      body: {
        costPerHourUsd: 4.5,
        capacity: { cpuCores: 32, memoryGb: 128, storageGb: 800, maxNodes: 60 },
        expectedVersion: tpl.version,
      },
    });
    expect(res.status).toBe(200);
    const updated = response('updateWorkerTemplate').parse(res.body);
    expect(updated).toMatchObject({
      name: 'tpl-upd',
      costPerHourUsd: 4.5,
      capacity: { cpuCores: 32, memoryGb: 128, storageGb: 800, maxNodes: 60 },
      instanceType: tpl.instanceType,
      version: tpl.version + 1,
    });
    expect(updated).not.toHaveProperty('expectedVersion');
    expect(await s.templates.get('tpl-upd')).toEqual(updated);
  });

  it('a stale expectedVersion is 409 VERSION_CONFLICT and writes nothing', async () => {
    const tpl = await create('tpl-stale');
    await s.templates.update('tpl-stale', { bootMinutes: 20 }, tpl.version);
    const res = await api('updateWorkerTemplate', {
      params: { name: 'tpl-stale' },
      body: { bootMinutes: 30, expectedVersion: tpl.version },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('VERSION_CONFLICT');
    expect(await s.templates.get('tpl-stale')).toMatchObject({ bootMinutes: 20, version: tpl.version + 1 });
  });

  it('without expectedVersion applies the change to the current version', async () => {
    const tpl = await create('tpl-lww');
    await s.templates.update('tpl-lww', { bootMinutes: 20 }, tpl.version);
    const res = await api('updateWorkerTemplate', { params: { name: 'tpl-lww' }, body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ enabled: false, bootMinutes: 20, version: tpl.version + 2 });
  });

  it('404 for an unknown template, with or without expectedVersion', async () => {
    for (const extra of [{}, { expectedVersion: 1 }]) {
      const res = await api('updateWorkerTemplate', {
        params: { name: 'tpl-ghost' },
        body: { bootMinutes: 5, ...extra },
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
  });

  it('answers 400 for invalid, unknown or no fields', async () => {
    await create('tpl-bad-upd');
    const params = { name: 'tpl-bad-upd' };
    const invalid = await api('updateWorkerTemplate', {
      params,
      body: { costPerHourUsd: -1, portRange: { start: 10, end: 5 }, expectedVersion: -1 },
    });
    expect(fieldPaths(invalid).sort()).toEqual(['costPerHourUsd', 'expectedVersion', 'portRange.end']);
    const rename = await api('updateWorkerTemplate', { params, body: { name: 'other' } });
    expect(rename.status).toBe(400);
    expect(JSON.stringify(rename.body.errors)).toMatch(/name/);
    const empty = await api('updateWorkerTemplate', { params, body: { expectedVersion: 1 } });
    expect(fieldPaths(empty)).toEqual(['body']);
    expect((await s.templates.get('tpl-bad-upd')).version).toBe(1);
  });
});

describe('POST /v1/worker-templates/{name}/disable (disableWorkerTemplate)', () => {
  it('disables once; repeating returns the same template without a write', async () => {
    const tpl = await create('tpl-dis');
    const first = await api('disableWorkerTemplate', { params: { name: 'tpl-dis' } });
    expect(first.status).toBe(200);
    expect(response('disableWorkerTemplate').parse(first.body)).toMatchObject({
      enabled: false,
      version: tpl.version + 1,
    });
    const again = await api('disableWorkerTemplate', { params: { name: 'tpl-dis' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it('is allowed while workers use the template', async () => {
    await create('tpl-dis-used');
    await s.workers.create(newWorker({ id: 'w-dis-used', templateName: 'tpl-dis-used' }));
    const res = await api('disableWorkerTemplate', { params: { name: 'tpl-dis-used' } });
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(false);
  });

  it('404 for an unknown template, 400 for a malformed name, 400 for a body', async () => {
    expect((await api('disableWorkerTemplate', { params: { name: 'tpl-none' } })).status).toBe(404);
    expect(fieldPaths(await api('disableWorkerTemplate', { params: { name: '-x' } }))).toEqual(['name']);
    const withBody = await api('disableWorkerTemplate', { params: { name: 'tpl-dis' }, body: { x: 1 } });
    expect(withBody.status).toBe(400);
  });
});

describe('DELETE /v1/worker-templates/{name} (deleteWorkerTemplate)', () => {
  it('deletes an unused template: 204 without a body, then 404', async () => {
    await create('tpl-del');
    const res = await api('deleteWorkerTemplate', { params: { name: 'tpl-del' } });
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect((await api('getWorkerTemplate', { params: { name: 'tpl-del' } })).status).toBe(404);
    expect((await api('deleteWorkerTemplate', { params: { name: 'tpl-del' } })).status).toBe(404);
  });

  it('refuses with 409 while a non-TERMINATED worker uses it, naming the workers', async () => {
    await create('tpl-used');
    await s.workers.create(newWorker({ id: 'w-used-1', templateName: 'tpl-used', status: 'PENDING' }));
    await s.workers.create(newWorker({ id: 'w-used-2', templateName: 'tpl-used', status: 'STOPPED' }));
    await s.workers.create(newWorker({ id: 'w-used-3', templateName: 'tpl-used', status: 'TERMINATED' }));
    await s.workers.create(newWorker({ id: 'w-other', templateName: 'tpl-other', status: 'RUNNING' }));
    const res = await api('deleteWorkerTemplate', { params: { name: 'tpl-used' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'CONFLICT',
      details: { template: 'tpl-used', workerCount: 2 },
    });
    expect([...res.body.details.workerIds].sort()).toEqual(['w-used-1', 'w-used-2']);
    expect((await s.templates.get('tpl-used')).name).toBe('tpl-used');
  });

  it('allows the delete once every worker of the template is TERMINATED', async () => {
    await create('tpl-retired');
    await s.workers.create(
      newWorker({ id: 'w-retired', templateName: 'tpl-retired', status: 'SHUTTING_DOWN' }),
    );
    expect((await api('deleteWorkerTemplate', { params: { name: 'tpl-retired' } })).status).toBe(409);
    await s.workers.transition('w-retired', 'SHUTTING_DOWN', 'TERMINATED', 'test');
    expect((await api('deleteWorkerTemplate', { params: { name: 'tpl-retired' } })).status).toBe(204);
  });

  it('is forbidden to a viewer and 400 for a malformed name', async () => {
    await create('tpl-keep');
    expect((await api('deleteWorkerTemplate', { params: { name: 'tpl-keep' }, role: 'viewer' })).status).toBe(
      403,
    );
    expect(fieldPaths(await api('deleteWorkerTemplate', { params: { name: 'Tpl Keep' } }))).toEqual(['name']);
    expect((await s.templates.get('tpl-keep')).name).toBe('tpl-keep');
  });
});

describe('templates that can run CML (issue 10, item 4): DescribeInstanceTypes at create and update', () => {
  /** The 422 problem's field paths and messages. */
  const unprocessable = (res: CallResult): Array<{ path: string; message: string }> => {
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json');
    return res.body.errors as Array<{ path: string; message: string }>;
  };

  it('a bare-metal type stated as metal is created (virtualisation defaults to metal)', async () => {
    ec2.resetHistory();
    const tpl = await create('tpl-metal', {
      instanceType: 'c5.metal',
      capacity: { cpuCores: 96, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    });
    expect(tpl.virtualisation).toBe('metal');
    const calls = ec2.commandCalls(DescribeInstanceTypesCommand);
    expect(calls.map((c) => c.args[0].input.InstanceTypes)).toEqual([['c5.metal']]);
  });

  it('a nested-capable type (c8i, m8i-flex) stated as nested is created', async () => {
    const c8i = await create('tpl-c8i', {
      instanceType: 'c8i.8xlarge',
      virtualisation: 'nested',
      capacity: { cpuCores: 32, memoryGb: 64, storageGb: 500, maxNodes: 40 },
      costPerHourUsd: 1.4994,
    });
    expect(c8i).toMatchObject({ instanceType: 'c8i.8xlarge', virtualisation: 'nested' });
    const flex = await create('tpl-m8i-flex', {
      instanceType: 'm8i-flex.8xlarge',
      virtualisation: 'nested',
      capacity: { cpuCores: 32, memoryGb: 128, storageGb: 500, maxNodes: 40 },
    });
    expect(flex.virtualisation).toBe('nested');
  });

  it('an incapable type (m7i.8xlarge: neither bare metal nor nested) is 422 naming instanceType, nothing stored', async () => {
    const res = await api('createWorkerTemplate', {
      body: body('tpl-m7i', {
        instanceType: 'm7i.8xlarge',
        virtualisation: 'nested',
        capacity: { cpuCores: 32, memoryGb: 128, storageGb: 500, maxNodes: 40 },
      }),
    });
    const errors = unprocessable(res);
    expect(errors.map((e) => e.path)).toEqual(['instanceType']);
    expect(errors[0]!.message).toMatch(
      /m7i\.8xlarge can run CML neither on bare metal nor with nested virtualisation/,
    );
    await expect(s.templates.get('tpl-m7i')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // t3.large, metal claimed: the same
    const t3 = await api('createWorkerTemplate', {
      body: body('tpl-t3', {
        instanceType: 't3.large',
        capacity: { cpuCores: 2, memoryGb: 8, storageGb: 50, maxNodes: 2 },
      }),
    });
    expect(unprocessable(t3).map((e) => e.path)).toEqual(['instanceType']);
  });

  it('metal claimed for a nested-only type, and nested for a bare-metal type: 422 naming virtualisation', async () => {
    const metalOnC8i = await api('createWorkerTemplate', {
      body: body('tpl-c8i-metal', {
        instanceType: 'c8i.4xlarge',
        virtualisation: 'metal',
        capacity: { cpuCores: 16, memoryGb: 32, storageGb: 200, maxNodes: 20 },
      }),
    });
    const e1 = unprocessable(metalOnC8i);
    expect(e1.map((e) => e.path)).toEqual(['virtualisation']);
    expect(e1[0]!.message).toMatch(/c8i\.4xlarge is not bare metal.*set virtualisation to 'nested'/);
    const nestedOnMetal = await api('createWorkerTemplate', {
      body: body('tpl-metal-nested', { instanceType: 'm5zn.metal', virtualisation: 'nested' }),
    });
    expect(unprocessable(nestedOnMetal).map((e) => e.path)).toEqual(['virtualisation']);
  });

  it('an unknown type and a capacity above the host are 422 naming the field', async () => {
    expect(
      unprocessable(
        await api('createWorkerTemplate', { body: body('tpl-ghost-type', { instanceType: 'z9.mega' }) }),
      ).map((e) => e.path),
    ).toEqual(['instanceType']);
    const tooBig = await api('createWorkerTemplate', {
      body: body('tpl-too-big', {
        capacity: { cpuCores: 64, memoryGb: 256, storageGb: 1000, maxNodes: 100 },
      }),
    });
    expect(unprocessable(tooBig).map((e) => `${e.path}: ${e.message}`)).toEqual([
      'capacity.cpuCores: 64 > 48 vCPUs of m5zn.metal',
      'capacity.memoryGb: 256 > 192 GiB of m5zn.metal',
    ]);
  });

  it('an update is checked as it would leave the template: the type alone, or type and virtualisation together', async () => {
    const tpl = await create('tpl-move');
    ec2.resetHistory();
    // Not about the type: no DescribeInstanceTypes.
    expect(
      (await api('updateWorkerTemplate', { params: { name: 'tpl-move' }, body: { bootMinutes: 12 } })).status,
    ).toBe(200);
    expect(ec2.commandCalls(DescribeInstanceTypesCommand)).toHaveLength(0);
    // A nested-only type while the template says metal: 422, unchanged.
    const bad = await api('updateWorkerTemplate', {
      params: { name: 'tpl-move' },
      body: { instanceType: 'm8i.12xlarge' },
    });
    expect(unprocessable(bad).map((e) => e.path)).toEqual(['virtualisation']);
    expect(await s.templates.get('tpl-move')).toMatchObject({
      instanceType: 'm5zn.metal',
      version: tpl.version + 1,
    });
    const good = await api('updateWorkerTemplate', {
      params: { name: 'tpl-move' },
      body: { instanceType: 'm8i.12xlarge', virtualisation: 'nested', expectedVersion: tpl.version + 1 },
    });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    expect(good.body).toMatchObject({ instanceType: 'm8i.12xlarge', virtualisation: 'nested' });
    expect(ec2.commandCalls(DescribeInstanceTypesCommand).map((c) => c.args[0].input.InstanceTypes)).toEqual([
      ['m8i.12xlarge'],
      ['m8i.12xlarge'],
    ]);
  });
});
