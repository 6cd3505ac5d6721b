import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { apiStores } from '@lcm/shared/app';
import type { LabletDefinition, PortTemplateEntry } from '@lcm/shared/kernel';
import type { FieldError } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/definitions.ts';
import { type CallOptions, call } from '../../support/api.ts';
import { createTestTable, METAL_48_TEMPLATE, type TestTable } from '../../support/table.ts';

/** /v1/definitions end to end: API Gateway v2 event → handler → DynamoDB Local. */

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/topologies/${name}`, import.meta.url), 'utf8');
const PATTY = fixture('patty-all-kinds.yaml');
const DANGLING = fixture('dangling-link.yaml');

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable('api-definitions');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  // One enabled template, as a fleet has: definitions it can hold carry no NO_TEMPLATE_CAN_HOLD.
  await apiStores().templates.create({ ...METAL_48_TEMPLATE, capacity: { ...METAL_48_TEMPLATE.capacity } });
});
afterAll(async () => {
  await t?.cleanup();
});

const api = (operationId: string, opts: CallOptions = {}) =>
  call(handler, operationId, { role: 'admin', ...opts });

const REQUIREMENTS = { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 };
let seq = 0;
/** A minimal valid create body with a unique id. */
const body = (over: Record<string, unknown> = {}) => ({
  id: `def-${++seq}`,
  name: `Definition ${seq}`,
  resourceRequirements: REQUIREMENTS,
  maxDurationMinutes: 120,
  ...over,
});

async function created(over: Record<string, unknown> = {}) {
  const res = await api('createDefinition', { body: body(over) });
  expect(res.status).toBe(201);
  return res.body;
}

/** Every page of a listing, checking page sizes and that cursors never repeat an item. */
async function allPages(operationId: string, query: Record<string, string>, limit: number) {
  const items: LabletDefinition[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await api(operationId, {
      query: { ...query, limit: String(limit), ...(cursor ? { cursor } : {}) },
    });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  expect(cursor).toBeUndefined();
  return { items, pages };
}

describe('POST /v1/definitions', () => {
  it('warns NO_TEMPLATE_CAN_HOLD while no enabled template can hold it, naming the field, and stops when one can', async () => {
    const big = await created({
      resourceRequirements: { cpuCores: 64, memoryGb: 64, storageGb: 100, nodeCount: 10 },
    });
    const hold = (d: { warnings?: Array<{ code: string; field?: string; message: string }> }) =>
      (d.warnings ?? []).filter((w) => w.code === 'NO_TEMPLATE_CAN_HOLD');
    expect(hold(big)).toEqual([
      {
        code: 'NO_TEMPLATE_CAN_HOLD',
        field: 'resourceRequirements.cpuCores',
        message:
          'No enabled worker template can hold a session of this definition: cpuCores 64 > 48 on every template; a booking is refused (422).',
      },
    ]);
    // Reads say so too (one and the list), and a template that can hold it ends the warning.
    expect(hold((await api('getDefinition', { params: { id: big.id } })).body)).toHaveLength(1);
    const listed = (await api('listDefinitions', { query: { limit: '100' } })).body.items.find(
      (d: { id: string }) => d.id === big.id,
    );
    expect(hold(listed)).toHaveLength(1);
    await apiStores().templates.create({
      ...METAL_48_TEMPLATE,
      name: 'metal-96',
      capacity: { ...METAL_48_TEMPLATE.capacity, cpuCores: 96 },
    });
    try {
      expect(hold((await api('getDefinition', { params: { id: big.id } })).body)).toEqual([]);
    } finally {
      await apiStores().templates.delete('metal-96');
    }
  });

  it('creates version 1 (ACTIVE) and derives port template, resources and content hash from the topology', async () => {
    const res = await api('createDefinition', {
      body: { name: 'PATty lab', topologyYaml: PATTY, maxDurationMinutes: 90 },
      sub: 'op-alice',
    });
    expect(res.status).toBe(201);
    const def = res.body;
    expect(def.id).toMatch(/^patty-lab-[0-9a-z]{8}$/);
    expect(res.headers.location).toBe(`/v1/definitions/${def.id}`);
    expect(def).toMatchObject({ version: 1, status: 'ACTIVE', name: 'PATty lab', createdBy: 'op-alice' });
    expect(def.contentHash).toBe(`sha256:${createHash('sha256').update(PATTY).digest('hex')}`);
    // iosv (1 vCPU, 512 MB, 1 GB) + ubuntu (2 vCPU, 4096 MB, 4 GB); switch and connector run no VM.
    expect(def.resourceRequirements).toEqual({ cpuCores: 3, memoryGb: 4.5, storageGb: 5, nodeCount: 2 });
    expect(def.portTemplate.map((p: PortTemplateEntry) => p.name)).toEqual([
      'iosv-0_serial',
      'iosv-0_ssh',
      'iosv-0_telnet',
      'PC_serial',
      'PC_serial1',
      'PC_vnc',
      'PC_udp161',
      'PC_tcp8080',
      'PC_rdp',
      'PC_https',
      'PC_http',
      'PC_netconf',
    ]);
    expect(def.portTemplate[1]).toEqual({
      name: 'iosv-0_ssh',
      nodeLabel: 'iosv-0',
      kind: 'tcp',
      insidePort: 22,
      templatePort: 5041,
    });
    expect(def.portTemplate.find((p: PortTemplateEntry) => p.name === 'PC_udp161')).toMatchObject({
      kind: 'udp',
      insidePort: 161,
    });

    const read = await api('getDefinition', { params: { id: def.id }, role: 'viewer' });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(def);
  });

  it('keeps a port template and resources the caller states instead of deriving them', async () => {
    const portTemplate = [{ name: 'R1_console', nodeLabel: 'R1', kind: 'serial', insidePort: 0 }];
    const stated = { cpuCores: 4, memoryGb: 8, storageGb: 10, nodeCount: 2 };
    const def = await created({ topologyYaml: PATTY, portTemplate, resourceRequirements: stated });
    expect(def.portTemplate).toEqual(portTemplate);
    expect(def.resourceRequirements).toEqual(stated);
    expect(def.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses stated resources below what the topology needs (422 naming each field) unless forced', async () => {
    // The topology needs {cpuCores: 3, memoryGb: 4.5, storageGb: 5, nodeCount: 2}.
    const refused = await api('createDefinition', {
      body: body({ topologyYaml: PATTY, resourceRequirements: REQUIREMENTS }),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { path: 'resourceRequirements.cpuCores', message: '2 is below the 3 the topology needs' },
      { path: 'resourceRequirements.memoryGb', message: '4 is below the 4.5 the topology needs' },
    ]);
    const forced = await created({ topologyYaml: PATTY, resourceRequirements: REQUIREMENTS, force: true });
    expect(forced.resourceRequirements).toEqual(REQUIREMENTS);
    expect(forced.force).toBeUndefined();
    const warnings = forced.warnings as Array<{ code: string; field?: string; node?: string }>;
    expect(warnings.map((w) => `${w.code} ${w.field ?? w.node}`)).toEqual([
      // The ubuntu node PC sets ram 4096, above the 2048 MB default.
      'RAM_ABOVE_DEFAULT PC',
      'REQUIREMENTS_BELOW_TOPOLOGY resourceRequirements.cpuCores',
      'REQUIREMENTS_BELOW_TOPOLOGY resourceRequirements.memoryGb',
    ]);
  });

  it('rejects an invalid topology with 400 naming the problem', async () => {
    const res = await api('createDefinition', { body: body({ topologyYaml: DANGLING }) });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'TOPOLOGY_INVALID' });
    expect(res.body.detail).toBe('link l1: n2 references unknown node n9');

    const bad = await api('createDefinition', { body: body({ topologyYaml: 'lab: [unclosed' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('TOPOLOGY_INVALID');
    expect(bad.body.detail).toMatch(/^invalid YAML at line \d+, column \d+/);

    const noVersion = await api('createDefinition', {
      body: body({ topologyYaml: 'lab:\n  title: x\nnodes: []\n' }),
    });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.detail).toMatch(/^lab\.version: /);
  });

  it('rejects bad input with 400 and the offending field paths', async () => {
    const missing = await api('createDefinition', { body: { resourceRequirements: REQUIREMENTS } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: FieldError) => e.path).sort()).toEqual(['maxDurationMinutes', 'name']);
    expect(missing.body.errors.every((e: FieldError) => e.in === 'body')).toBe(true);

    const nested = await api('createDefinition', {
      body: body({
        resourceRequirements: { ...REQUIREMENTS, cpuCores: -1 },
        devices: [{ name: 'R1', protocol: 'carrier-pigeon' }],
        maxDurationMinutes: 0,
      }),
    });
    expect(nested.status).toBe(400);
    expect(nested.body.errors.map((e: FieldError) => e.path).sort()).toEqual([
      'devices[0].protocol',
      'maxDurationMinutes',
      'resourceRequirements.cpuCores',
    ]);

    const unknown = await api('createDefinition', { body: body({ colour: 'blue' }) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toMatch(/colour/);

    const badId = await api('createDefinition', { body: body({ id: '-leading-dash' }) });
    expect(badId.status).toBe(400);
    expect(badId.body.errors.map((e: FieldError) => e.path)).toEqual(['id']);

    const nothingToSize = await api('createDefinition', {
      body: { name: 'No size', maxDurationMinutes: 60 },
    });
    expect(nothingToSize.status).toBe(400);
    expect(nothingToSize.body.errors).toEqual([
      { path: 'resourceRequirements', message: 'required when neither topologyYaml nor contentUri is given' },
    ]);
  });

  it('refuses an id that exists (409) and leaves the first untouched', async () => {
    const first = await created({ id: 'dup-def', name: 'First' });
    const again = await api('createDefinition', { body: body({ id: 'dup-def', name: 'Second' }) });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DUPLICATE');
    expect((await api('getDefinition', { params: { id: 'dup-def' } })).body).toEqual(first);
  });

  it('replays a create retried with the same Idempotency-Key (one definition, same id)', async () => {
    const req = { body: { name: 'Retried', resourceRequirements: REQUIREMENTS, maxDurationMinutes: 60 } };
    const headers = { 'Idempotency-Key': 'key-123' };
    const one = await api('createDefinition', { ...req, headers });
    const two = await api('createDefinition', { ...req, headers });
    expect(one.status).toBe(201);
    expect(two.status).toBe(201);
    expect(two.headers['idempotency-replayed']).toBe('true');
    expect(one.headers['idempotency-replayed']).toBeUndefined();
    expect(two.body).toEqual(one.body);
    const versions = await api('listDefinitionVersions', { params: { id: one.body.id } });
    expect(versions.body.items).toHaveLength(1);
    // Another key (or no key) is another definition.
    const other = await api('createDefinition', { ...req, headers: { 'Idempotency-Key': 'key-456' } });
    expect(other.body.id).not.toBe(one.body.id);
  });

  it('needs definitions:write (viewer 403, no token 401)', async () => {
    expect((await api('createDefinition', { body: body(), role: 'viewer' })).status).toBe(403);
    expect((await api('createDefinition', { body: body(), role: 'portal' })).status).toBe(403);
    expect((await api('createDefinition', { body: body(), role: undefined })).status).toBe(401);
    expect((await api('listDefinitions', { role: 'portal' })).status).toBe(200);
  });
});

describe('device credentials are write-only (api/views.ts)', () => {
  const DEVICES = [
    { name: 'R1', nodeLabel: 'R1', protocol: 'ssh', username: 'cisco', password: 's3cret-pw' },
    { name: 'R2', protocol: 'telnet' },
  ];
  const leaks = (reply: unknown) => /s3cret-pw|"username"|"password"/.test(JSON.stringify(reply));

  it('no reply of any role carries a username or password; the table keeps them for LDS', async () => {
    const d = await created({ devices: DEVICES });
    expect(d.devices).toEqual([
      { name: 'R1', nodeLabel: 'R1', protocol: 'ssh' },
      { name: 'R2', protocol: 'telnet' },
    ]);
    const next = await api('updateDefinition', { params: { id: d.id }, body: { description: 'v2' } });
    expect(next.status).toBe(200);
    expect(leaks(next.body)).toBe(false);
    for (const role of ['admin', 'operator', 'portal', 'viewer'] as const) {
      const replies = [
        await api('getDefinition', { params: { id: d.id }, role }),
        await api('getDefinitionVersion', { params: { id: d.id, version: '1' }, role }),
        await api('listDefinitionVersions', { params: { id: d.id }, role }),
        await api('listDefinitions', { query: { limit: '100' }, role }),
      ];
      for (const reply of replies) {
        expect(reply.status, role).toBe(200);
        expect(leaks(reply.body), role).toBe(false);
      }
    }
    // A new version that leaves devices out keeps them, credentials included.
    const stored = await apiStores().definitions.getLatest(d.id);
    expect(stored.version).toBe(2);
    expect(stored.devices[0]).toMatchObject({ username: 'cisco', password: 's3cret-pw' });
    const deprecated = await api('deprecateDefinition', { params: { id: d.id } });
    expect(leaks(deprecated.body)).toBe(false);
  });
});

describe('GET /v1/definitions/{id}[/versions[/{version}]]', () => {
  it('returns 404 for an unknown definition or version, 400 for a malformed version', async () => {
    const def = await created();
    const none = await api('getDefinition', { params: { id: 'no-such-def' } });
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('NOT_FOUND');
    expect((await api('listDefinitionVersions', { params: { id: 'no-such-def' } })).status).toBe(404);
    expect((await api('getDefinitionVersion', { params: { id: def.id, version: '2' } })).status).toBe(404);
    expect((await api('getDefinitionVersion', { params: { id: 'no-such-def', version: '1' } })).status).toBe(
      404,
    );
    const zero = await api('getDefinitionVersion', { params: { id: def.id, version: '0' } });
    expect(zero.status).toBe(400);
    expect(zero.body.errors).toEqual([expect.objectContaining({ path: 'version', in: 'path' })]);
    const word = await api('getDefinitionVersion', { params: { id: def.id, version: 'latest' } });
    expect(word.status).toBe(400);
    expect(word.body.errors[0].path).toBe('version');
    const badId = await api('getDefinition', { params: { id: 'bad id with spaces' } });
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0]).toMatchObject({ path: 'id', in: 'path' });
  });
});

describe('PUT /v1/definitions/{id}', () => {
  it('writes the next version and leaves older versions exactly as they were', async () => {
    const v1 = await created({
      topologyYaml: PATTY,
      portTemplate: undefined,
      resourceRequirements: undefined,
    });
    const res = await api('updateDefinition', {
      params: { id: v1.id },
      body: { description: 'second cut', maxDurationMinutes: 45 },
      sub: 'op-bob',
    });
    expect(res.status).toBe(200);
    const v2 = res.body;
    expect(v2).toMatchObject({
      id: v1.id,
      version: 2,
      status: 'ACTIVE',
      description: 'second cut',
      maxDurationMinutes: 45,
      createdBy: 'op-bob',
      // Unchanged fields carry over, topology-derived ones included.
      name: v1.name,
      topology: v1.topology,
      contentHash: v1.contentHash,
      portTemplate: v1.portTemplate,
      resourceRequirements: v1.resourceRequirements,
    });

    expect((await api('getDefinitionVersion', { params: { id: v1.id, version: '1' } })).body).toEqual(v1);
    expect((await api('getDefinitionVersion', { params: { id: v1.id, version: '2' } })).body).toEqual(v2);
    expect((await api('getDefinition', { params: { id: v1.id } })).body).toEqual(v2);
    const withTopology = await api('getDefinition', {
      params: { id: v1.id },
      query: { include: 'topology' },
    });
    expect(withTopology.body).toEqual({ ...v2, topologyYaml: PATTY });
    const versions = await api('listDefinitionVersions', { params: { id: v1.id } });
    expect(versions.status).toBe(200);
    expect(versions.body.items).toEqual([v1, v2]);
    expect(versions.body.nextCursor).toBeUndefined();
  });

  it('re-derives port template, resources and hash from a new topology', async () => {
    const v1 = await created({ resourceRequirements: REQUIREMENTS });
    expect(v1.portTemplate).toEqual([]);
    const v2 = (await api('updateDefinition', { params: { id: v1.id }, body: { topologyYaml: PATTY } })).body;
    expect(v2.version).toBe(2);
    expect(v2.portTemplate).toHaveLength(12);
    expect(v2.resourceRequirements).toEqual({ cpuCores: 3, memoryGb: 4.5, storageGb: 5, nodeCount: 2 });
    expect(v2.contentHash).toMatch(/^sha256:/);
    const v1Again = (await api('getDefinitionVersion', { params: { id: v1.id, version: '1' } })).body;
    expect(v1Again).toEqual(v1);

    const invalid = await api('updateDefinition', {
      params: { id: v1.id },
      body: { topologyYaml: DANGLING },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('TOPOLOGY_INVALID');
    expect((await api('getDefinition', { params: { id: v1.id } })).body.version).toBe(2);
  });

  it('409 on a stale expectedVersion; of concurrent updates from one version exactly one wins', async () => {
    const v1 = await created();
    const ok = await api('updateDefinition', {
      params: { id: v1.id },
      body: { name: 'v2', expectedVersion: 1 },
    });
    expect(ok.status).toBe(200);
    const stale = await api('updateDefinition', {
      params: { id: v1.id },
      body: { name: 'stale', expectedVersion: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('VERSION_CONFLICT');
    expect(stale.body.detail).toMatch(/latest version is 2, expected 1/);

    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api('updateDefinition', { params: { id: v1.id }, body: { name: `racer ${i}`, expectedVersion: 2 } }),
      ),
    );
    expect(racers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(racers.filter((r) => r.status === 409)).toHaveLength(5);
    const versions = (await api('listDefinitionVersions', { params: { id: v1.id } })).body.items;
    expect(versions.map((v: LabletDefinition) => v.version)).toEqual([1, 2, 3]);
    expect(versions[1].name).toBe('v2');
  });

  it('without expectedVersion, concurrent updates all land as successive versions', async () => {
    const v1 = await created();
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        api('updateDefinition', { params: { id: v1.id }, body: { description: `change ${i}` } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.map((r) => r.body.version).sort()).toEqual([2, 3, 4, 5]);
  });

  it('400 for an empty or invalid change, 404 for an unknown definition', async () => {
    const v1 = await created();
    const empty = await api('updateDefinition', { params: { id: v1.id }, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([{ path: 'body', message: 'names no field to change' }]);
    const onlyVersion = await api('updateDefinition', {
      params: { id: v1.id },
      body: { expectedVersion: 1 },
    });
    expect(onlyVersion.status).toBe(400);
    const bad = await api('updateDefinition', {
      params: { id: v1.id },
      body: { maxDurationMinutes: 'long', licenseAffinity: ['GOLD'], status: 'ARCHIVED' },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: FieldError) => e.path);
    expect(paths).toContain('maxDurationMinutes');
    expect(paths).toContain('licenseAffinity[0]');
    expect(bad.body.errors.some((e: FieldError) => /status/.test(e.message))).toBe(true);
    const missing = await api('updateDefinition', { params: { id: 'no-such-def' }, body: { name: 'x' } });
    expect(missing.status).toBe(404);
    expect((await api('listDefinitionVersions', { params: { id: v1.id } })).body.items).toHaveLength(1);
  });
});

describe('POST /v1/definitions/{id}/deprecate and /archive', () => {
  it('ACTIVE → DEPRECATED → ARCHIVED; repeating is a no-op; ARCHIVED is final', async () => {
    const v1 = await created();
    const v2 = (await api('updateDefinition', { params: { id: v1.id }, body: { name: 'second' } })).body;

    const dep = await api('deprecateDefinition', { params: { id: v1.id } });
    expect(dep.status).toBe(200);
    expect(dep.body).toEqual({ ...v2, status: 'DEPRECATED' });
    expect((await api('deprecateDefinition', { params: { id: v1.id } })).body).toEqual(dep.body);
    // The superseded version keeps the status it had.
    expect((await api('getDefinitionVersion', { params: { id: v1.id, version: '1' } })).body).toEqual(v1);
    expect((await api('getDefinitionVersion', { params: { id: v1.id, version: '2' } })).body.status).toBe(
      'DEPRECATED',
    );

    const arch = await api('archiveDefinition', { params: { id: v1.id } });
    expect(arch.status).toBe(200);
    expect(arch.body).toEqual({ ...v2, status: 'ARCHIVED' });
    expect((await api('archiveDefinition', { params: { id: v1.id } })).status).toBe(200);

    const back = await api('deprecateDefinition', { params: { id: v1.id } });
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(back.body.detail).toMatch(/ARCHIVED to DEPRECATED/);
    const change = await api('updateDefinition', { params: { id: v1.id }, body: { name: 'revived' } });
    expect(change.status).toBe(409);
    expect((await api('getDefinition', { params: { id: v1.id } })).body).toEqual(arch.body);
  });

  it('archives an ACTIVE definition directly; 404 for unknown ones; needs definitions:write', async () => {
    const def = await created();
    expect((await api('archiveDefinition', { params: { id: def.id } })).body.status).toBe('ARCHIVED');
    expect((await api('archiveDefinition', { params: { id: 'no-such-def' } })).status).toBe(404);
    expect((await api('deprecateDefinition', { params: { id: 'no-such-def' } })).status).toBe(404);
    expect((await api('deprecateDefinition', { params: { id: def.id }, role: 'viewer' })).status).toBe(403);
  });
});

describe('GET /v1/definitions', () => {
  it('pages through the latest versions with a cursor and filters by status', async () => {
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await created({ id: `list-${i}` }));
    await api('updateDefinition', { params: { id: 'list-0' }, body: { name: 'list-0 v2' } });
    await api('deprecateDefinition', { params: { id: 'list-1' } });
    await api('deprecateDefinition', { params: { id: 'list-3' } });
    await api('archiveDefinition', { params: { id: 'list-4' } });

    const { items, pages } = await allPages('listDefinitions', {}, 2);
    expect(pages).toBeGreaterThan(2);
    const ids = items.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids); // ordered by id
    const byId = new Map(items.map((d) => [d.id, d]));
    expect(mine.every((d) => byId.has(d.id))).toBe(true);
    expect(byId.get('list-0')).toMatchObject({ version: 2, name: 'list-0 v2' }); // latest only

    const deprecated = await allPages('listDefinitions', { status: 'DEPRECATED' }, 1);
    expect(deprecated.items.every((d) => d.status === 'DEPRECATED')).toBe(true);
    expect(deprecated.items.map((d) => d.id).filter((id) => id.startsWith('list-'))).toEqual([
      'list-1',
      'list-3',
    ]);
    const archived = await allPages('listDefinitions', { status: 'ARCHIVED' }, 25);
    expect(archived.items.map((d) => d.id)).toContain('list-4');
    expect(archived.items.every((d) => d.status === 'ARCHIVED')).toBe(true);
    const active = await allPages('listDefinitions', { status: 'ACTIVE' }, 3);
    expect(active.items.map((d) => d.id).filter((id) => id.startsWith('list-'))).toEqual([
      'list-0',
      'list-2',
    ]);
  });

  it('400 for a bad status, limit or cursor', async () => {
    const status = await api('listDefinitions', { query: { status: 'RETIRED' } });
    expect(status.status).toBe(400);
    expect(status.body.errors[0]).toMatchObject({ path: 'status', in: 'query' });
    const limit = await api('listDefinitions', { query: { limit: '0' } });
    expect(limit.status).toBe(400);
    expect(limit.body.errors[0].path).toBe('limit');
    expect((await api('listDefinitions', { query: { limit: '101' } })).status).toBe(400);
    const cursor = await api('listDefinitions', { query: { cursor: 'not-a-cursor!' } });
    expect(cursor.status).toBe(400);
    expect(cursor.body.errors[0].path).toBe('cursor');
  });
});
