import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ApiGateway,
  type Authenticate,
  LOCAL_BUCKET_PATH,
  startApiGateway,
} from '@lcm/sandbox/http-gateway';
import {
  INLINE_TOPOLOGY_MAX_CHARS,
  TOPOLOGY_BODY_MAX_BYTES,
  topologyHash,
  topologyKey,
  UPLOAD_MAX_BYTES,
} from '@lcm/shared/catalogue';
import { ENTITY, keys, TABLE } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/definitions.ts';
import { ROUTES } from '../../../functions/api/routes.ts';
import { buildTopology } from '../../fixtures/topology-builder.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';

/**
 * Topologies of any real size (issue 11, item 1), over real HTTP through the local API gateway to
 * the definitions handler, DynamoDB Local and the sandbox bucket (a directory whose pre-signed URLs
 * the gateway serves, as the local stack does): 1 MB and 5 MB inline, 40 MB through a pre-signed
 * upload, a ~300-node lab; the item holds the hash and size, never the YAML; the YAML comes back
 * only on request, byte for byte.
 */

let t: TestTable;
let dir: string;
let gateway: ApiGateway;
const ITEM_LIMIT = 400 * 1024;

const admin: Authenticate = async (call) =>
  call.headers.authorization === 'Bearer admin'
    ? { claims: { sub: 'author-1', 'cognito:groups': ['lcm.admin'] }, scopes: [] }
    : null;

beforeAll(async () => {
  t = await createTestTable('api-topology-size');
  dir = mkdtempSync(join(tmpdir(), 'lcm-topology-size-'));
  const secret = randomBytes(16).toString('hex');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  process.env.EVIDENCE_DIR = dir;
  delete process.env.EVIDENCE_BUCKET;
  process.env.LCM_LOCAL_BUCKET_SECRET = secret;
  gateway = await startApiGateway({
    routes: ROUTES.filter((r) => r.group === 'definitions'),
    handlers: new Map([['definitions', handler]]),
    functionFor: () => ({ functionName: 'lcm-test-definitions', region: 'us-east-1', timeoutMs: 60_000 }),
    port: 0,
    authenticate: admin,
    bucket: { path: LOCAL_BUCKET_PATH, dir: () => dir, secret, maxBytes: UPLOAD_MAX_BYTES },
  });
  process.env.LCM_LOCAL_BUCKET_URL = `${gateway.url}${LOCAL_BUCKET_PATH}`;
});
afterAll(async () => {
  await gateway?.stop();
  await t?.cleanup();
  for (const v of ['EVIDENCE_DIR', 'LCM_LOCAL_BUCKET_URL', 'LCM_LOCAL_BUCKET_SECRET']) delete process.env[v];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: replies of every shape
async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      authorization: 'Bearer admin',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

const rawItem = async (id: string, sk: 'LATEST' | number) => {
  const key = sk === 'LATEST' ? keys.definitionLatest(id) : keys.definitionVersion(id, sk);
  const out = await t.client.send(new GetCommand({ TableName: t.tableName, Key: key }));
  return out.Item!;
};

/** What every stored size must show: the item with hash and size only, the object under the hash. */
async function expectStoredByHash(id: string, version: number, yaml: string) {
  const hash = topologyHash(yaml);
  for (const item of [await rawItem(id, 'LATEST'), await rawItem(id, version)]) {
    expect(item.topologyYaml).toBeUndefined();
    expect(item.topology).toEqual({ hash, sizeBytes: Buffer.byteLength(yaml) });
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(ITEM_LIMIT);
  }
  const object = join(dir, ...topologyKey(hash).split('/'));
  expect(statSync(object).size).toBe(Buffer.byteLength(yaml));
}

const createBody = (id: string, over: Record<string, unknown>) => ({
  id,
  name: `Scale lab ${id}`,
  maxDurationMinutes: 120,
  ...over,
});

describe('topologies of any real size through the API', () => {
  it('1 MB inline: stored by hash, the item holds hash and size, the YAML only with ?include=topology', async () => {
    const lab = buildTopology({ routers: 60, hosts: 120, targetBytes: 1_000_000 });
    expect(lab.bytes).toBeGreaterThanOrEqual(1_000_000);
    const res = await http('POST', '/v1/definitions', createBody('size-1mb', { topologyYaml: lab.yaml }));
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect(res.body.topologyYaml).toBeUndefined();
    expect(res.body.topology).toEqual({ hash: topologyHash(lab.yaml), sizeBytes: lab.bytes });
    expect(res.body.contentHash).toBe(topologyHash(lab.yaml));
    expect(res.body.resourceRequirements.nodeCount).toBe(lab.vmNodes);
    // A serial console per router and host, an SSH PAT per host: derived from the stored text.
    expect(res.body.portTemplate).toHaveLength(60 + 120 * 2);
    await expectStoredByHash('size-1mb', 1, lab.yaml);

    const plain = await http('GET', '/v1/definitions/size-1mb');
    expect(plain.status).toBe(200);
    expect(plain.body.topologyYaml).toBeUndefined();
    const full = await http('GET', '/v1/definitions/size-1mb?include=topology');
    expect(full.status).toBe(200);
    expect(full.body.topologyYaml).toBe(lab.yaml);
    const version = await http('GET', '/v1/definitions/size-1mb/versions/1?include=topology');
    expect(version.body.topologyYaml).toBe(lab.yaml);
    const list = await http('GET', '/v1/definitions?limit=100');
    const listed = list.body.items.find((d: { id: string }) => d.id === 'size-1mb');
    expect(listed.topology.hash).toBe(topologyHash(lab.yaml));
    expect(listed.topologyYaml).toBeUndefined();
    const bad = await http('GET', '/v1/definitions/size-1mb?include=everything');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('include');
  });

  it('5 MB inline through the 6 MiB body limit; a body over it is a 413, inline YAML over 5.5 MiB a 400', async () => {
    const lab = buildTopology({ routers: 150, hosts: 150, targetBytes: 5_000_000 });
    expect(lab.bytes).toBeGreaterThanOrEqual(5_000_000);
    expect(lab.bytes).toBeLessThanOrEqual(INLINE_TOPOLOGY_MAX_CHARS);
    const res = await http('POST', '/v1/definitions', createBody('size-5mb', { topologyYaml: lab.yaml }));
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect(res.body.resourceRequirements.nodeCount).toBe(300);
    await expectStoredByHash('size-5mb', 1, lab.yaml);
    const full = await http('GET', '/v1/definitions/size-5mb?include=topology');
    expect(full.body.topologyYaml).toBe(lab.yaml);

    // The same text again (a new version): the same object, content addressed.
    const again = await http('PUT', '/v1/definitions/size-5mb', {
      topologyYaml: lab.yaml,
      description: 'same lab',
    });
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(2);
    expect(again.body.topology.hash).toBe(res.body.topology.hash);

    const over = `{"name":"x","maxDurationMinutes":5,"topologyYaml":"${'a'.repeat(TOPOLOGY_BODY_MAX_BYTES)}"}`;
    expect((await http('POST', '/v1/definitions', over)).status).toBe(413);
    const tooLong = await http(
      'POST',
      '/v1/definitions',
      createBody('size-too-long', { topologyYaml: `# ${'x'.repeat(INLINE_TOPOLOGY_MAX_CHARS)}` }),
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors.map((e: { path: string }) => e.path)).toContain('topologyYaml');
  });

  it('40 MB through a pre-signed upload: POST /v1/uploads, PUT, then a definition naming the upload', async () => {
    const lab = buildTopology({ routers: 150, hosts: 150, targetBytes: 40_000_000 });
    expect(lab.bytes).toBeGreaterThanOrEqual(40_000_000);
    const upload = await http('POST', '/v1/uploads', { sizeBytes: lab.bytes });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({
      uploadId: expect.stringMatching(/^up-[0-9a-f]{32}$/),
      method: 'PUT',
    });
    expect(upload.body.maxBytes).toBe(UPLOAD_MAX_BYTES);
    expect(Date.parse(upload.body.expiresAt)).toBeGreaterThan(Date.now());

    // Signed for that size: another Content-Length is refused; no token is needed, only the URL.
    const wrongSize = await fetch(upload.body.url, { method: 'PUT', body: 'lab: {}\n' });
    expect(wrongSize.status).toBe(403);
    const tampered = await fetch(upload.body.url.replace(/signature=[0-9a-f]{4}/, 'signature=0000'), {
      method: 'PUT',
      body: lab.yaml,
    });
    expect(tampered.status).toBe(403);
    const put = await fetch(upload.body.url, { method: 'PUT', body: lab.yaml });
    expect(put.status).toBe(200);

    const res = await http(
      'POST',
      '/v1/definitions',
      createBody('size-40mb', { topologyUploadId: upload.body.uploadId }),
    );
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect(res.body.topology).toEqual({ hash: topologyHash(lab.yaml), sizeBytes: lab.bytes });
    expect(res.body.resourceRequirements.nodeCount).toBe(300);
    expect(res.body.topologyUploadId).toBeUndefined();
    await expectStoredByHash('size-40mb', 1, lab.yaml);

    // Too large for a reply: a pre-signed GET URL instead, serving the same bytes.
    const full = await http('GET', '/v1/definitions/size-40mb?include=topology');
    expect(full.status).toBe(200);
    expect(full.body.topologyYaml).toBeUndefined();
    const download = await fetch(full.body.topologyUrl);
    expect(download.status).toBe(200);
    expect(topologyHash(await download.text())).toBe(topologyHash(lab.yaml));
  });

  it('refuses an upload that is missing, not a topology, or given with inline YAML, naming topologyUploadId', async () => {
    const missing = await http(
      'POST',
      '/v1/definitions',
      createBody('upload-missing', { topologyUploadId: `up-${'0'.repeat(32)}` }),
    );
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].path).toBe('topologyUploadId');
    expect(missing.body.errors[0].message).toMatch(/no upload/);

    const upload = await http('POST', '/v1/uploads', {});
    expect(upload.status).toBe(201);
    expect((await fetch(upload.body.url, { method: 'PUT', body: 'nodes: [unclosed\n' })).status).toBe(200);
    const invalid = await http(
      'POST',
      '/v1/definitions',
      createBody('upload-invalid', { topologyUploadId: upload.body.uploadId }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toBe('topologyUploadId');
    expect(invalid.body.errors[0].message).toMatch(/not a valid CML topology/);

    const both = await http(
      'POST',
      '/v1/definitions',
      createBody('upload-both', { topologyUploadId: upload.body.uploadId, topologyYaml: 'lab: {}' }),
    );
    expect(both.status).toBe(400);
    expect(both.body.errors[0].path).toBe('topologyUploadId');
    const tooBig = await http('POST', '/v1/uploads', { sizeBytes: UPLOAD_MAX_BYTES + 1 });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.errors[0].path).toBe('sizeBytes');
  });

  it('stores the ~300-node scale lab (beyond the old 350,000-character limit) and reads it back', async () => {
    const lab = buildTopology({ routers: 150, hosts: 152, title: 'CML scale lab 302' });
    expect(lab.vmNodes).toBe(302);
    expect(lab.bytes).toBeGreaterThan(350_000);
    const res = await http('POST', '/v1/definitions', createBody('scale-302', { topologyYaml: lab.yaml }));
    expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBe(201);
    expect(res.body.resourceRequirements.nodeCount).toBe(302);
    await expectStoredByHash('scale-302', 1, lab.yaml);
    const full = await http('GET', '/v1/definitions/scale-302?include=topology');
    expect(full.body.topologyYaml).toBe(lab.yaml);
  });

  it('reads a definition stored before (YAML inline in the item) and moves the YAML to the bucket on the next write', async () => {
    const lab = buildTopology({ routers: 3, hosts: 4, title: 'Inline legacy lab' });
    const old = {
      id: 'legacy-inline',
      version: 1,
      name: 'Legacy inline',
      status: 'ACTIVE',
      topologyYaml: lab.yaml,
      contentHash: topologyHash(lab.yaml),
      resourceRequirements: { cpuCores: 7, memoryGb: 15.5, storageGb: 19, nodeCount: 7 },
      licenseAffinity: [],
      podType: 'CML_ON_AWS',
      portTemplate: [],
      devices: [],
      maxDurationMinutes: 60,
      warmPoolDepth: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'before-issue-11',
    };
    for (const item of [
      { ...keys.definitionVersion(old.id, 1), [TABLE.entityAttribute]: ENTITY.definitionVersion, ...old },
      {
        ...keys.definitionLatest(old.id),
        ...keys.definitionListing(old.id),
        [TABLE.entityAttribute]: ENTITY.definitionLatest,
        ...old,
      },
    ]) {
      await t.client.send(new PutCommand({ TableName: t.tableName, Item: item }));
    }
    const hashPath = join(dir, ...topologyKey(topologyHash(lab.yaml)).split('/'));
    expect(existsSync(hashPath)).toBe(false);
    const read = await http('GET', '/v1/definitions/legacy-inline?include=topology');
    expect(read.status).toBe(200);
    expect(read.body.topologyYaml).toBe(lab.yaml);
    expect((await http('GET', '/v1/definitions/legacy-inline')).body.topologyYaml).toBeUndefined();

    const next = await http('PUT', '/v1/definitions/legacy-inline', { description: 'moved to the bucket' });
    expect(next.status).toBe(200);
    expect(next.body.version).toBe(2);
    await expectStoredByHash('legacy-inline', 2, lab.yaml);
    expect((await rawItem('legacy-inline', 1)).topologyYaml).toBe(lab.yaml); // versions are immutable
    const after = await http('GET', '/v1/definitions/legacy-inline?include=topology');
    expect(after.body.topologyYaml).toBe(lab.yaml);
  });
});
