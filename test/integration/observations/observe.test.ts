import { type CmlSimulator, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import { apiStores } from '@lcm/shared/app';
import { rewriteTopologyPorts } from '@lcm/shared/catalogue';
import { changeRecordOf, matchesAnyPattern, outboxEventsFor, TRIGGERS_CONSUMER } from '@lcm/shared/events';
import type { LabletSession, PortAllocations, SessionStatus } from '@lcm/shared/kernel';
import {
  type CmlApi,
  createCmlClient,
  keys,
  RecordingWorkflowEngine,
  staticCredentials,
} from '@lcm/shared/platform';
import type { ObserveDeps } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { sessionsHandler } from '../../../functions/api/sessions.ts';
import { triggersHandler } from '../../../functions/streams/triggers.ts';
import { type CallOptions, call, lambdaContext } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { TOPOLOGY } from '../../unit/content/packages.ts';
import { streamEvent, streamRecordOf } from './support.ts';

/**
 * The manual observation trigger end to end: POST /v1/sessions/{id}/observe records the request,
 * the session's stream record (checked against the triggers consumer's filter) runs the task,
 * which reads the lab from the CML simulator through the real CML client. Drift is produced the
 * way it happens in life: the lab's node tags are edited on CML behind LCM's back.
 */

const CML_USER = { username: 'admin', password: 'admin-password' };
let t: TestTable;
let sim: CmlSimulator;
let cml: CmlApi;
let token: string;

beforeAll(async () => {
  t = await createTestTable('observe');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  sim = await startCmlSimulator({ labBootMs: 0 });
  cml = createCmlClient({ baseUrl: sim.url, credentials: staticCredentials(CML_USER) });
  const auth = await fetch(`${sim.url}/authenticate`, { method: 'POST', body: JSON.stringify(CML_USER) });
  token = (await auth.json()) as string;
  await apiStores().workers.create({
    id: 'w-obs',
    templateName: 'metal',
    status: 'RUNNING',
    cmlBaseUrl: sim.url,
    license: { type: 'ENTERPRISE', status: 'REGISTERED' },
    declaredCapacity: { cpuCores: 64, memoryGb: 256, storageGb: 2000, maxNodes: 200 },
    portRange: { start: 3000, end: 3999 },
  });
  const def = await call(definitionsHandler, 'createDefinition', {
    role: 'admin',
    body: { id: 'obs-lab', name: 'Observed lab', topologyYaml: TOPOLOGY, maxDurationMinutes: 120 },
  });
  expect(def.status).toBe(201);
});
afterAll(async () => {
  await sim?.stop();
  await t?.cleanup();
});

const sessions = sessionsHandler(() => ({ ...apiStores(), engine: new RecordingWorkflowEngine() }));
const api = (operationId: string, opts: CallOptions = {}) =>
  call(sessions, operationId, { role: 'operator', ...opts });
const observeDeps = (): ObserveDeps => ({
  ...apiStores(),
  cml: (worker) => createCmlClient({ baseUrl: worker.cmlBaseUrl!, credentials: staticCredentials(CML_USER) }),
});
const triggers = triggersHandler({ observe: observeDeps });

/** A session of obs-lab placed on w-obs with `ports`, its lab imported and started on CML, RUNNING. */
async function runningSession(id: string, ports: PortAllocations): Promise<LabletSession> {
  const stores = apiStores();
  const def = await stores.definitions.getLatest('obs-lab');
  const start = new Date(Date.now() + 60_000).toISOString();
  await stores.sessions.create({
    id,
    definitionId: def.id,
    definitionVersion: def.version,
    reservationId: `r-${id}`,
    owner: { userId: 'learner' },
    timeslot: { start, end: new Date(Date.now() + 3_600_000).toISOString() },
    requirements: def.resourceRequirements,
    portTemplate: def.portTemplate,
  });
  await stores.placement.place({
    session: await stores.sessions.getSession(id),
    worker: await stores.workers.get('w-obs'),
    ports,
    by: 'test',
  });
  const lab = await cml.importLab(
    // The topology from the content bucket by hash (issue 11, item 1), as the import step reads it.
    rewriteTopologyPorts((await stores.definitions.readTopology(def))!, def.portTemplate, ports),
    `lcm-${id}`,
  );
  await cml.startLab(lab.id);
  const path: SessionStatus[] = ['SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING'];
  for (let i = 1; i < path.length; i++) {
    await stores.sessions.transition(
      id,
      path[i - 1]!,
      path[i]!,
      'test',
      undefined,
      i === 1 ? { cmlLabId: lab.id } : {},
    );
  }
  return stores.sessions.getSession(id);
}

/** Edits a node's tags on CML directly, as someone with CML access would. */
async function setTags(session: LabletSession, label: string, tags: string[]): Promise<void> {
  const node = sim.lab(session.cmlLabId!)!.nodes.find((n) => n.label === label)!;
  const res = await fetch(`${sim.url}/labs/${session.cmlLabId}/nodes/${node.id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags }),
  });
  expect(res.status).toBe(200);
}

/** Requests an observation over the API and lets the stream run it; returns the new observation. */
async function observe(sessionId: string, role: CallOptions['role'] = 'operator') {
  const res = await api('observeSession', { params: { id: sessionId }, role });
  expect(res.status).toBe(202);
  const record = await streamRecordOf(t.client, t.tableName, keys.session(sessionId));
  expect(matchesAnyPattern(TRIGGERS_CONSUMER.filters, record)).toBe(true);
  expect(await triggers(streamEvent(record), lambdaContext())).toEqual({ batchItemFailures: [] });
  const { observations, session } = await apiStores().sessions.get(sessionId);
  expect(session.observationRequest).toBeUndefined(); // done: the request is cleared
  return { observation: observations.at(-1)!, session, response: res };
}

const PORTS = (base: number): PortAllocations => ({
  R1_serial: base + 1,
  R1_ssh: base + 2,
  R2_serial: base + 3,
});

describe('POST /v1/sessions/{id}/observe', () => {
  it('records the request (202) and the task observes the lab as the requesting principal: no drift', async () => {
    const s = await runningSession('obs-none', PORTS(3000));
    const res = await api('observeSession', { params: { id: s.id }, sub: 'ops-alice' });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe('/v1/sessions/obs-none');
    expect(res.body).toEqual({
      outcome: 'requested',
      sessionId: 'obs-none',
      request: { status: 'PENDING', requestedBy: 'ops-alice', requestedAt: expect.any(String) },
    });
    // Visible on the session, and asking again while pending changes nothing.
    expect((await api('getSession', { params: { id: s.id } })).body.observationRequest).toEqual(
      res.body.request,
    );
    expect((await api('observeSession', { params: { id: s.id } })).body.outcome).toBe('already-requested');

    const record = await streamRecordOf(t.client, t.tableName, keys.session(s.id));
    expect(await triggers(streamEvent(record), lambdaContext())).toEqual({ batchItemFailures: [] });
    const view = (await api('getSession', { params: { id: s.id } })).body;
    expect(view.observationRequest).toBeUndefined();
    expect(view.observations).toHaveLength(1);
    const o = view.observations[0];
    expect(o).toMatchObject({
      sessionId: 'obs-none',
      definitionId: 'obs-lab',
      definitionVersion: 1,
      workerId: 'w-obs',
      cmlLabId: s.cmlLabId,
      observer: 'ops-alice',
      observedPorts: PORTS(3000),
      drift: { added: [], removed: [], changed: [], conflicts: [], hasDrift: false },
    });
    expect(o.totals).toMatchObject({ nodeCount: 2 });
    expect(o.nodes.map((n: { label: string; tags: string[] }) => [n.label, n.tags])).toEqual([
      ['R1', ['serial:3001', 'pat:3002:22']],
      ['R2', ['serial:3003']],
    ]);
    expect(o.stats.interfaces).toEqual([
      { node: 'R1', interfaces: [expect.objectContaining({ label: 'Gi0/0' })] },
      { node: 'R2', interfaces: [expect.objectContaining({ label: 'Gi0/0' })] },
    ]);

    // The same stream record delivered again: nothing pending, nothing observed twice.
    expect(await triggers(streamEvent(record), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect((await apiStores().sessions.get(s.id)).observations).toHaveLength(1);
    // No drift, no drift event.
    expect(
      outboxEventsFor({ eventName: 'INSERT', keys: {}, newImage: { ...o, entity: 'ResourceObservation' } }),
    ).toEqual([]);
  });

  it('drift: a port added on CML', async () => {
    const s = await runningSession('obs-added', PORTS(3010));
    await setTags(s, 'R1', ['serial:3011', 'pat:3012:22', 'pat:tcp:3019:80']);
    const { observation } = await observe(s.id);
    expect(observation.drift).toEqual({
      added: [{ name: 'R1_http', port: 3019 }],
      removed: [],
      changed: [],
      conflicts: [],
      hasDrift: true,
    });
  });

  it('drift: a port removed on CML', async () => {
    const s = await runningSession('obs-removed', PORTS(3020));
    await setTags(s, 'R2', []);
    const { observation } = await observe(s.id);
    expect(observation.drift).toEqual({
      added: [],
      removed: [{ name: 'R2_serial', port: 3023 }],
      changed: [],
      conflicts: [],
      hasDrift: true,
    });
    expect(observation.observedPorts).toEqual({ R1_serial: 3021, R1_ssh: 3022 });
  });

  it('drift: a port changed on CML', async () => {
    const s = await runningSession('obs-changed', PORTS(3030));
    await setTags(s, 'R1', ['serial:3039', 'pat:3032:22']);
    const { observation } = await observe(s.id);
    expect(observation.drift).toEqual({
      added: [],
      removed: [],
      changed: [{ name: 'R1_serial', allocated: 3031, observed: 3039 }],
      conflicts: [],
      hasDrift: true,
    });
  });

  it('drift onto another session’s lease on the worker: flagged on both sessions and in the event', async () => {
    const other = await runningSession('obs-lease-holder', PORTS(3040));
    const s = await runningSession('obs-collider', PORTS(3050));
    await setTags(s, 'R1', ['serial:3041', 'pat:3052:22']); // 3041 is obs-lease-holder's R1_serial
    const { observation, session } = await observe(s.id);
    expect(observation.drift).toEqual({
      added: [],
      removed: [],
      changed: [{ name: 'R1_serial', allocated: 3051, observed: 3041 }],
      conflicts: [{ name: 'R1_serial', port: 3041, otherSessionId: other.id }],
      hasDrift: true,
    });
    const flag = {
      name: 'R1_serial',
      port: 3041,
      observedSessionId: s.id,
      detectedAt: observation.observedAt,
    };
    expect(session.portConflicts).toEqual([{ ...flag, otherSessionId: other.id }]);
    expect((await apiStores().sessions.getSession(other.id)).portConflicts).toEqual([
      { ...flag, otherSessionId: s.id },
    ]);
    // Observing again does not duplicate the flags.
    await observe(s.id);
    expect((await apiStores().sessions.getSession(other.id)).portConflicts).toHaveLength(1);

    // The outbox turns the observation into session.port-drift-detected, conflicts included.
    const record = await streamRecordOf(
      t.client,
      t.tableName,
      keys.observation(s.id, observation.observedAt),
      'INSERT',
    );
    const [event] = outboxEventsFor(changeRecordOf(record));
    expect(event).toMatchObject({
      type: 'io.lablet.lcm.session.port-drift-detected.v1',
      subject: `sessions/${s.id}`,
      data: {
        sessionId: s.id,
        workerId: 'w-obs',
        drift: { conflicts: [{ name: 'R1_serial', port: 3041, otherSessionId: other.id }], hasDrift: true },
      },
    });
  });

  it('only a RUNNING session: others → 409; unknown → 404; portal and viewer → 403; admin may', async () => {
    const s = await runningSession('obs-rules', PORTS(3060));
    for (const role of ['portal', 'viewer'] as const) {
      expect((await api('observeSession', { params: { id: s.id }, role })).status).toBe(403);
    }
    expect((await api('observeSession', { params: { id: 'no-such-session' } })).status).toBe(404);
    await apiStores().sessions.transition(s.id, 'RUNNING', 'COLLECTING', 'test');
    const res = await api('observeSession', { params: { id: s.id } });
    expect(res.status).toBe(409);
    expect(res.body.detail).toBe(
      'session obs-rules is COLLECTING; only a RUNNING session can be observed on request',
    );

    const s2 = await runningSession('obs-admin', PORTS(3070));
    const { observation } = await observe(s2.id, 'admin');
    expect(observation.observer).toBe('admin-user');
  });

  it('a request whose session stopped before the task ran is marked FAILED, not retried', async () => {
    const s = await runningSession('obs-stopped', PORTS(3080));
    expect((await api('observeSession', { params: { id: s.id } })).status).toBe(202);
    await apiStores().sessions.transition(s.id, 'RUNNING', 'STOPPING', 'test');
    const record = await streamRecordOf(t.client, t.tableName, keys.session(s.id));
    expect(matchesAnyPattern(TRIGGERS_CONSUMER.filters, record)).toBe(true);
    expect(await triggers(streamEvent(record), lambdaContext())).toEqual({ batchItemFailures: [] });
    const after = await apiStores().sessions.get(s.id);
    expect(after.observations).toEqual([]);
    expect(after.session.observationRequest).toEqual({
      status: 'FAILED',
      requestedBy: 'operator-user',
      requestedAt: expect.any(String),
      failedAt: expect.any(String),
      error: 'session is STOPPING; its lab is no longer running',
    });
    // FAILED is not PENDING: later changes of the session do not start the task again.
    const again = await streamRecordOf(t.client, t.tableName, keys.session(s.id));
    expect(matchesAnyPattern(TRIGGERS_CONSUMER.filters, again)).toBe(false);
    // And a session that stopped cannot be asked again.
    await apiStores().sessions.transition(s.id, 'STOPPING', 'STOPPED', 'test');
    expect((await api('observeSession', { params: { id: s.id } })).status).toBe(409);
  });

  it('a lab that is gone from CML fails the request with the CML error', async () => {
    const s = await runningSession('obs-gone', PORTS(3090));
    await cml.stopLab(s.cmlLabId!);
    await cml.wipeLab(s.cmlLabId!);
    await cml.deleteLab(s.cmlLabId!);
    expect((await api('observeSession', { params: { id: s.id } })).status).toBe(202);
    const record = await streamRecordOf(t.client, t.tableName, keys.session(s.id));
    await triggers(streamEvent(record), lambdaContext());
    const request = (await apiStores().sessions.getSession(s.id)).observationRequest;
    expect(request?.status).toBe('FAILED');
    expect(request?.error).toMatch(/Lab not found/);
    // After a failure a new request may be made.
    expect((await api('observeSession', { params: { id: s.id } })).body.outcome).toBe('requested');
  });
});
