import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_UPDATES_RULE } from '@lcm/shared/api';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  dynamodbLocalPidsOf,
  freePort,
  isAlive,
  type NpmStart,
  npmStart,
  readLocalJson,
  stackFreeEnv,
  waitForHealthy,
  waitUntil,
  withTimeout,
} from './support.ts';

/**
 * README "Walk-through: a session from booking to score", as a test: `npm start` with its
 * default settings (a fresh state directory and port are the only things given), then only
 * HTTP — the API with the tokens of local.json, partner CloudEvents signed with the secrets of
 * local.json, and the local bus's event log. A session of a seeded definition reaches READY with
 * a login URL, RUNNING on the learner's login, TERMINATED with a score after the end; the outbox
 * published every step to the bus. A restart on the same state directory seeds nothing twice,
 * and with the LDS simulator's automatic login and end a session runs through by itself.
 */

const STARTUP_BUDGET_MS = 30_000;
const STEP_TIMEOUT_MS = 60_000;

interface LocalPartner {
  source: string;
  secret: string;
  signatureHeader: string;
}

interface LocalJson {
  apiUrl: string;
  pid: number;
  dynamodbPid: number;
  tokens: Record<string, string>;
  partners: Record<string, LocalPartner>;
  eventBridge: { endpoint: string; eventBusName: string; eventsLog: string };
  /** GET this: the business metrics the handlers printed. */
  metrics: string;
}

interface Json {
  [key: string]: unknown;
}

/** GET /_lcm/metrics (packages/sandbox/src/local-metrics.ts). */
interface LocalMetricsSnapshot {
  totals: Record<string, number>;
  series: Array<{
    name: string;
    unit: string;
    dimensions: Record<string, string>;
    sum: number;
    count: number;
    min: number;
    history: Array<{ at: string; value: number }>;
  }>;
}

interface SessionView {
  id: string;
  status: string;
  definitionId: string;
  workerId?: string;
  userSession: { ldsSessionId: string; loginUrl?: string; status: string } | null;
  grading: { status: string; gradingSessionId?: string } | null;
  score: { score: number; maxScore: number; passed: boolean; sections: unknown[] } | null;
  history: Array<{ from: string; to: string; by: string }>;
}

interface BusLog {
  published: Array<{
    event: { source: string; 'detail-type': string; detail: Json & { subject?: string; data?: Json } };
    rules: string[];
  }>;
  deliveries: Array<{ rule: string; outcome: string; eventId: string }>;
  deadLetters: unknown[];
}

const stateDir = mkdtempSync(join(tmpdir(), 'lcm-walkthrough-'));
const runs: NpmStart[] = [];
const javaPids: number[] = [];

afterAll(() => {
  // Whatever a failed test left behind goes, hard.
  for (const run of runs.splice(0)) run.killGroup();
  for (const pid of [...javaPids.splice(0), ...dynamodbLocalPidsOf(stateDir)]) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** `npm start` with nothing but the port and the state directory (and `extra`) set. */
async function start(extra: Record<string, string> = {}): Promise<{ run: NpmStart; local: LocalJson }> {
  // The developer's own overrides would not be "default settings".
  const env = stackFreeEnv();
  const port = await freePort();
  const spawnedAt = performance.now();
  // The seeded hot-start pool (demo-pooled) is left unfilled (its timer off): the walk-through counts
  // what its own sessions hold on the workers; test/e2e/pools.test.ts runs the pool on npm start.
  const run = npmStart({
    ...env,
    LCM_PORT: String(port),
    LCM_STATE_DIR: stateDir,
    LCM_POOL_INTERVAL_SECONDS: '0',
    ...extra,
  });
  runs.push(run);
  let exited = false;
  void run.exited.then(() => {
    exited = true;
  });
  await waitForHealthy(`http://127.0.0.1:${port}`, STARTUP_BUDGET_MS, () => !exited).catch((e: Error) => {
    throw new Error(`${e.message}\n--- npm start output ---\n${run.output().slice(-5000)}`);
  });
  const startupMs = performance.now() - spawnedAt;
  console.log(`npm start: GET /v1/health 200 after ${Math.round(startupMs)} ms`);
  expect(startupMs).toBeLessThan(STARTUP_BUDGET_MS);
  const local = await readLocalJson<LocalJson>(stateDir);
  javaPids.push(local.dynamodbPid);
  // A failed test leaves no stack behind on the state directory: the next test starts its own
  // and reports its own outcome (not "the stack exited before it was healthy" on a held lock).
  onTestFailed(async () => {
    run.killGroup();
    if (isAlive(local.dynamodbPid, 'DynamoDBLocal')) process.kill(local.dynamodbPid, 'SIGKILL');
    await waitUntil(
      "the failed test's stack to be gone",
      () => !isAlive(local.pid) && !isAlive(local.dynamodbPid, 'DynamoDBLocal'),
      20_000,
    );
    // What its own stop would remove: the next start must not read this stack's endpoints.
    rmSync(join(stateDir, 'local.json'), { force: true });
  });
  return { run, local };
}

async function stop(run: NpmStart, local: LocalJson, signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  if (signal === 'SIGTERM') process.kill(local.pid, 'SIGTERM');
  else process.kill(-run.child.pid!, 'SIGINT'); // Ctrl-C: the whole process group
  const exit = await withTimeout(run.exited, 30_000, 'npm start to exit');
  if (signal === 'SIGTERM') expect(exit).toEqual({ code: 0, signal: null });
  await waitUntil('the stack process to exit', () => !isAlive(local.pid), 20_000);
  // (The marker guards against the pid having been reused on a busy machine.)
  await waitUntil('DynamoDB Local to exit', () => !isAlive(local.dynamodbPid, 'DynamoDBLocal'), 30_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}: ${processState(local.dynamodbPid)}\n${run.output().slice(-3000)}`);
    },
  );
  expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
  await expect(fetch(`${local.apiUrl}/v1/health`)).rejects.toThrow();
  await expect(fetch(local.eventBridge.eventsLog)).rejects.toThrow();
}

/** What /proc says about a process (for failure messages). */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 200);
    return `pid ${pid} state ${stat.split(') ')[1]?.[0]} (${cmd})`;
  } catch {
    return `pid ${pid} gone`;
  }
}

async function api<T = Json>(
  local: LocalJson,
  role: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${local.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${local.tokens[role]}`,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const getSession = async (local: LocalJson, id: string): Promise<SessionView> => {
  const { status, body } = await api<SessionView>(local, 'portal', `/v1/sessions/${id}`);
  expect(status).toBe(200);
  return body;
};

/** Polls GET /v1/sessions/{id} until `done` holds; the failure names the last status seen. */
async function sessionUntil(
  local: LocalJson,
  id: string,
  what: string,
  done: (s: SessionView) => boolean,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<SessionView> {
  const deadline = Date.now() + timeoutMs;
  let last: SessionView | undefined;
  while (Date.now() < deadline) {
    last = await getSession(local, id);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  const trail = last?.history.map((h) => `${h.from}→${h.to}`).join(' ') ?? '';
  throw new Error(`session ${id} not ${what} within ${timeoutMs} ms: ${last?.status} (${trail})`);
}

async function book(local: LocalJson, definitionId: string, minutes: number): Promise<SessionView> {
  const now = Date.now();
  const { status, body } = await api<SessionView>(local, 'portal', '/v1/sessions', {
    method: 'POST',
    body: {
      definitionId,
      reservationId: `res-${randomUUID()}`,
      owner: { userId: 'u-learner-1', username: 'learner', email: 'learner@example.com' },
      timeslot: {
        start: new Date(now).toISOString(),
        end: new Date(now + minutes * 60_000).toISOString(),
      },
    },
  });
  expect(status).toBe(201);
  expect(body).toMatchObject({ definitionId, definitionVersion: 1, status: 'PENDING' });
  return body;
}

/** A structured-mode CloudEvent signed as the README does it: HMAC-SHA256 of the exact bytes. */
async function postPartnerEvent(
  local: LocalJson,
  partner: LocalPartner,
  type: string,
  data: Json,
  secret = partner.secret,
): Promise<Response> {
  const body = JSON.stringify({
    specversion: '1.0',
    id: randomUUID(),
    source: partner.source,
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  });
  // Standard Webhooks, computed by hand as a partner would (not with LCM's helper).
  const id = randomUUID();
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  return fetch(`${local.apiUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/cloudevents+json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      [partner.signatureHeader]: signature,
    },
    body,
  });
}

const busLog = async (local: LocalJson): Promise<BusLog> => {
  const res = await fetch(local.eventBridge.eventsLog);
  expect(res.status).toBe(200);
  return (await res.json()) as BusLog;
};

/** The outbound events (outbox → bus) about one session, in publication order. */
const outboundFor = (log: BusLog, sessionId: string) =>
  log.published.filter(
    (p) => p.event.source === 'lcm.control-plane' && p.event.detail.subject === `sessions/${sessionId}`,
  );

const statusPath = (s: SessionView) => s.history.map((h) => h.to);

interface SessionCost {
  workerId: string;
  templateName: string;
  capacityShare: number;
  heldFrom: string;
  heldUntil: string;
  heldHours: number;
  runningPerHourUsd: number;
  costUsd: number;
  final: boolean;
  priced: boolean;
}

/**
 * A terminated session shows up in its own cost (operators; never the portal), in GET /v1/fleet/cost
 * (its definition's group, the totals) and in GET /v1/fleet/usage (the steps it held capacity in),
 * from the histories the run stored. The seeded template costs $3.96/h and declares 48 cpu,
 * 192 GB, 500 GB, 40 nodes; both seeded workers run the whole time, so the session's charge is its
 * dominant share × $3.96 × the hours it held its placement.
 */
async function expectCostOf(local: LocalJson, sessionId: string, asPortal: SessionView): Promise<void> {
  expect(asPortal).not.toHaveProperty('cost');
  const { status, body } = await api<SessionView & { cost: SessionCost; requirements: Json }>(
    local,
    'operator',
    `/v1/sessions/${sessionId}`,
  );
  expect(status).toBe(200);
  const cost = body.cost;
  const req = body.requirements as {
    cpuCores: number;
    memoryGb: number;
    storageGb: number;
    nodeCount: number;
  };
  const share = Math.min(
    1,
    Math.max(req.cpuCores / 48, req.memoryGb / 192, req.storageGb / 500, req.nodeCount / 40),
  );
  expect(cost).toMatchObject({
    workerId: body.workerId,
    templateName: 'sandbox-cml',
    runningPerHourUsd: 3.96,
    final: true,
    priced: true,
  });
  expect(cost.capacityShare).toBeCloseTo(share, 6);
  // Held from the placement (→ SCHEDULED) to the teardown's release (→ STOPPED): seconds here.
  const heldMs = Date.parse(cost.heldUntil) - Date.parse(cost.heldFrom);
  expect(heldMs).toBeGreaterThan(0);
  expect(heldMs).toBeLessThan(STEP_TIMEOUT_MS * 4);
  expect(cost.costUsd).toBeGreaterThan(0);
  expect(cost.costUsd).toBeCloseTo((share * 3.96 * heldMs) / 3_600_000, 5);

  // The fleet's cost over a window around the run: the session is its definition's one session.
  const from = new Date(Date.parse(cost.heldFrom) - 60_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const byDef = await api<{
    totals: Json & { totalUsd: number; attributedUsd: number; idleUsd: number };
    groups: Json[];
  }>(local, 'viewer', `/v1/fleet/cost?from=${from}&to=${to}&groupBy=definition`);
  expect(byDef.status).toBe(200);
  expect(byDef.body.groups).toEqual([
    {
      key: 'demo-ospf-graded',
      costUsd: cost.costUsd,
      attributedUsd: cost.costUsd,
      sessions: 1,
      meanCostPerSessionUsd: cost.costUsd,
    },
  ]);
  expect(byDef.body.totals).toMatchObject({ attributedUsd: cost.costUsd, sessions: 1 });
  // Two workers ran at $3.96/h the whole window (so far): the rest is idle or unallocated.
  expect(byDef.body.totals.totalUsd).toBeGreaterThan(cost.costUsd);
  expect(byDef.body.totals.idleUsd).toBeGreaterThan(0);
  const byTemplate = await api<{ groups: Json[] }>(
    local,
    'admin',
    `/v1/fleet/cost?from=${from}&to=${to}&groupBy=template`,
  );
  expect(byTemplate.body.groups.map((g) => [g.key, g.sessions])).toEqual([['sandbox-cml', 1]]);
  expect((await api(local, 'portal', `/v1/fleet/cost?from=${from}&to=${to}`)).status).toBe(403);

  // Usage per second around the hold: the steps it held capacity in show it and its requirements.
  const uFrom = new Date(Date.parse(cost.heldFrom) - 2_000).toISOString();
  const uTo = new Date(Date.parse(cost.heldUntil) + 2_000).toISOString();
  const usage = await api<{
    points: Array<
      Json & {
        sessionsHeld: number;
        sessionsActive: number;
        allocated: Json;
        workersByStatus: Json;
        costRatePerHourUsd: number;
      }
    >;
  }>(local, 'operator', `/v1/fleet/usage?from=${uFrom}&to=${uTo}&step=1`);
  expect(usage.status).toBe(200);
  const points = usage.body.points;
  expect(points.length).toBeGreaterThanOrEqual(4);
  expect(points[0]).toMatchObject({ sessionsHeld: 0, sessionsActive: 0, costRatePerHourUsd: 7.92 });
  // Both seeded workers hold an instance two seconds before the hold; the session may be placed the
  // moment the first of them is RUNNING, so the other can still be STARTING then.
  const w0 = points[0]!.workersByStatus as Record<string, number>;
  expect((w0.RUNNING ?? 0) + (w0.STARTING ?? 0)).toBe(2);
  expect(
    points
      .filter((p) => p.sessionsHeld === 1)
      .every((p) => (p.workersByStatus as Record<string, number>).RUNNING! >= 1),
  ).toBe(true);
  expect(points.some((p) => p.sessionsHeld === 1)).toBe(true);
  expect(points.at(-1)).toMatchObject({ sessionsHeld: 0 });
  const active = points.find((p) => p.sessionsActive === 1);
  expect(active?.allocated).toEqual({
    cpuCores: req.cpuCores,
    memoryGb: req.memoryGb,
    storageGb: req.storageGb,
    maxNodes: req.nodeCount,
  });
}

describe('walk-through: a session from booking to score (npm start, default settings)', () => {
  let first: { run: NpmStart; local: LocalJson };
  let graded: SessionView;

  it('seeds demo data, then a booked session goes READY → RUNNING → TERMINATED with a score', async () => {
    first = await start();
    const { local } = first;
    expect(Object.keys(local.partners).sort()).toEqual(['grading', 'lds']);
    expect(local.partners.lds).toMatchObject({
      source: 'urn:lablet:lds:sandbox',
      signatureHeader: 'webhook-signature',
    });
    expect(local.partners.lds!.secret.length).toBeGreaterThanOrEqual(32);

    // Seeded: three ACTIVE definitions with PATty-derived port templates, one graded, one pooled.
    const defs = await api<{ items: Json[] }>(local, 'portal', '/v1/definitions');
    expect(defs.status).toBe(200);
    const byId = new Map(defs.body.items.map((d) => [d.id as string, d]));
    expect([...byId.keys()].sort()).toEqual(['demo-console-practice', 'demo-ospf-graded', 'demo-pooled']);
    expect(byId.get('demo-pooled')).toMatchObject({ warmPoolDepth: 2 });
    for (const d of byId.values()) {
      expect(d).toMatchObject({ status: 'ACTIVE', version: 1 });
      // Lists carry the topology's reference (content bucket, by hash), the YAML only on request.
      expect(d.topologyYaml).toBeUndefined();
      expect(d.topology).toMatchObject({ hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      const one = await api<Json>(local, 'portal', `/v1/definitions/${String(d.id)}?include=topology`);
      expect(one.status).toBe(200);
      expect(String(one.body.topologyYaml)).toMatch(/tags: \[serial:\d+/);
      expect((d.portTemplate as unknown[]).length).toBeGreaterThanOrEqual(2);
      expect(d.maxDurationMinutes as number).toBeLessThanOrEqual(30);
    }
    expect(byId.get('demo-ospf-graded')).toMatchObject({ gradingRulesRef: 'rules/demo-ospf-basics@1' });
    expect(byId.get('demo-console-practice')!.gradingRulesRef).toBeUndefined();

    // Seeded: two RUNNING workers, each on its own (answering) CML simulator, with a port range.
    const workers = await api<{ items: Json[] }>(local, 'viewer', '/v1/workers');
    expect(workers.body.items.map((w) => [w.id, w.status])).toEqual([
      ['sandbox-worker-1', 'RUNNING'],
      ['sandbox-worker-2', 'RUNNING'],
    ]);
    const cmlUrls = workers.body.items.map((w) => String(w.cmlBaseUrl));
    expect(new Set(cmlUrls).size).toBe(2);
    for (const w of workers.body.items) {
      expect(w.portRange).toEqual({ start: 5000, end: 5999 });
      const info = await fetch(`${w.cmlBaseUrl}/system_information`);
      expect(await info.json()).toMatchObject({ ready: true });
    }

    // Book the graded lab from now on: placed, instantiated on CML, LDS provisioned → READY.
    const booked = await book(local, 'demo-ospf-graded', 20);
    const ready = await sessionUntil(local, booked.id, 'READY', (s) => s.status === 'READY');
    expect(ready.workerId).toMatch(/^sandbox-worker-[12]$/);
    expect(ready.userSession).toMatchObject({ ldsSessionId: expect.any(String) });
    const ldsSessionId = ready.userSession!.ldsSessionId;
    expect(ready.userSession!.loginUrl).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:\\d+/login/${ldsSessionId}$`),
    );

    // A badly signed event is refused; nothing moves.
    const forged = await postPartnerEvent(
      local,
      local.partners.lds!,
      'io.lablet.lds.session.running.v1',
      { ldsSessionId, lcmSessionId: booked.id },
      'not-the-partner-secret-0123456789',
    );
    expect(forged.status).toBe(401);
    expect((await getSession(local, booked.id)).status).toBe('READY');

    // The learner logs in (LDS says so, signed with its secret) → RUNNING.
    const login = await postPartnerEvent(local, local.partners.lds!, 'io.lablet.lds.session.running.v1', {
      ldsSessionId,
      lcmSessionId: booked.id,
    });
    expect(login.status).toBe(202);
    await sessionUntil(local, booked.id, 'RUNNING', (s) => s.status === 'RUNNING');

    // The lab ends → evidence collected, graded by the Grading simulator → torn down, scored.
    const end = await postPartnerEvent(local, local.partners.lds!, 'io.lablet.lds.session.ended.v1', {
      ldsSessionId,
      lcmSessionId: booked.id,
    });
    expect(end.status).toBe(202);
    graded = await sessionUntil(local, booked.id, 'TERMINATED', (s) => s.status === 'TERMINATED');
    expect(statusPath(graded)).toEqual([
      'SCHEDULED',
      'INSTANTIATING',
      'READY',
      'RUNNING',
      'COLLECTING',
      'GRADING',
      'STOPPING',
      'STOPPED',
      'ARCHIVED',
      'TERMINATED',
    ]);
    expect(graded.grading).toMatchObject({ status: 'COMPLETED' });
    expect(graded.score).toMatchObject({ passed: true });
    expect(graded.score!.maxScore).toBeGreaterThan(0);
    expect(graded.score!.score).toBe(graded.score!.maxScore);
    expect(graded.userSession!.loginUrl).toBe(ready.userSession!.loginUrl);

    // Everything was released: no capacity held on the worker any more.
    const worker = await api<Json>(local, 'viewer', `/v1/workers/${ready.workerId}`);
    expect(worker.body.allocatedCapacity).toEqual({ cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 });

    // The bus saw it all: the partners' events routed by the rules to their targets, and the
    // outbox's CloudEvents for every step of the session.
    const log = await busLog(local);
    expect(log.deadLetters).toEqual([]);
    const inbound = log.published.filter((p) => p.event.source !== 'lcm.control-plane');
    expect(inbound.map((p) => [p.event.source, p.event['detail-type'], p.rules])).toEqual([
      ['urn:lablet:lds:sandbox', 'io.lablet.lds.session.running.v1', ['lds-session-running']],
      ['urn:lablet:lds:sandbox', 'io.lablet.lds.session.ended.v1', ['lds-session-ended']],
      ['urn:lablet:grading:sandbox', 'io.lablet.grading.session.completed.v1', ['grading-session-result']],
    ]);
    // The partners' events to their targets; LCM's own events also go to the live-updates
    // broadcaster (issue 14), every delivery of which succeeded.
    const live = log.deliveries.filter((d) => d.rule === LIVE_UPDATES_RULE.name);
    expect(live.length).toBeGreaterThan(0);
    expect(live.filter((d) => d.outcome !== 'ok')).toEqual([]);
    expect(
      log.deliveries.filter((d) => d.rule !== LIVE_UPDATES_RULE.name).map((d) => [d.rule, d.outcome]),
    ).toEqual([
      ['lds-session-running', 'ok'],
      ['lds-session-ended', 'ok'],
      ['grading-session-result', 'ok'],
    ]);
    // The outbox runs behind the table stream: wait until the last step has been published.
    await waitUntilAsync('the outbox to publish the TERMINATED step', async () =>
      outboundFor(await busLog(local), booked.id).some((p) => p.event.detail.data?.to === 'TERMINATED'),
    );
    const outbound = outboundFor(await busLog(local), booked.id);
    const types = outbound.map((p) => p.event['detail-type']);
    expect(types[0]).toBe('io.lablet.lcm.session.created.v1');
    expect(types).toContain('io.lablet.lcm.session.ready.v1');
    expect(types).toContain('io.lablet.lcm.session.scored.v1');
    const readyEvent = outbound.find((p) => p.event['detail-type'] === 'io.lablet.lcm.session.ready.v1');
    // Least privilege: the bus learns the session is ready, not the URL that logs its learner in
    // (the portal reads that through GET /v1/sessions/{id}, as above).
    expect(readyEvent!.event.detail.data).toMatchObject({ sessionId: booked.id });
    expect(JSON.stringify(readyEvent!.event)).not.toContain(ready.userSession!.loginUrl!);
    expect(readyEvent!.event.detail.data).not.toHaveProperty('loginUrl');
    const statuses = outbound
      .filter((p) => p.event['detail-type'] === 'io.lablet.lcm.session.status-changed.v1')
      .map((p) => p.event.detail.data?.to);
    expect(statuses).toEqual(statusPath(graded));
    // LCM's own events never loop back into the partner rules: only the live-updates broadcaster takes them.
    expect(outbound.every((p) => p.rules.every((r) => r === LIVE_UPDATES_RULE.name))).toBe(true);

    // The business metrics the handlers printed as EMF, collected by the local stack (issue 13, item 8).
    expect(local.metrics).toBe(`${local.apiUrl}/_lcm/metrics`);
    const metricsNow = async () => (await (await fetch(local.metrics)).json()) as LocalMetricsSnapshot;
    const sumOf = (m: LocalMetricsSnapshot, name: string, dims: Record<string, string> = {}) =>
      m.series
        .filter((x) => x.name === name && Object.entries(dims).every(([k, v]) => x.dimensions[k] === v))
        .reduce((n, x) => n + x.sum, 0);
    // The outbox prints a batch's metrics when its invocation returns, a moment after publishing.
    await waitUntilAsync(
      'the TERMINATED session in the local metrics',
      async () => sumOf(await metricsNow(), 'SessionsTerminated') > 0,
    );
    const m = await metricsNow();
    expect(sumOf(m, 'SessionsBooked', { definition: 'demo-ospf-graded', stage: 'local' })).toBe(1);
    expect(sumOf(m, 'SessionsReady')).toBe(1);
    // Booked to start now: READY comes after the start, a late READY by its lateness in seconds.
    expect(sumOf(m, 'SessionReadyLate')).toBe(1);
    const lateness = m.series.find((x) => x.name === 'SessionLatenessSeconds');
    expect(lateness).toMatchObject({ unit: 'Seconds', count: 1 });
    expect(lateness!.sum).toBeGreaterThan(0);
    expect(lateness!.sum).toBeLessThan(STEP_TIMEOUT_MS / 1000);
    expect(sumOf(m, 'SessionsTerminated', { reason: 'COMPLETED' })).toBe(1);
    expect(sumOf(m, 'GradingOutcomes', { reason: 'PASSED' })).toBe(1);
    expect(sumOf(m, 'PlacementAttempts', { reason: 'PLACED' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(m, 'InboundEventsAccepted', { partner: 'lds' })).toBe(2);
    expect(sumOf(m, 'InboundEventsRejected', { partner: 'unknown', reason: 'SIGNATURE' })).toBe(1);
    // The seeded workers' boots, per template, from their state history.
    expect(sumOf(m, 'WorkerLaunches')).toBeGreaterThanOrEqual(2);
    const boots = m.series.filter((x) => x.name === 'WorkerBootSeconds');
    expect(boots.length).toBeGreaterThanOrEqual(1);
    expect(boots.every((b) => b.unit === 'Seconds' && b.min > 0 && b.history.length === b.count)).toBe(true);
    expect(m.totals.SessionsBooked).toBe(1);

    // Its cost (issue 13, item 4; docs/cost.md), through the normal API routes of the local stack.
    await expectCostOf(local, booked.id, graded);

    await stop(first.run, local, 'SIGTERM');
  }, 240_000);

  it('a restart seeds nothing twice; with the LDS simulator logging in and out, a session runs by itself', async () => {
    expect(graded, 'the first test must have run').toBeDefined();
    const { run, local } = await start({
      LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS: '1',
      LCM_SANDBOX_LDS_AUTOEND_SECONDS: '2',
    });

    // The same template, definitions and workers — re-attached to fresh sandbox instances.
    const templates = await api<{ items: Json[] }>(local, 'viewer', '/v1/worker-templates');
    expect(templates.body.items.map((t) => [t.name, t.version])).toEqual([['sandbox-cml', 1]]);
    const defs = await api<{ items: Json[] }>(local, 'viewer', '/v1/definitions');
    expect(defs.body.items.map((d) => [d.id, d.version])).toEqual([
      ['demo-console-practice', 1],
      ['demo-ospf-graded', 1],
      ['demo-pooled', 1],
    ]);
    const workers = await api<{ items: Json[] }>(local, 'viewer', '/v1/workers');
    expect(workers.body.items.map((w) => [w.id, w.status])).toEqual([
      ['sandbox-worker-1', 'RUNNING'],
      ['sandbox-worker-2', 'RUNNING'],
    ]);
    for (const w of workers.body.items) {
      const info = await fetch(`${w.cmlBaseUrl}/system_information`);
      expect(await info.json()).toMatchObject({ ready: true });
    }
    // The first run's session is still there as it ended.
    const before = await getSession(local, graded.id);
    expect(before).toMatchObject({ status: 'TERMINATED', score: graded.score });

    // The ungraded lab: the LDS simulator reports the login and the end on its own.
    const booked = await book(local, 'demo-console-practice', 10);
    const done = await sessionUntil(local, booked.id, 'TERMINATED', (s) => s.status === 'TERMINATED');
    expect(statusPath(done)).toEqual([
      'SCHEDULED',
      'INSTANTIATING',
      'READY',
      'RUNNING',
      'COLLECTING',
      'STOPPING',
      'STOPPED',
      'ARCHIVED',
      'TERMINATED',
    ]);
    expect(done.score).toBeNull();
    expect(done.userSession!.loginUrl).toMatch(/\/login\//);
    const log = await busLog(local);
    const inbound = log.published.filter((p) => p.event.source !== 'lcm.control-plane');
    expect(inbound.map((p) => [p.event.source, p.event['detail-type']])).toEqual([
      ['urn:lablet:lds:sandbox', 'io.lablet.lds.session.running.v1'],
      ['urn:lablet:lds:sandbox', 'io.lablet.lds.session.ended.v1'],
    ]);
    expect(log.deadLetters).toEqual([]);

    await stop(run, local, 'SIGINT');
  }, 240_000);
});

async function waitUntilAsync(
  what: string,
  check: () => Promise<boolean>,
  // As long as a session step may take (the walk-through measures no latency; CI runs every test
  // project at once on two cores, where the stream-driven outbox can lag).
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
