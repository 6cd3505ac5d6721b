import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDefinitionStore } from '@lcm/shared/catalogue';
import { DynamoWorkerTemplateStore } from '@lcm/shared/fleet';
import { DuplicateError, NotFoundError, ValidationError, VersionConflictError } from '@lcm/shared/kernel';
import { keys } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { allPages, newDefinition, newTemplate, steppingClock } from './builders.ts';

/** Content of a next version (no id: the store keeps prev's). */
const content = (over: Parameters<typeof newDefinition>[0] = {}) => {
  const { id: _id, ...rest } = newDefinition(over);
  return rest;
};

let t: TestTable;
let templates: DynamoWorkerTemplateStore;
let definitions: DynamoDefinitionStore;

beforeAll(async () => {
  t = await createTestTable('tpl-def');
  const cfg = { client: t.client, tableName: t.tableName, clock: steppingClock() };
  templates = new DynamoWorkerTemplateStore(cfg);
  definitions = new DynamoDefinitionStore(cfg);
});
afterAll(async () => {
  await t.cleanup();
});

describe('WorkerTemplateStore (access pattern 2)', () => {
  it('creates with defaults, gets by name, lists all, refuses duplicates', async () => {
    const a = await templates.create(newTemplate({ name: 'tpl-a' }));
    expect(a).toMatchObject({
      podType: 'CML_ON_AWS',
      bootMinutes: 15,
      portRange: { start: 2000, end: 7999 },
    });
    await templates.create(newTemplate({ name: 'tpl-b' }));
    await templates.create(newTemplate({ name: 'tpl-c' }));
    expect(await templates.get('tpl-b')).toMatchObject({ name: 'tpl-b', version: 1 });
    const all = await allPages((cursor) => templates.list({ limit: 2, cursor }), 2);
    expect(all.items.map((x) => x.name)).toEqual(['tpl-a', 'tpl-b', 'tpl-c']);
    await expect(templates.create(newTemplate({ name: 'tpl-a' }))).rejects.toBeInstanceOf(DuplicateError);
    await expect(templates.get('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('updates under the version and deletes', async () => {
    const x = await templates.create(newTemplate({ name: 'tpl-upd' }));
    const y = await templates.update('tpl-upd', { enabled: false, costPerHourUsd: 1.5 }, x.version);
    expect(y).toMatchObject({ enabled: false, costPerHourUsd: 1.5, version: x.version + 1 });
    await expect(templates.update('tpl-upd', { enabled: true }, x.version)).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await expect(templates.update('tpl-upd', { bootMinutes: 0 }, y.version)).rejects.toMatchObject({
      field: 'bootMinutes',
    });
    await expect(templates.delete('tpl-upd', x.version)).rejects.toBeInstanceOf(VersionConflictError);
    await templates.delete('tpl-upd', y.version);
    await expect(templates.get('tpl-upd')).rejects.toBeInstanceOf(NotFoundError);
    await expect(templates.delete('tpl-upd')).rejects.toBeInstanceOf(NotFoundError);
    expect((await templates.list()).items.map((i) => i.name)).not.toContain('tpl-upd');
  });
});

describe('DefinitionStore (access pattern 3)', () => {
  it('creates v1 and its LATEST copy in one transaction; duplicates are refused', async () => {
    const d = await definitions.create(newDefinition({ id: 'def-a' }));
    expect(d.version).toBe(1);
    const latest = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: keys.definitionLatest('def-a') }),
    );
    const v1 = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: keys.definitionVersion('def-a', 1) }),
    );
    expect(latest.Item).toMatchObject({
      SK: 'LATEST',
      GSI2PK: 'TYPE#LabletDefinition',
      entity: 'LabletDefinition',
    });
    expect(v1.Item).toMatchObject({ SK: 'V#00000001', entity: 'LabletDefinitionVersion', version: 1 });
    expect(v1.Item).not.toHaveProperty('GSI2PK');
    await expect(definitions.create(newDefinition({ id: 'def-a' }))).rejects.toBeInstanceOf(DuplicateError);
  });

  it('reads latest, a given version, all versions, and all definitions', async () => {
    const v1 = await definitions.create(newDefinition({ id: 'def-b', name: 'B' }));
    const v2 = await definitions.putNewVersion(v1, content({ name: 'B v2' }));
    const v3 = await definitions.putNewVersion(v2, content({ name: 'B v3', warmPoolDepth: 2 }));
    expect(v3).toMatchObject({ id: 'def-b', version: 3, name: 'B v3', warmPoolDepth: 2 });
    expect(await definitions.getLatest('def-b')).toEqual(v3);
    expect(await definitions.getVersion('def-b', 2)).toEqual(v2);
    expect(await definitions.getVersion('def-b', 1)).toEqual(v1);
    await expect(definitions.getVersion('def-b', 4)).rejects.toBeInstanceOf(NotFoundError);
    await expect(definitions.getVersion('def-b', 0)).rejects.toBeInstanceOf(ValidationError);

    const versions = await allPages((cursor) => definitions.listVersions('def-b', { limit: 2, cursor }), 2);
    expect(versions.items.map((v) => v.version)).toEqual([1, 2, 3]);
    const newest = await definitions.listVersions('def-b', { newestFirst: true });
    expect(newest.items.map((v) => v.version)).toEqual([3, 2, 1]);

    await definitions.create(newDefinition({ id: 'def-c' }));
    const all = await allPages((cursor) => definitions.listLatest({ limit: 1, cursor }), 1);
    const byId = new Map(all.items.map((d) => [d.id, d.version]));
    expect(byId.get('def-b')).toBe(3);
    expect(byId.get('def-c')).toBe(1);
    expect(all.items.filter((d) => d.id === 'def-b')).toHaveLength(1);
  });

  it('refuses a next version that does not follow prev', async () => {
    const v1 = await definitions.create(newDefinition({ id: 'def-seq' }));
    await expect(definitions.putNewVersion(v1, { ...content(), version: 5 })).rejects.toMatchObject({
      field: 'version',
    });
    await expect(definitions.putNewVersion(v1, { ...content(), id: 'other' })).rejects.toMatchObject({
      field: 'id',
    });
    // A stale prev loses: v2 exists already.
    await definitions.putNewVersion(v1, content());
    await expect(definitions.putNewVersion(v1, content())).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('of 10 concurrent new versions from the same prev exactly one wins', async () => {
    const v1 = await definitions.create(newDefinition({ id: 'def-race' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => definitions.putNewVersion(v1, content({ name: `n${i}` }))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionConflictError);
    const latest = await definitions.getLatest('def-race');
    expect(latest.version).toBe(2);
    expect(latest.name).toBe((won[0] as PromiseFulfilledResult<{ name: string }>).value.name);
    expect((await definitions.listVersions('def-race')).items.map((v) => v.version)).toEqual([1, 2]);
  });

  it('setStatus changes LATEST and the version it copies together, older versions keep theirs', async () => {
    const v1 = await definitions.create(newDefinition({ id: 'def-st' }));
    const v2 = await definitions.putNewVersion(v1, content());
    const deprecated = await definitions.setStatus('def-st', 'DEPRECATED', v2.version, {
      expectedStatus: 'ACTIVE',
    });
    expect(deprecated).toMatchObject({ version: 2, status: 'DEPRECATED' });
    expect((await definitions.getVersion('def-st', 2)).status).toBe('DEPRECATED');
    expect((await definitions.getVersion('def-st', 1)).status).toBe('ACTIVE');
    // Stale version or status: nothing written.
    await expect(definitions.setStatus('def-st', 'ARCHIVED', 1)).rejects.toBeInstanceOf(VersionConflictError);
    await expect(
      definitions.setStatus('def-st', 'ARCHIVED', 2, { expectedStatus: 'ACTIVE' }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect((await definitions.getVersion('def-st', 2)).status).toBe('DEPRECATED');
    await expect(definitions.setStatus('def-none', 'ARCHIVED', 1)).rejects.toBeInstanceOf(NotFoundError);
  });
});
