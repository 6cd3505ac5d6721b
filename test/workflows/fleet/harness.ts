import { SFNClient } from '@aws-sdk/client-sfn';
import {
  fleetStateMachines,
  LOCAL_DRAIN_STATE_MACHINE,
  LOCAL_PROVISIONING_STATE_MACHINE,
} from '@lcm/sandbox/compute/index';
import { type CmlSimulator, type CmlSimulatorOptions, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import type { ExecutionSnapshot } from '@lcm/sandbox/stepfunctions/engine';
import { type LocalStepFunctions, startLocalStepFunctions } from '@lcm/sandbox/stepfunctions/server';
import { createStores, type Stores, setFleetDepsOverride } from '@lcm/shared/app';
import type { Worker } from '@lcm/shared/kernel';
import { RecordingWorkflowEngine, StepFunctionsFleetWorkflows } from '@lcm/shared/platform';
import { sessionFailerFor } from '@lcm/shared/sessions';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { FakeEc2 } from './fake-ec2.ts';

/**
 * What a fleet-workflow test runs against: DynamoDB Local (a fresh table), EC2 and CloudWatch
 * mocked at the SDK boundary (fake-ec2.ts), one CML simulator over real HTTP that every running
 * instance's `https://{ip}/api/v0` is pointed at (LCM_CML_BASE_URL_TEMPLATE), and the local Step
 * Functions endpoint running the repository's worker-provisioning and worker-drain ASL with the
 * real task handlers, which read their configuration from process.env as in Lambda. Executions
 * are started through the real StepFunctionsFleetWorkflows adapter and SDK client.
 */

export const STAGE = 'wftest';
export const SUBNETS = ['subnet-0aaa', 'subnet-0bbb'];
export const SECURITY_GROUP = 'sg-0cml';
export const INSTANCE_PROFILE = 'lcm-worker-profile';
export const LICENSE_TOKEN = 'smart-license-token-1';

/** Pauses of the run (ms); the ASL itself is unchanged. */
const WAITS = ['WaitForInstance', 'WaitForCml', 'WaitForSessions', 'WaitForStop', 'WaitForTermination'];
const TASKS = [
  'Prepare',
  'ResolveImage',
  'LaunchInstance',
  'StartInstance',
  'CheckInstance',
  'CheckCml',
  'RegisterLicense',
  'MarkRunning',
  'FailProvisioning',
  'DrainStep',
  'FailDrain',
];

export interface FleetHarness {
  table: TestTable;
  stores: Stores;
  ec2: FakeEc2;
  cml: CmlSimulator;
  sfn: LocalStepFunctions;
  workflows: StepFunctionsFleetWorkflows;
  /** The session workflow engine the drain fails sessions through (recording). */
  sessionEngine: RecordingWorkflowEngine;
  /** Replaces the CML simulator (other readiness/licensing behaviour). */
  restartCml(opts: CmlSimulatorOptions): Promise<void>;
  setEnv(name: string, value: string | undefined): void;
  close(): Promise<void>;
}

type Closer = () => Promise<void> | void;

export async function startFleetHarness(cmlOpts: CmlSimulatorOptions = {}): Promise<FleetHarness> {
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
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  closers.push(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  try {
    const table = await createTestTable('wf-fleet');
    closers.push(() => table.cleanup());
    const stores = createStores({ client: table.client, tableName: table.tableName });

    const ec2 = new FakeEc2();
    closers.push(() => ec2.restore());

    const h: Partial<FleetHarness> = {};
    let cml = await startCmlSimulator({ licensed: false, validLicenseTokens: [LICENSE_TOKEN], ...cmlOpts });
    closers.push(() => h.cml?.stop());
    const pointCml = (sim: CmlSimulator) =>
      setEnv('LCM_CML_BASE_URL_TEMPLATE', `http://{ip}:${sim.port}/api/v0`);
    pointCml(cml);

    setEnv('AWS_REGION', 'us-east-1');
    setEnv('AWS_ACCESS_KEY_ID', 'local');
    setEnv('AWS_SECRET_ACCESS_KEY', 'local');
    setEnv('TABLE_NAME', table.tableName);
    setEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
    setEnv('LCM_STAGE', STAGE);
    setEnv('LCM_WORKER_SUBNET_IDS', SUBNETS.join(','));
    setEnv('LCM_WORKER_SECURITY_GROUP_IDS', SECURITY_GROUP);
    setEnv('LCM_WORKER_INSTANCE_PROFILE', INSTANCE_PROFILE);
    setEnv('LCM_WORKER_USER_DATA', '#!/bin/bash\necho worker={{workerId}} stage={{stage}}\n');
    setEnv('LCM_CML_CREDENTIALS', JSON.stringify({ username: 'admin', password: 'admin-password' }));
    setEnv('LCM_CML_LICENSE_TOKEN', LICENSE_TOKEN);
    setEnv('LCM_FLEET_POLL_SECONDS', '1');
    setEnv('LCM_DRAIN_POLL_SECONDS', '1');
    setEnv('LCM_INSTANCE_POLL_SECONDS', '1');
    setEnv('LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS', '30');
    setEnv('LCM_CML_READY_TIMEOUT_SECONDS', '30');
    setEnv('WORKFLOW_ENGINE', 'recording');
    setEnv('POWERTOOLS_LOG_LEVEL', 'CRITICAL');

    // The session engine the drain's WORKER_TERMINATED path fails sessions through.
    const sessionEngine = new RecordingWorkflowEngine();
    setFleetDepsOverride({ failSessionsOn: failerOf(stores, sessionEngine) });
    closers.push(() => setFleetDepsOverride(undefined));

    const sfn = await startLocalStepFunctions({
      stateMachines: await fleetStateMachines(),
      waitTimeOverrides: Object.fromEntries(WAITS.map((w) => [w, 25])),
      retryIntervalOverrides: Object.fromEntries(TASKS.map((t) => [t, 10])),
    });
    closers.push(() => sfn.stop());
    const sfnClient = new SFNClient({
      endpoint: sfn.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    closers.push(() => sfnClient.destroy());
    const workflows = new StepFunctionsFleetWorkflows({
      provisioningStateMachineArn: sfn.stateMachineArns[LOCAL_PROVISIONING_STATE_MACHINE]!,
      drainStateMachineArn: sfn.stateMachineArns[LOCAL_DRAIN_STATE_MACHINE]!,
      client: sfnClient,
    });

    Object.assign(h, {
      table,
      stores,
      ec2,
      cml,
      sfn,
      workflows,
      sessionEngine,
      setEnv,
      close,
      async restartCml(opts: CmlSimulatorOptions) {
        await cml.stop();
        cml = await startCmlSimulator({ licensed: false, validLicenseTokens: [LICENSE_TOKEN], ...opts });
        h.cml = cml;
        pointCml(cml);
      },
    });
    return h as FleetHarness;
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}

/** Ends when the execution ends; the failure message shows where it was. */
export async function finished(
  h: FleetHarness,
  executionArn: string,
  timeoutMs = 30_000,
): Promise<ExecutionSnapshot> {
  return h.sfn.waitForExecution(executionArn, timeoutMs);
}

/** States entered and the last errors of an execution (for failure messages). */
export function trace(e: ExecutionSnapshot): string {
  const failures = e.events
    .filter((ev) => ev.error)
    .slice(-3)
    .map((ev) => `${ev.type} ${ev.state ?? ''} ${ev.error}: ${ev.cause ?? ''}`.slice(0, 300));
  return `${e.status}: ${e.states.join(' → ')}${failures.length ? `\n  ${failures.join('\n  ')}` : ''}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
    await sleep(25);
  }
}

export const statusesOf = (w: Worker): string[] => w.stateHistory.map((h) => `${h.from}→${h.to}`);

/** The sessions context's FailSessionsOn over the harness's stores and a recording session engine. */
export const failerOf = (stores: Stores, engine: RecordingWorkflowEngine) =>
  sessionFailerFor({ sessions: stores.sessions, definitions: stores.definitions, engine });
