import type { FleetDeps, ScalingSession } from '../fleet/index.ts';
import { fleetConfigOf, scalingConfigOf, workerCmlBaseUrl } from '../fleet/index.ts';
import type { ComputeProvider } from '../platform/index.ts';
import {
  cachedDeps,
  createEc2Compute,
  createFleetWorkflows,
  createWorkflowEngine,
  failing,
  lazy,
  type SecretCache,
} from '../platform/index.ts';
import {
  DEFAULT_LIFECYCLE_CONFIG,
  finishSession,
  type IdleSweepDeps,
  type PoolDeps,
  readPoolDemand,
  redriveSession,
  type SessionRedrive,
  type SessionTeardown,
  sessionFailerFor,
  sessionTeardownWith,
} from '../sessions/index.ts';
import { FLEET_ENV, type FleetEnv, fleetEngineEnv, sessionEngineEnv } from './env.ts';
import { cmlClients, secretCache } from './partner-clients.ts';
import { sessionTaskDeps } from './session-env.ts';
import { tableStores } from './stores.ts';

/**
 * The fleet handlers' dependencies (workflow tasks in functions/tasks/fleet, schedules in
 * functions/schedules) from FLEET_ENV (app/env.ts), built once per cold start and each one on
 * first use:
 *
 * | variable | what |
 * |---|---|
 * | TABLE_NAME (+ AWS_ENDPOINT_URL_DYNAMODB locally) | the table |
 * | LCM_WORKER_AMI_OWNERS | owners for AMI name patterns (comma list; default any) |
 * | LCM_CML_SECRET_ID (+ LCM_CML_SECRET_OVERRIDES), or LCM_CML_CREDENTIALS locally | CML credentials |
 * | LCM_CML_LICENSE_SECRET_ID, or LCM_CML_LICENSE_TOKEN locally | CML Smart Licensing token |
 * | WORKFLOW_ENGINE, WORKER_PROVISIONING_STATE_MACHINE_ARN, WORKER_DRAIN_STATE_MACHINE_ARN, SESSION_STATE_MACHINE_ARN (+ AWS_ENDPOINT_URL_SFN locally) | workflows |
 * | LCM_STAGE, LCM_WORKER_* and the timing variables | FleetConfig (fleet/config.ts) |
 * | LCM_SCALING_* | ScalingConfig (fleet/scalers.ts) |
 *
 * Two parts are wired by the handlers that use them, so the others neither build nor bundle
 * them: `compute: ec2Compute` (EC2 and CloudWatch) and `sessionTeardown: sessionTeardownOf`
 * (the session workflow's teardown, for the stuck-session sweep). The local stack replaces what
 * has no local endpoint (EC2: the sandbox compute provider) with `setFleetDepsOverride`, since
 * production code never imports the sandbox.
 */

/** The fleet's dependencies plus what the schedules need of the sessions context. */
export interface FleetRuntimeDeps extends FleetDeps {
  /** The session workflow's teardown steps, for the stuck-session sweep. */
  sessionTeardown: SessionTeardown;
  /** Re-drives a session whose workflow is dead (sessions/recovery.ts), for the stuck-session sweep. */
  sessionRedrive: SessionRedrive;
  /** The idle sweep's session store and finish (as POST /v1/sessions/{id}/finish). */
  idleSweep: IdleSweepDeps;
  /** The hot-start pool reconciler's dependencies (issue 15, item 3). */
  pools: PoolDeps;
  /** The pools' unplaced labs as the scaler's waiting demand. */
  poolDemand: () => Promise<ScalingSession[]>;
}

/** Who the sweep's recoveries are attributed to in the session history. */
export const STUCK_SESSION_SWEEP_ACTOR = 'sweep:stuck-sessions';

function licenseTokenSource(env: FleetEnv, secrets: () => SecretCache): () => Promise<string | undefined> {
  const direct = env.LCM_CML_LICENSE_TOKEN;
  if (direct) return async () => direct;
  const secretId = env.LCM_CML_LICENSE_SECRET_ID;
  if (!secretId) return async () => undefined;
  return async () => {
    const text = (await secrets().getSecretString(secretId)).trim();
    try {
      const parsed = JSON.parse(text) as { token?: unknown };
      if (parsed && typeof parsed === 'object' && typeof parsed.token === 'string') return parsed.token;
    } catch {
      // a plain-text secret is the token itself
    }
    return text || undefined;
  };
}

const notWired = <T>(what: string, wiring: string): T =>
  failing<T>(`${what} is not wired into this function: ${wiring}`);

/** The dependencies of a parsed environment, each built on first use. */
export function fleetDepsOf(env: FleetEnv): FleetRuntimeDeps {
  const secrets = secretCache();
  const stores = tableStores(env.TABLE_NAME);
  return lazy<FleetRuntimeDeps>({
    workers: () => stores().workers,
    templates: () => stores().templates,
    sessions: () => stores().sessions,
    definitions: () => stores().definitions,
    leases: () => stores().leases,
    leftoverLabs: () => stores().leftoverLabs,
    scaling: () => stores().scaling,
    compute: () => notWired<ComputeProvider>('EC2 compute', 'fleetTask(..., { compute: ec2Compute })'),
    cml: () => {
      // Readiness and health are polled (the poll is the retry): short, few attempts, so one
      // check of an unreachable host stays well inside its task's timeout.
      const clients = cmlClients(env, {
        secrets,
        unconfigured: 'lazy',
        timeoutMs: 8_000,
        retry: { attempts: 2 },
      });
      return (worker) => clients(worker.id, worker.cmlBaseUrl);
    },
    licenseToken: () => licenseTokenSource(env, secrets),
    workflows: () => createFleetWorkflows(fleetEngineEnv(env)),
    failSessionsOn: () =>
      sessionFailerFor({
        sessions: stores().sessions,
        definitions: stores().definitions,
        engine: createWorkflowEngine(sessionEngineEnv(env)),
      }),
    idleSweep: () => {
      const deps = {
        sessions: stores().sessions,
        definitions: stores().definitions,
        engine: createWorkflowEngine(sessionEngineEnv(env)),
      };
      return { sessions: deps.sessions, finish: (sessionId, ctx) => finishSession(deps, sessionId, ctx) };
    },
    pools: () => {
      const clients = cmlClients(env, {
        secrets,
        unconfigured: 'lazy',
        timeoutMs: 20_000,
        retry: { attempts: 2 },
      });
      return {
        pools: stores().pools,
        definitions: stores().definitions,
        workers: stores().workers,
        leases: stores().leases,
        leftoverLabs: stores().leftoverLabs,
        cml: (worker) => clients(worker.id, workerCmlBaseUrl(worker)),
        labBootTimeoutSeconds: DEFAULT_LIFECYCLE_CONFIG.labBootTimeoutSeconds,
      };
    },
    poolDemand: () => () => readPoolDemand({ pools: stores().pools, definitions: stores().definitions }),
    sessionRedrive: () => {
      const deps = { sessions: stores().sessions, engine: createWorkflowEngine(sessionEngineEnv(env)) };
      return (session, execution) =>
        redriveSession(
          deps,
          session.id,
          { executionArn: session.executionArn, execution },
          { by: STUCK_SESSION_SWEEP_ACTOR, why: 'stuck-session sweep' },
        );
    },
    sessionTeardown: () =>
      notWired<SessionTeardown>(
        'the session teardown',
        'fleetJob(..., { sessionTeardown: sessionTeardownOf })',
      ),
    scalingConfig: () => scalingConfigOf(env),
    config: () => fleetConfigOf(env),
  });
}

/** Part `compute`: EC2 (instances, images) and CloudWatch (CPU), through the runtime kit's clients. */
export const ec2Compute = (env: FleetEnv): ComputeProvider =>
  createEc2Compute({ imageOwners: env.LCM_WORKER_AMI_OWNERS });

/** Part `sessionTeardown`: the session workflow's teardown steps on the session task dependencies. */
export const sessionTeardownOf =
  (_env: FleetEnv): SessionTeardown =>
  (sessionId, why) =>
    sessionTeardownWith(sessionTaskDeps())(sessionId, why);

/**
 * The process's fleet dependencies, rebuilt when FLEET_ENV changes; `fleetDeps.with(parts)`
 * wires parts in, `fleetDeps.override(parts)` replaces parts in this process.
 */
export const fleetDeps = /* @__PURE__ */ cachedDeps('fleet', FLEET_ENV, fleetDepsOf);

/**
 * Replaces parts of every fleet handler's dependencies in this process: the local stack passes
 * the sandbox compute provider (there is no local EC2 endpoint), tests pass their fakes.
 * `undefined` removes the override.
 */
export const setFleetDepsOverride = (parts: Partial<FleetRuntimeDeps> | undefined): void =>
  fleetDeps.override(parts);
