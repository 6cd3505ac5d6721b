import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createLocalContentStore, type LocalContentStore } from '@lcm/sandbox/content/local-store';
import { apiStores } from '@lcm/shared/app';
import { type ContentSyncDeps, runContentSync, sha256Of } from '@lcm/shared/catalogue';
import { definitionSyncEvents, matchesAnyPattern, TRIGGERS_CONSUMER } from '@lcm/shared/events';
import { keys } from '@lcm/shared/platform';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { triggersHandler } from '../../../functions/streams/triggers.ts';
import { type CallOptions, call, lambdaContext } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { HOSTILE, TOPOLOGY, zipOf } from '../../unit/content/packages.ts';

/**
 * Content sync end to end on DynamoDB Local: the API records the request (create with a
 * contentUri, POST /sync), the stream record of the LATEST item — built from the item really
 * stored and checked against the consumer's filter — goes through the triggers handler, which
 * syncs from the sandbox's folder-backed lcm-content bucket.
 */

let t: TestTable;
let dir: string;
let bucket: LocalContentStore;
beforeAll(async () => {
  t = await createTestTable('content-sync');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  dir = mkdtempSync(join(tmpdir(), 'lcm-content-sync-'));
  bucket = createLocalContentStore(dir);
});
afterAll(async () => {
  await t?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const deps = (): ContentSyncDeps => ({ definitions: apiStores().definitions, content: bucket });
const triggers = triggersHandler({ contentSync: deps });
const api = (operationId: string, opts: CallOptions = {}) =>
  call(definitionsHandler, operationId, { role: 'admin', ...opts });

let seq = 0;
/** Feeds the LATEST item of a definition, as the stream would, through the triggers consumer. */
async function streamLatest(id: string, eventName: 'INSERT' | 'MODIFY' = 'MODIFY') {
  const out = await t.client.send(
    new GetCommand({ TableName: t.tableName, Key: keys.definitionLatest(id), ConsistentRead: true }),
  );
  const record = {
    eventID: String(++seq),
    eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${t.tableName}/stream/x`,
    dynamodb: {
      Keys: marshall(keys.definitionLatest(id)),
      NewImage: marshall(out.Item!, { removeUndefinedValues: true }),
      SequenceNumber: String(seq).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
  const delivered = matchesAnyPattern(TRIGGERS_CONSUMER.filters, record);
  const result = delivered
    ? await triggers({ Records: [record] } as unknown as DynamoDBStreamEvent, lambdaContext())
    : undefined;
  return { delivered, result };
}

async function createFromPackage(id: string, file: string, over: Record<string, unknown> = {}) {
  const res = await api('createDefinition', {
    body: { id, name: id, contentUri: bucket.uriOf(file), maxDurationMinutes: 90, ...over },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const versionsOf = async (id: string) => (await api('listDefinitionVersions', { params: { id } })).body.items;

describe('the shipped sample packages', () => {
  it('cml-patty-lab.zip: creation with a contentUri syncs into version 2', async () => {
    const created = await createFromPackage('patty', 'cml-patty-lab.zip');
    expect(created).toMatchObject({
      version: 1,
      contentUri: 's3://lcm-content/cml-patty-lab.zip',
      sync: { status: 'PENDING' },
      resourceRequirements: { cpuCores: 0, memoryGb: 0, storageGb: 0, nodeCount: 0 },
    });

    const { delivered, result } = await streamLatest('patty', 'INSERT');
    expect(delivered).toBe(true);
    expect(result).toEqual({ batchItemFailures: [] });

    const def = (await api('getDefinition', { params: { id: 'patty' } })).body;
    const hash = sha256Of(readFileSync(join(dir, 'cml-patty-lab.zip')));
    expect(def).toMatchObject({
      version: 2,
      createdBy: 'content-sync',
      podType: 'CML_ON_AWS',
      contentHash: hash,
      formQualifiedName: 'SAMPLE-PATTY-1.0-LAB-1',
      gradingRulesRef: 's3://lcm-content/cml-patty-lab.zip#grade.xml',
      resourceRequirements: { cpuCores: 3, memoryGb: 3, storageGb: 6, nodeCount: 3 },
      sync: { status: 'SUCCEEDED', contentHash: hash },
    });
    const withTopology = await api('getDefinition', {
      params: { id: 'patty' },
      query: { include: 'topology' },
    });
    expect(withTopology.body.topologyYaml).toContain('serial:5041');
    expect(def.topology.sizeBytes).toBe(Buffer.byteLength(withTopology.body.topologyYaml));
    expect(def.portTemplate.map((p: { name: string }) => p.name)).toEqual([
      'R1_serial',
      'R1_ssh',
      'R2_serial',
      'PC_vnc',
      'PC_serial',
    ]);
    expect(def.devices.map((d: { name: string }) => d.name)).toEqual(['R1', 'R1 (ssh)', 'R2', 'Desktop']);

    // Version 1 keeps its content; its sync state records what superseded it.
    const v1 = (await api('getDefinitionVersion', { params: { id: 'patty', version: '1' } })).body;
    expect(v1.topologyYaml).toBeUndefined();
    expect(v1.resourceRequirements.nodeCount).toBe(0);
    expect(v1.sync).toMatchObject({
      status: 'SUCCEEDED',
      diagnostic: 'new content: superseded by version 2',
    });

    // The new LATEST has sync SUCCEEDED: the stream does not start another sync.
    expect((await streamLatest('patty')).delivered).toBe(false);
  });

  it('pav1-ospf-lab.zip: manifest package, topology and devices under PAv1/, grading directory', async () => {
    await createFromPackage('ospf', 'pav1-ospf-lab.zip');
    await streamLatest('ospf', 'INSERT');
    const def = (await api('getDefinition', { params: { id: 'ospf' } })).body;
    expect(def).toMatchObject({
      version: 2,
      podType: 'CML_ON_AWS',
      formQualifiedName: 'SAMPLE-OSPF-1.0-LAB-2',
      gradingRulesRef: 's3://lcm-content/pav1-ospf-lab.zip#PAv1/grading/',
      resourceRequirements: { cpuCores: 3, memoryGb: 1.5, storageGb: 3, nodeCount: 3 },
      sync: { status: 'SUCCEEDED' },
    });
    expect(def.devices).toHaveLength(4);
    expect(def.portTemplate).toHaveLength(4);
  });
});

describe('POST /v1/definitions/{id}/sync', () => {
  it('an unchanged hash is a recorded no-op: no new version', async () => {
    await createFromPackage('same', 'cml-patty-lab.zip');
    await streamLatest('same', 'INSERT');
    const before = (await api('getDefinition', { params: { id: 'same' } })).body;

    const res = await api('syncDefinitionContent', { params: { id: 'same' } });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe('/v1/definitions/same');
    expect(res.body.outcome).toBe('requested');
    expect(res.body.definition.sync).toEqual({ status: 'PENDING', at: expect.any(String) });

    // Asking again while it is pending changes nothing.
    const again = await api('syncDefinitionContent', { params: { id: 'same' } });
    expect(again.body.outcome).toBe('already-requested');
    expect(again.body.definition.sync).toEqual(res.body.definition.sync);

    await streamLatest('same');
    const after = (await api('getDefinition', { params: { id: 'same' } })).body;
    expect(after.version).toBe(before.version);
    expect(after.sync).toMatchObject({
      status: 'SUCCEEDED',
      contentHash: before.contentHash,
      diagnostic: 'unchanged: version 2 already has this content',
    });
    expect(await versionsOf('same')).toHaveLength(2);
  });

  it('new bytes at the same URI make a new version; a redelivered record does nothing more', async () => {
    writeFileSync(join(dir, 'editable.zip'), zipOf({ 'cml.yaml': TOPOLOGY }));
    await createFromPackage('editable', 'editable.zip');
    await streamLatest('editable', 'INSERT');
    expect((await api('getDefinition', { params: { id: 'editable' } })).body.portTemplate).toHaveLength(3);

    writeFileSync(
      join(dir, 'editable.zip'),
      zipOf({ 'cml.yaml': TOPOLOGY.replace('serial:5002', 'serial:5002, vnc:5003') }),
    );
    await api('syncDefinitionContent', { params: { id: 'editable' } });
    const direct = await runContentSync(deps(), 'editable');
    expect(direct).toMatchObject({ outcome: 'created', previousVersion: 2 });
    expect(direct.definition.version).toBe(3);
    expect(direct.definition.portTemplate.map((p) => p.name)).toContain('R2_vnc');
    // The same stream record again (at-least-once delivery): the request was consumed.
    expect(await runContentSync(deps(), 'editable')).toMatchObject({
      outcome: 'skipped',
      reason: 'sync is SUCCEEDED',
    });
    expect(await versionsOf('editable')).toHaveLength(3);
  });

  it('a definition without a contentUri → 409; unknown → 404; archived → 409; viewer/operator → 403', async () => {
    const plain = await api('createDefinition', {
      body: {
        id: 'plain',
        name: 'plain',
        resourceRequirements: { cpuCores: 1, memoryGb: 1, storageGb: 1, nodeCount: 1 },
        maxDurationMinutes: 60,
      },
    });
    expect(plain.status).toBe(201);
    expect(plain.body.sync).toBeUndefined();
    const noUri = await api('syncDefinitionContent', { params: { id: 'plain' } });
    expect(noUri.status).toBe(409);
    expect(noUri.body.detail).toBe('definition plain has no contentUri to sync from');
    expect((await api('syncDefinitionContent', { params: { id: 'nope' } })).status).toBe(404);

    await createFromPackage('archived', 'cml-patty-lab.zip');
    await streamLatest('archived', 'INSERT');
    await api('archiveDefinition', { params: { id: 'archived' } });
    expect((await api('syncDefinitionContent', { params: { id: 'archived' } })).status).toBe(409);

    for (const role of ['viewer', 'operator', 'portal'] as const) {
      expect((await api('syncDefinitionContent', { params: { id: 'plain' }, role })).status).toBe(403);
    }
  });

  it('refuses a contentUri that is not s3://<bucket>/<key> at creation (400)', async () => {
    const res = await api('createDefinition', {
      body: { id: 'bad-uri', name: 'bad', contentUri: 'https://example.com/x.zip', maxDurationMinutes: 60 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'contentUri', message: 'must be s3://<bucket>/<key>, got https://example.com/x.zip' },
    ]);
  });

  it('changing the contentUri through an update requests a sync of the new version', async () => {
    await createFromPackage('moved', 'cml-patty-lab.zip');
    await streamLatest('moved', 'INSERT');
    const res = await api('updateDefinition', {
      params: { id: 'moved' },
      body: { contentUri: bucket.uriOf('pav1-ospf-lab.zip') },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 3, sync: { status: 'PENDING' } });
    await streamLatest('moved');
    const def = (await api('getDefinition', { params: { id: 'moved' } })).body;
    expect(def).toMatchObject({
      version: 4,
      formQualifiedName: 'SAMPLE-OSPF-1.0-LAB-2',
      sync: { status: 'SUCCEEDED' },
    });
  });
});

describe('hostile and broken packages fail cleanly and change nothing', () => {
  it.each(HOSTILE.map((h) => [h.name, h] as const))('%s', async (_name, h) => {
    const id = `hostile-${HOSTILE.indexOf(h)}`;
    // A good version first, so "nothing changed" is about real content.
    writeFileSync(join(dir, `${id}.zip`), zipOf({ 'cml.yaml': TOPOLOGY }));
    await createFromPackage(id, `${id}.zip`);
    await streamLatest(id, 'INSERT');
    const good = (await api('getDefinition', { params: { id } })).body;
    expect(good.version).toBe(2);

    const bytes = h.bytes();
    writeFileSync(join(dir, `${id}.zip`), bytes);
    expect((await api('syncDefinitionContent', { params: { id } })).status).toBe(202);
    const { result } = await streamLatest(id);
    expect(result).toEqual({ batchItemFailures: [] }); // a bad package is an outcome, not a retry

    const after = (await api('getDefinition', { params: { id } })).body;
    expect(after.sync).toEqual({
      status: 'FAILED',
      at: expect.any(String),
      contentHash: sha256Of(bytes),
      diagnostic: expect.stringMatching(
        new RegExp(`^${h.problem} ${h.file.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}: `),
      ),
    });
    expect(after.sync.diagnostic).toMatch(h.reason);
    const { sync: _a, ...contentAfter } = after;
    const { sync: _b, ...contentBefore } = good;
    expect(contentAfter).toEqual(contentBefore);
    expect(await versionsOf(id)).toHaveLength(2);

    // The failure is a sync-failed CloudEvent (from the LATEST item's change).
    const [event] = definitionSyncEvents({
      eventName: 'MODIFY',
      oldImage: { ...good, entity: 'LabletDefinition', sync: { status: 'SYNCING', at: 'x' } },
      newImage: { ...after, entity: 'LabletDefinition' },
    });
    expect(event?.data).toMatchObject({ definitionId: id, version: 2, diagnostic: after.sync.diagnostic });
  });

  it('a package that is not in the bucket fails with UNREADABLE', async () => {
    await createFromPackage('missing', 'no-such-file.zip');
    await streamLatest('missing', 'INSERT');
    const def = (await api('getDefinition', { params: { id: 'missing' } })).body;
    expect(def.version).toBe(1);
    expect(def.sync).toMatchObject({
      status: 'FAILED',
      diagnostic:
        'UNREADABLE (package): no object at s3://lcm-content/no-such-file.zip (looked for ' +
        `${join(dir, 'no-such-file.zip')})`,
    });
    expect(def.sync.contentHash).toBeUndefined();
  });

  it('a stale SYNCING claim can be taken over by a new request; a fresh one cannot', async () => {
    await createFromPackage('stuck', 'cml-patty-lab.zip');
    const latest = await apiStores().definitions.getLatest('stuck');
    const long = new Date(Date.now() - 60 * 60_000).toISOString();
    await apiStores().definitions.setSync('stuck', { status: 'SYNCING', at: long }, latest.version);
    expect((await api('syncDefinitionContent', { params: { id: 'stuck' } })).body.outcome).toBe('requested');
    const fresh = await apiStores().definitions.getLatest('stuck');
    await apiStores().definitions.setSync(
      'stuck',
      { status: 'SYNCING', at: new Date().toISOString() },
      fresh.version,
    );
    expect((await api('syncDefinitionContent', { params: { id: 'stuck' } })).body.outcome).toBe(
      'already-requested',
    );
  });
});
