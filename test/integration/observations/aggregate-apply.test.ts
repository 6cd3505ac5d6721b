import { apiStores } from '@lcm/shared/app';
import { extractPortTemplate, parseTopology } from '@lcm/shared/catalogue';
import type { ResourceRequirements } from '@lcm/shared/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { type CallOptions, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { TOPOLOGY } from '../../unit/content/packages.ts';

/**
 * Learn from live, the review side: GET /v1/definitions/{id}/observations aggregates the newest
 * observed sessions over all versions; POST /apply-observed makes a new version from them.
 * Observations are stored through the session store (as the observe task does).
 */

let t: TestTable;
beforeAll(async () => {
  t = await createTestTable('observations-aggregate');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
});
afterAll(async () => {
  await t?.cleanup();
});

const api = (operationId: string, opts: CallOptions = {}) =>
  call(definitionsHandler, operationId, { role: 'admin', ...opts });

const T0 = Date.parse('2030-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const rr = (
  cpuCores: number,
  memoryGb: number,
  storageGb: number,
  nodeCount: number,
): ResourceRequirements => ({
  cpuCores,
  memoryGb,
  storageGb,
  nodeCount,
});
const DRIFT = {
  added: [{ name: 'R1_http', port: 3005 }],
  removed: [],
  changed: [],
  conflicts: [],
  hasDrift: true,
};
const NO_DRIFT = { added: [], removed: [], changed: [], conflicts: [], hasDrift: false };
/** Tags of the newest observation: R1 gained an HTTP forward, ports are the session's leases. */
const OBSERVED_NODES = [
  { label: 'R1', nodeDefinition: 'iosv', tags: ['serial:3001', 'pat:3002:22', 'pat:tcp:3005:80'] },
  { label: 'R2', nodeDefinition: 'iosv', tags: ['serial:3003'] },
];

/**
 * Definition `id` with versions 1 and 2 (v1 from TOPOLOGY) and five sessions: two of v1, two of
 * v2 (one of them observed twice), and the newest, of v2, with drift and OBSERVED_NODES.
 */
async function seed(id: string, opts: { observations?: boolean } = {}) {
  const created = await api('createDefinition', {
    body: { id, name: id, topologyYaml: TOPOLOGY, maxDurationMinutes: 120 },
  });
  expect(created.status).toBe(201);
  const v2 = await api('updateDefinition', { params: { id }, body: { maxDurationMinutes: 90 } });
  expect(v2.body.version).toBe(2);
  if (opts.observations === false) return;
  const stores = apiStores();
  const obs: Array<[string, number, number, ResourceRequirements, boolean, typeof OBSERVED_NODES?]> = [
    [`${id}-s1`, 1, 1, rr(2, 1, 2, 2), false],
    [`${id}-s2`, 1, 0.5, rr(9, 9, 9, 9), false], // s2's older observation: s2 counts once, with its newest
    [`${id}-s2`, 1, 2, rr(3, 1.5, 4, 2), true],
    [`${id}-s3`, 2, 3, rr(2.5, 2, 3, 2), false],
    [`${id}-s4`, 2, 4, rr(4, 2.5, 5, 3), true, OBSERVED_NODES],
  ];
  for (const [sessionId, version] of new Map(obs.map(([s, v]) => [s, v]))) {
    await stores.sessions.create({
      id: sessionId,
      definitionId: id,
      definitionVersion: version,
      reservationId: `r-${sessionId}`,
      owner: { userId: 'learner' },
      timeslot: { start: at(-60), end: at(60) },
      requirements: rr(1, 1, 1, 1),
    });
  }
  for (const [sessionId, version, minute, totals, drift, nodes] of obs) {
    await stores.sessions.addObservation({
      sessionId,
      definitionId: id,
      definitionVersion: version,
      workerId: 'w-1',
      observedAt: at(minute),
      observer: 'workflow:ObserveLab',
      totals,
      nodes: nodes ?? [],
      drift: drift ? DRIFT : NO_DRIFT,
    });
  }
}

const snapshot = async (id: string) => ({
  v1: (await api('getDefinitionVersion', { params: { id, version: '1' } })).body,
  v2: (await api('getDefinitionVersion', { params: { id, version: '2' } })).body,
});

describe('GET /v1/definitions/{id}/observations', () => {
  beforeAll(async () => {
    await seed('agg');
  });

  it('aggregates the newest observed sessions over both versions, one (newest) observation per session', async () => {
    const res = await api('getDefinitionObservations', { params: { id: 'agg' }, role: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      definitionId: 'agg',
      latestVersion: 2,
      current: { cpuCores: 2, memoryGb: 1, storageGb: 2, nodeCount: 2 },
      limit: 20,
      sessionCount: 4,
      versions: [1, 2],
      max: rr(4, 2.5, 5, 3),
      avg: { cpuCores: 2.88, memoryGb: 1.75, storageGb: 3.5, nodeCount: 3 },
      latest: rr(4, 2.5, 5, 3),
      driftSessions: 2,
      sessions: [
        {
          sessionId: 'agg-s4',
          definitionVersion: 2,
          observedAt: at(4),
          totals: rr(4, 2.5, 5, 3),
          hasDrift: true,
        },
        {
          sessionId: 'agg-s3',
          definitionVersion: 2,
          observedAt: at(3),
          totals: rr(2.5, 2, 3, 2),
          hasDrift: false,
        },
        {
          sessionId: 'agg-s2',
          definitionVersion: 1,
          observedAt: at(2),
          totals: rr(3, 1.5, 4, 2),
          hasDrift: true,
        },
        {
          sessionId: 'agg-s1',
          definitionVersion: 1,
          observedAt: at(1),
          totals: rr(2, 1, 2, 2),
          hasDrift: false,
        },
      ],
    });
  });

  it('?limit= takes the newest N sessions', async () => {
    const res = await api('getDefinitionObservations', { params: { id: 'agg' }, query: { limit: '2' } });
    expect(res.body).toMatchObject({
      limit: 2,
      sessionCount: 2,
      versions: [2],
      max: rr(4, 2.5, 5, 3),
      avg: { cpuCores: 3.25, memoryGb: 2.25, storageGb: 4, nodeCount: 3 },
      latest: rr(4, 2.5, 5, 3),
      driftSessions: 1,
    });
    expect(res.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(['agg-s4', 'agg-s3']);
  });

  it('a definition without observations, an unknown one, and a bad limit', async () => {
    await seed('quiet', { observations: false });
    const quiet = await api('getDefinitionObservations', { params: { id: 'quiet' }, role: 'portal' });
    expect(quiet.body).toMatchObject({
      sessionCount: 0,
      versions: [],
      max: null,
      avg: null,
      latest: null,
      sessions: [],
    });
    expect((await api('getDefinitionObservations', { params: { id: 'nope' } })).status).toBe(404);
    const bad = await api('getDefinitionObservations', { params: { id: 'agg' }, query: { limit: '0' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('limit');
  });
});

describe('POST /v1/definitions/{id}/apply-observed', () => {
  it('max: a new version with the maxima; older versions untouched; before/after shown', async () => {
    await seed('max');
    const before = await snapshot('max');
    const res = await api('applyObservedToDefinition', { params: { id: 'max' }, body: { strategy: 'max' } });
    expect(res.status).toBe(200);
    expect(res.headers.location).toBe('/v1/definitions/max/versions/3');
    expect(res.body).toMatchObject({
      definitionId: 'max',
      strategy: 'max',
      changed: true,
      before: { version: 2, resourceRequirements: rr(2, 1, 2, 2), portTemplate: before.v2.portTemplate },
      after: { version: 3, resourceRequirements: rr(4, 2.5, 5, 3), portTemplate: before.v2.portTemplate },
      basedOn: {
        sessionCount: 4,
        versions: [1, 2],
        sessionIds: ['max-s4', 'max-s3', 'max-s2', 'max-s1'],
        newestObservedAt: at(4),
      },
    });
    const latest = (await api('getDefinition', { params: { id: 'max' } })).body;
    expect(latest).toEqual(res.body.definition);
    expect(latest).toMatchObject({
      version: 3,
      createdBy: 'admin-user',
      resourceRequirements: rr(4, 2.5, 5, 3),
    });
    // Everything else is carried over from version 2.
    const { version: _a, createdAt: _b, createdBy: _c, resourceRequirements: _d, ...rest3 } = latest;
    const { version: _e, createdAt: _f, createdBy: _g, resourceRequirements: _h, ...rest2 } = before.v2;
    expect(rest3).toEqual(rest2);
    expect(await snapshot('max')).toEqual(before);

    // The same again: nothing differs, no version is made.
    const again = await api('applyObservedToDefinition', {
      params: { id: 'max' },
      body: { strategy: 'max' },
    });
    expect(again.body).toMatchObject({ changed: false, before: { version: 3 }, after: { version: 3 } });
    expect((await api('listDefinitionVersions', { params: { id: 'max' } })).body.items).toHaveLength(3);
  });

  it('latest: the newest observed session’s totals', async () => {
    await seed('latest');
    const before = await snapshot('latest');
    const res = await api('applyObservedToDefinition', {
      params: { id: 'latest' },
      body: { strategy: 'latest', limit: 3 },
    });
    expect(res.body).toMatchObject({
      changed: true,
      after: { version: 3, resourceRequirements: rr(4, 2.5, 5, 3) },
      basedOn: { sessionCount: 3, sessionIds: ['latest-s4', 'latest-s3', 'latest-s2'] },
    });
    expect(await snapshot('latest')).toEqual(before);
  });

  it('custom: the values given, the rest kept from the latest version', async () => {
    await seed('custom');
    const before = await snapshot('custom');
    const res = await api('applyObservedToDefinition', {
      params: { id: 'custom' },
      body: { strategy: 'custom', resourceRequirements: { memoryGb: 6, cpuCores: 3.5 } },
    });
    expect(res.body).toMatchObject({
      changed: true,
      before: { version: 2, resourceRequirements: rr(2, 1, 2, 2) },
      after: { version: 3, resourceRequirements: rr(3.5, 6, 2, 2) },
    });
    expect(await snapshot('custom')).toEqual(before);
    // custom does not need observations.
    await seed('custom-quiet', { observations: false });
    const quiet = await api('applyObservedToDefinition', {
      params: { id: 'custom-quiet' },
      body: { strategy: 'custom', resourceRequirements: { nodeCount: 4 } },
    });
    expect(quiet.body).toMatchObject({ changed: true, after: { version: 3 }, basedOn: null });
  });

  it('portTemplate: the newest observation’s tags are folded into the topology and its port template', async () => {
    await seed('ports');
    const before = await snapshot('ports');
    const res = await api('applyObservedToDefinition', {
      params: { id: 'ports' },
      body: { strategy: 'max', portTemplate: true },
    });
    expect(res.body.changed).toBe(true);
    expect(res.body.before.portTemplate.map((p: { name: string }) => p.name)).toEqual([
      'R1_serial',
      'R1_ssh',
      'R2_serial',
    ]);
    expect(
      res.body.after.portTemplate.map((p: { name: string; kind: string }) => `${p.name}:${p.kind}`),
    ).toEqual(['R1_serial:serial', 'R1_ssh:tcp', 'R1_http:tcp', 'R2_serial:serial']);
    // Topology and template stay consistent (instantiation rewrites the topology's tags by the template).
    const def = res.body.definition;
    // The rewritten topology is a new object in the content bucket, read back on request.
    const { topologyYaml } = (
      await api('getDefinitionVersion', {
        params: { id: 'ports', version: String(def.version) },
        query: { include: 'topology' },
      })
    ).body;
    expect(def.topology.sizeBytes).toBe(Buffer.byteLength(topologyYaml));
    expect(def.portTemplate).toEqual(extractPortTemplate(parseTopology(topologyYaml)));
    expect(topologyYaml).toContain('pat:tcp:3005:80');
    expect(topologyYaml).toContain('title: Two routers');
    expect(await snapshot('ports')).toEqual(before);
  });

  it('portTemplate: only the outside ports differ → the template is left as it is', async () => {
    await seed('same-ports');
    const stores = apiStores();
    await stores.sessions.create({
      id: 'same-ports-s5',
      definitionId: 'same-ports',
      definitionVersion: 2,
      reservationId: 'r-same-ports-s5',
      owner: { userId: 'learner' },
      timeslot: { start: at(-60), end: at(60) },
      requirements: rr(1, 1, 1, 1),
    });
    const newest: Parameters<typeof stores.sessions.addObservation>[0] = {
      sessionId: 'same-ports-s5',
      definitionId: 'same-ports',
      definitionVersion: 2,
      observedAt: at(5),
      observer: 'ops',
      totals: rr(2, 1, 2, 2),
      nodes: [
        { label: 'R1', nodeDefinition: 'iosv', tags: ['serial:3901', 'pat:3902:22'] },
        { label: 'R2', nodeDefinition: 'iosv', tags: ['serial:3903'] },
      ],
    };
    await stores.sessions.addObservation(newest);
    const res = await api('applyObservedToDefinition', {
      params: { id: 'same-ports' },
      body: { strategy: 'latest', portTemplate: true },
    });
    // Resources equal the current ones and the ports are structurally the same: nothing to apply.
    expect(res.body).toMatchObject({ changed: false, after: { version: 2 } });
  });

  it('refusals: no observations, unknown node, stale expectedVersion, archived, bad body, not an admin', async () => {
    await seed('refuse-quiet', { observations: false });
    const none = await api('applyObservedToDefinition', {
      params: { id: 'refuse-quiet' },
      body: { strategy: 'max' },
    });
    expect(none.status).toBe(409);
    expect(none.body.detail).toBe('definition refuse-quiet has no observed sessions to apply');

    await seed('refuse');
    const stores = apiStores();
    await stores.sessions.create({
      id: 'refuse-s9',
      definitionId: 'refuse',
      definitionVersion: 2,
      reservationId: 'r-refuse-s9',
      owner: { userId: 'learner' },
      timeslot: { start: at(-60), end: at(60) },
      requirements: rr(1, 1, 1, 1),
    });
    await stores.sessions.addObservation({
      sessionId: 'refuse-s9',
      definitionId: 'refuse',
      definitionVersion: 2,
      observedAt: at(9),
      observer: 'ops',
      totals: rr(2, 1, 2, 3),
      nodes: [...OBSERVED_NODES, { label: 'R3', nodeDefinition: 'iosv', tags: ['serial:3004'] }],
    });
    const unknown = await api('applyObservedToDefinition', {
      params: { id: 'refuse' },
      body: { strategy: 'max', portTemplate: true },
    });
    expect(unknown.status).toBe(409);
    expect(unknown.body.detail).toBe(
      "observed nodes R3 are not in the definition's topology; update the topology instead",
    );

    const stale = await api('applyObservedToDefinition', {
      params: { id: 'refuse' },
      body: { strategy: 'max', expectedVersion: 1 },
    });
    expect(stale.status).toBe(409);

    for (const body of [
      { strategy: 'custom' },
      { strategy: 'custom', resourceRequirements: {} },
      { strategy: 'max', resourceRequirements: { cpuCores: 1 } },
      { strategy: 'average' },
      { strategy: 'max', limit: 0 },
    ]) {
      expect((await api('applyObservedToDefinition', { params: { id: 'refuse' }, body })).status).toBe(400);
    }
    for (const role of ['operator', 'viewer', 'portal'] as const) {
      const res = await api('applyObservedToDefinition', {
        params: { id: 'refuse' },
        body: { strategy: 'max' },
        role,
      });
      expect(res.status).toBe(403);
    }
    expect((await api('listDefinitionVersions', { params: { id: 'refuse' } })).body.items).toHaveLength(2);

    await api('archiveDefinition', { params: { id: 'refuse' } });
    const archived = await api('applyObservedToDefinition', {
      params: { id: 'refuse' },
      body: { strategy: 'max' },
    });
    expect(archived.status).toBe(409);
  });
});
