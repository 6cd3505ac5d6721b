import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type CmlSimulator, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import { type GradingSimulator, startGradingSimulator } from '@lcm/sandbox/simulators/grading';
import { type LdsSimulator, startLdsSimulator } from '@lcm/sandbox/simulators/lds';
import { type LocalStepFunctions, startLocalStepFunctions } from '@lcm/sandbox/stepfunctions/server';
import { createStores, type Stores } from '@lcm/shared/app';
import {
  type GradingCompletedData,
  type GradingFailedData,
  INBOUND_EVENT_TYPES,
  type LdsSessionEventData,
  parseInboundEvent,
  scoreReportFromEvent,
} from '@lcm/shared/events';
import type { LabletSession, SessionStatus, Worker } from '@lcm/shared/kernel';
import { StepFunctionsWorkflowEngine } from '@lcm/shared/platform';
import {
  ensureWorkflowStarted,
  finishSession,
  observeGradingResult,
  observeLearnerEvent,
  type SessionActionContext,
  type WaitDeps,
} from '@lcm/shared/sessions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createTestTable, type TestTable } from '../support/table.ts';

/**
 * Everything a session-workflow test runs against: DynamoDB Local (a fresh table), the CML, LDS
 * and Grading simulators over HTTP, the evidence bucket mocked at the S3 SDK boundary, and the
 * local Step Functions endpoint running the repository's ASL with the real task handlers. The
 * handlers read their configuration from process.env, as in Lambda; the partners' CloudEvents
 * reach a small receiver that calls sessions/waits.ts, as the event handlers do.
 */

export const EVIDENCE_BUCKET = 'lcm-test-evidence';
export const WORKER_IP = '10.0.7.21';
const LDS_KEY = 'lds-test-key';
const GRADING_KEY = 'grading-test-key';
const EVENT_SECRET = 'partner-secret-0123456789';

/** A lab with console, SSH and VNC ports (PATty tags) and a node that cannot extract configs. */
export const TOPOLOGY = `lab:
  title: OSPF basics
  version: 0.3.0
nodes:
  - id: n0
    label: R1
    node_definition: iol-xe
    x: 0
    y: 0
    tags: [serial:4001, "pat:4022:22"]
    configuration: |-
      hostname R1
    interfaces:
      - {id: i0, label: Ethernet0/0, type: physical, slot: 0}
  - id: n1
    label: R2
    node_definition: iol-xe
    x: 100
    y: 0
    tags: [serial:4002]
    interfaces:
      - {id: i0, label: Ethernet0/0, type: physical, slot: 0}
  - id: n2
    label: SW
    node_definition: unmanaged_switch
    x: 50
    y: 50
    tags: []
    interfaces:
      - {id: i0, label: port0, type: physical, slot: 0}
      - {id: i1, label: port1, type: physical, slot: 1}
links:
  - {id: l0, n1: n0, i1: i0, n2: n2, i2: i0}
  - {id: l1, n1: n1, i1: i0, n2: n2, i2: i1}
annotations: []
`;

export const PORT_TEMPLATE = [
  { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial' as const, insidePort: 0, templatePort: 4001 },
  { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp' as const, insidePort: 22, templatePort: 4022 },
  { name: 'R2_serial', nodeLabel: 'R2', kind: 'serial' as const, insidePort: 0, templatePort: 4002 },
];

export const REQUIREMENTS = { cpuCores: 2, memoryGb: 2, storageGb: 2, nodeCount: 2 };

/** Definition ids: with grading rules, without, and one too big for any worker. */
export const DEF_GRADED = 'ospf-graded';
export const DEF_UNGRADED = 'ospf-practice';

export interface Harness {
  table: TestTable;
  stores: Stores;
  cml: CmlSimulator;
  lds: LdsSimulator;
  grading: GradingSimulator;
  sfn: LocalStepFunctions;
  /** The real adapter over the real SDK client, pointed at the local endpoint. */
  engine: StepFunctionsWorkflowEngine;
  sfnClient: SFNClient;
  /** What the evidence bucket holds (key → body). */
  evidence: Map<string, string>;
  waitDeps: WaitDeps;
  worker: Worker;
  /** Partner events the receiver saw, with what waits.ts answered. */
  received: Array<{ type: string; lcmSessionId: string; outcome: string }>;
  /** Drop grading result events (grading timeout). */
  dropGradingEvents: boolean;
  close(): Promise<void>;
}

type Closer = () => Promise<void> | void;

async function startEventReceiver(
  handle: (event: unknown) => Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          await handle(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(202).end();
        } catch (e) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/events`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sets an environment variable until `close` (restored, or removed when it was unset). */
function envSetter(closers: Closer[]) {
  return (name: string, value: string) => {
    const before = process.env[name];
    process.env[name] = value;
    closers.push(() => {
      if (before === undefined) delete process.env[name];
      else process.env[name] = before;
    });
  };
}

export interface HarnessOptions {
  /** Wait states that keep their real duration (by default the placement retry and lab boot waits are shortened). */
  realWaits?: readonly string[];
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const closers: Closer[] = [];
  const close = async () => {
    const errors: unknown[] = [];
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push(e);
      }
    }
    closers.length = 0;
    if (errors.length > 0) throw new AggregateError(errors, 'harness close failed');
  };
  try {
    const setEnv = envSetter(closers);
    const table = await createTestTable('wf');
    closers.push(() => table.cleanup());
    const stores = createStores({ client: table.client, tableName: table.tableName });

    // The evidence bucket, mocked at the SDK boundary: every S3Client in this process.
    const evidence = new Map<string, string>();
    const s3 = mockClient(S3Client);
    closers.push(() => s3.restore());
    s3.on(PutObjectCommand).callsFake((input: { Bucket?: string; Key?: string; Body?: unknown }) => {
      if (input.Bucket !== EVIDENCE_BUCKET) throw new Error(`unexpected bucket ${input.Bucket}`);
      evidence.set(String(input.Key), String(input.Body));
      return { ETag: `"${randomUUID()}"` };
    });
    // Definitions' topologies are read back from the bucket by hash (issue 11, item 1).
    s3.on(GetObjectCommand).callsFake((input: { Bucket?: string; Key?: string }) => {
      if (input.Bucket !== EVIDENCE_BUCKET) throw new Error(`unexpected bucket ${input.Bucket}`);
      const body = evidence.get(String(input.Key));
      if (body === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      return { ContentLength: Buffer.byteLength(body), Body: { transformToString: async () => body } };
    });

    let waitDeps: WaitDeps | undefined;
    const received: Harness['received'] = [];
    const h: Partial<Harness> = { dropGradingEvents: false };
    const receiver = await startEventReceiver(async (raw) => {
      const parsed = parseInboundEvent(raw);
      if (!parsed.ok) throw new Error(`bad event: ${JSON.stringify(parsed.issues)}`);
      const e = parsed.event;
      const deps = waitDeps!;
      const at = typeof e.time === 'string' ? e.time : new Date().toISOString();
      const type: string = e.type;
      let outcome: string;
      if (type.startsWith('io.lablet.lds.')) {
        const data = e.data as LdsSessionEventData;
        const kind =
          type === INBOUND_EVENT_TYPES.ldsSessionRunning
            ? 'LOGIN'
            : type === INBOUND_EVENT_TYPES.ldsSessionPaused
              ? 'PAUSED'
              : 'END';
        outcome = (await observeLearnerEvent(deps, data.lcmSessionId, kind, data.at ?? at)).outcome;
        received.push({ type, lcmSessionId: data.lcmSessionId, outcome });
        return;
      }
      if (h.dropGradingEvents) return;
      if (type === INBOUND_EVENT_TYPES.gradingSessionCompleted) {
        const data = e.data as GradingCompletedData;
        outcome = (
          await observeGradingResult(deps, data.lcmSessionId, {
            completed: scoreReportFromEvent(data, at),
            gradingSessionId: data.gradingSessionId,
          })
        ).outcome;
        received.push({ type, lcmSessionId: data.lcmSessionId, outcome });
        return;
      }
      const data = e.data as GradingFailedData;
      outcome = (
        await observeGradingResult(deps, data.lcmSessionId, {
          failed: data.error,
          gradingSessionId: data.gradingSessionId,
        })
      ).outcome;
      received.push({ type, lcmSessionId: data.lcmSessionId, outcome });
    });
    closers.push(() => receiver.close());

    const cml = await startCmlSimulator({ labBootMs: 150 });
    closers.push(() => cml.stop());
    const lds = await startLdsSimulator({
      apiKey: LDS_KEY,
      eventsUrl: receiver.url,
      eventSecret: EVENT_SECRET,
      eventRetryDelayMs: 50,
    });
    closers.push(() => lds.stop());
    const grading = await startGradingSimulator({
      apiKey: GRADING_KEY,
      eventsUrl: receiver.url,
      eventSecret: EVENT_SECRET,
      gradingDelayMs: 50,
      eventRetryDelayMs: 50,
      readEvidence: async (uri) => {
        const prefix = `s3://${EVIDENCE_BUCKET}/`;
        const body = uri.startsWith(prefix) ? evidence.get(uri.slice(prefix.length)) : undefined;
        if (body === undefined) throw new Error(`no evidence at ${uri}`);
        return JSON.parse(body);
      },
    });
    closers.push(() => grading.stop());

    // What Lambda and the CDK stack give the task handlers.
    setEnv('AWS_REGION', 'us-east-1');
    setEnv('AWS_ACCESS_KEY_ID', 'local');
    setEnv('AWS_SECRET_ACCESS_KEY', 'local');
    setEnv('TABLE_NAME', table.tableName);
    setEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
    setEnv('EVIDENCE_BUCKET', EVIDENCE_BUCKET);
    setEnv('LCM_CML_CREDENTIALS', JSON.stringify({ username: 'admin', password: 'admin-password' }));
    setEnv('LCM_LDS_BASE_URL', lds.url);
    setEnv('LCM_LDS_API_KEY', LDS_KEY);
    setEnv('LCM_GRADING_BASE_URL', grading.url);
    setEnv('LCM_GRADING_API_KEY', GRADING_KEY);
    setEnv('LCM_INSTANTIATE_LEAD_SECONDS', '0');
    setEnv('LCM_LAB_BOOT_TIMEOUT_SECONDS', '30');
    setEnv('LCM_GRADING_TIMEOUT_SECONDS', '30');
    setEnv('LCM_PLACEMENT_RETRY_BASE_SECONDS', '1');
    setEnv('LCM_PLACEMENT_RETRY_MAX_SECONDS', '1');
    setEnv('POWERTOOLS_LOG_LEVEL', 'CRITICAL');

    // Shortened pauses for the run; the ASL itself is unchanged.
    const taskStates = ['PlaceSession', 'CheckSchedule', 'ImportLab', 'CheckLabBooted', 'ProvisionLds'];
    const teardown = [
      'BeginTeardown',
      'DeleteLab',
      'ReleaseCapacity',
      'ArchiveLdsSession',
      'CompleteTeardown',
    ];
    const sfn = await startLocalStepFunctions({
      waitTimeOverrides: Object.fromEntries(
        Object.entries({
          WaitForLabBoot: 50,
          WaitBeforePlacementRetry: 250,
          WaitBeforeDeleteLabRetry: 100,
        }).filter(([state]) => !opts.realWaits?.includes(state)),
      ),
      retryIntervalOverrides: Object.fromEntries(
        [...taskStates, 'MarkRunning', 'CollectEvidence', 'ObserveLab', 'SubmitGrading', ...teardown].map(
          (s) => [s, 20],
        ),
      ),
    });
    closers.push(() => sfn.stop());
    setEnv('AWS_ENDPOINT_URL_SFN', sfn.endpoint);
    setEnv('WORKFLOW_ENGINE', 'stepfunctions');
    setEnv('SESSION_STATE_MACHINE_ARN', sfn.sessionStateMachineArn!);

    const sfnClient = new SFNClient({
      endpoint: sfn.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    closers.push(() => sfnClient.destroy());
    const engine = new StepFunctionsWorkflowEngine({
      stateMachineArn: sfn.sessionStateMachineArn,
      client: sfnClient,
    });
    waitDeps = { sessions: stores.sessions, engine };

    const worker = await stores.workers.create({
      id: 'w-wf-1',
      templateName: 'm5-metal',
      status: 'RUNNING',
      serviceStatus: 'AVAILABLE',
      ipAddress: WORKER_IP,
      cmlBaseUrl: cml.url,
      license: { type: 'ENTERPRISE', status: 'REGISTERED' },
      declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
      portRange: { start: 5000, end: 5099 },
    });
    const definition = {
      name: 'OSPF basics',
      status: 'ACTIVE' as const,
      formQualifiedName: 'lab.ospf.basics.v1',
      topologyYaml: TOPOLOGY,
      resourceRequirements: REQUIREMENTS,
      licenseAffinity: ['ENTERPRISE' as const],
      portTemplate: PORT_TEMPLATE,
      devices: [{ name: 'Router 1 console', portName: 'R1_serial' }],
      maxDurationMinutes: 120,
      createdBy: 'test',
    };
    await stores.definitions.create({
      id: DEF_GRADED,
      ...definition,
      gradingRulesRef: 'rules/ospf-basics@1',
    });
    await stores.definitions.create({ id: DEF_UNGRADED, ...definition });

    Object.assign(h, {
      table,
      stores,
      cml,
      lds,
      grading,
      sfn,
      engine,
      sfnClient,
      evidence,
      waitDeps,
      worker,
      received,
      close,
    });
    return h as Harness;
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}

/**
 * A PENDING session of `definitionId` whose timeslot starts now (or `startInSeconds` from now) and
 * lasts `seconds`.
 */
export async function newSession(
  h: Harness,
  opts: {
    definitionId?: string;
    seconds?: number;
    requirements?: typeof REQUIREMENTS;
    startInSeconds?: number;
    idlePolicy?: LabletSession['idlePolicy'];
  } = {},
): Promise<LabletSession> {
  const id = `s-${randomUUID().slice(0, 8)}`;
  const now = Date.now() + (opts.startInSeconds ?? 0) * 1000;
  return h.stores.sessions.create({
    id,
    definitionId: opts.definitionId ?? DEF_GRADED,
    definitionVersion: 1,
    reservationId: `r-${id}`,
    owner: { userId: 'u-learner', username: 'learner', email: 'learner@example.com' },
    timeslot: {
      start: new Date(now - 1000).toISOString(),
      end: new Date(now + (opts.seconds ?? 120) * 1000).toISOString(),
    },
    requirements: opts.requirements ?? REQUIREMENTS,
    licenseAffinity: ['ENTERPRISE'],
    portTemplate: PORT_TEMPLATE,
    ...(opts.idlePolicy ? { idlePolicy: opts.idlePolicy } : {}),
  });
}

/** The LDS session id LCM opened for session `id`. */
export async function ldsSessionOf(h: Harness, id: string): Promise<string> {
  const user = (await h.stores.sessions.get(id)).userSession;
  if (!user) throw new Error(`session ${id} has no LDS session`);
  return user.ldsSessionId;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined/false), or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(40);
  }
}

/** What the session's execution did so far (for failure messages). */
export function executionTrace(h: Harness, sessionId: string): string {
  const e = h.sfn.executions().find((x) => x.name === sessionId);
  if (!e) return 'no execution';
  const failures = e.events
    .filter((ev) => ev.error)
    .slice(-3)
    .map((ev) => `${ev.type} ${ev.state ?? ''} ${ev.error}: ${ev.cause ?? ''}`.slice(0, 400));
  return `${e.status}: ${e.states.join(' → ')}${failures.length ? `\n  ${failures.join('\n  ')}` : ''}`;
}

async function trace<T>(h: Harness, id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const s = await h.stores.sessions.getSession(id).catch(() => undefined);
    throw new Error(
      `${(e as Error).message}\n  session: ${s?.status} ${s?.failureReason ?? ''}\n  execution: ${executionTrace(h, id)}\n  events: ${JSON.stringify(h.received.filter((r) => r.lcmSessionId === id))}`,
    );
  }
}

export async function waitForStatus(h: Harness, id: string, status: SessionStatus, timeoutMs = 20_000) {
  return trace(h, id, () =>
    eventually(
      `session ${id} to be ${status}`,
      async () => {
        const s = await h.stores.sessions.getSession(id);
        if (s.status === 'TERMINATED' && status !== 'TERMINATED') {
          throw new Error(`session ${id} TERMINATED (${s.failureReason}) while waiting for ${status}`);
        }
        return s.status === status ? s : undefined;
      },
      timeoutMs,
    ),
  );
}

/** Waits until the session's workflow parks on the wait of `kind` (its token stored). */
export async function waitForPendingWait(h: Harness, id: string, kind: 'LOGIN' | 'END' | 'GRADING') {
  return trace(h, id, () =>
    eventually(`session ${id} to wait for ${kind}`, async () => {
      const s = await h.stores.sessions.getSession(id);
      if (s.status === 'TERMINATED') throw new Error(`session ${id} TERMINATED (${s.failureReason})`);
      return s.pendingWait?.kind === kind ? s.pendingWait : undefined;
    }),
  );
}

/**
 * One workflow test file's setup: starts a harness before the file's tests (and closes it after,
 * even on failure), clears every simulator fault before each test, and records the worker's
 * allocation at the start (`baseline`) so a test can check that everything held came back.
 * `start` creates a session and starts its workflow as the API does; `finished` waits for an
 * execution to succeed.
 */
export interface SessionSuite {
  readonly h: Harness;
  readonly baseline: { allocated: unknown; leasedPortCount: number };
  sessionDeps(): Pick<Stores, 'sessions' | 'definitions'> & { engine: StepFunctionsWorkflowEngine };
  start(opts?: Parameters<typeof newSession>[1]): Promise<LabletSession>;
  finished(executionArn: string): ReturnType<LocalStepFunctions['waitForExecution']>;
  /** POST /v1/sessions/{id}/finish's command. */
  finish(id: string, ctx: SessionActionContext): ReturnType<typeof finishSession>;
}

export function sessionSuite(opts: HarnessOptions = {}): SessionSuite {
  let harness: Harness | undefined;
  let baseline: SessionSuite['baseline'] | undefined;
  beforeAll(async () => {
    harness = await startHarness(opts);
    const w = await harness.stores.workers.get(harness.worker.id);
    baseline = { allocated: w.allocatedCapacity, leasedPortCount: w.leasedPortCount };
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(() => {
    if (!harness) return;
    harness.cml.clearFaults();
    harness.lds.clearFaults();
    harness.grading.clearFaults();
    harness.dropGradingEvents = false;
  });
  const suite: SessionSuite = {
    get h() {
      if (!harness) throw new Error('the harness is not started (use it inside a test or hook)');
      return harness;
    },
    get baseline() {
      if (!baseline) throw new Error('the harness is not started (use it inside a test or hook)');
      return baseline;
    },
    sessionDeps: () => ({
      sessions: suite.h.stores.sessions,
      definitions: suite.h.stores.definitions,
      engine: suite.h.engine,
    }),
    start: async (o = {}) => ensureWorkflowStarted(suite.sessionDeps(), await newSession(suite.h, o)),
    finish: (id, ctx) => finishSession(suite.sessionDeps(), id, ctx),
    finished: async (executionArn) => {
      const execution = await suite.h.sfn.waitForExecution(executionArn, 60_000);
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      return execution;
    },
  };
  return suite;
}
