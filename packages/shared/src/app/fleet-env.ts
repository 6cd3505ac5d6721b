import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CmlFactory, FleetDeps } from '../fleet/index.ts';
import { fleetConfigFromEnv, scalingConfigFromEnv } from '../fleet/index.ts';
import type { IntegrationLogger } from '../platform/index.ts';
import {
  type CmlApi,
  type CredentialsProvider,
  cmlCredentialsFor,
  cmlSecretConfigFromEnv,
  createCmlClient,
  createDocumentClient,
  createEc2Compute,
  createFleetWorkflows,
  createWorkflowEngine,
  SecretCache,
  staticCredentials,
} from '../platform/index.ts';
import { type SessionTeardown, sessionFailerFor, sessionTeardownWith } from '../sessions/index.ts';
import { taskDeps as sessionTaskDeps } from './session-task.ts';
import { createStores } from './stores.ts';

/**
 * The fleet handlers' dependencies (workflow tasks in functions/tasks/fleet, schedules in
 * functions/schedules) from the Lambda environment, built once per cold start:
 *
 * | variable | what |
 * |---|---|
 * | TABLE_NAME (+ AWS_ENDPOINT_URL_DYNAMODB locally) | the table |
 * | LCM_WORKER_AMI_OWNERS | owners for AMI name patterns (comma list; default any) |
 * | LCM_CML_SECRET_ID (+ LCM_CML_SECRET_OVERRIDES), or LCM_CML_CREDENTIALS locally | CML credentials |
 * | LCM_CML_LICENSE_SECRET_ID, or LCM_CML_LICENSE_TOKEN locally | CML Smart Licensing token |
 * | WORKFLOW_ENGINE, WORKER_PROVISIONING_STATE_MACHINE_ARN, WORKER_DRAIN_STATE_MACHINE_ARN, SESSION_STATE_MACHINE_ARN (+ AWS_ENDPOINT_URL_SFN locally) | workflows |
 * | LCM_STAGE, LCM_WORKER_* and the timing variables | FleetConfig (config.ts) |
 *
 * The local stack replaces what has no local endpoint (EC2: the sandbox compute provider) with
 * `setFleetDepsOverride`, since production code never imports the sandbox.
 */

type Env = Record<string, string | undefined>;

const list = (v: string | undefined): string[] | undefined =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function cmlFactory(env: Env, secrets: () => SecretCache, logger?: IntegrationLogger): CmlFactory {
  let credentialsOf: (workerId: string) => CredentialsProvider;
  const staticCml = env.LCM_CML_CREDENTIALS;
  if (staticCml) {
    const parsed = JSON.parse(staticCml) as { username?: unknown; password?: unknown };
    if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
      throw new Error('LCM_CML_CREDENTIALS must be JSON {"username", "password"}');
    }
    const provider = staticCredentials({ username: parsed.username, password: parsed.password });
    credentialsOf = () => provider;
  } else {
    const secretConfig = env.LCM_CML_SECRET_ID ? cmlSecretConfigFromEnv(env) : undefined;
    credentialsOf = (workerId) => {
      if (secretConfig) return cmlCredentialsFor(secrets(), secretConfig, workerId);
      // system_information needs no credentials; anything else fails with a clear message.
      return {
        getCredentials: async () => {
          throw new Error('CML credentials are not configured (LCM_CML_SECRET_ID or LCM_CML_CREDENTIALS)');
        },
      };
    };
  }
  // One client per worker and base URL per cold start, so its token is reused between calls.
  const clients = new Map<string, CmlApi>();
  return (worker) => {
    const key = `${worker.id} ${worker.cmlBaseUrl}`;
    let client = clients.get(key);
    if (!client) {
      client = createCmlClient({
        baseUrl: worker.cmlBaseUrl,
        credentials: credentialsOf(worker.id),
        logger,
        // Readiness and health are polled (the poll is the retry): short, few attempts, so one
        // check of an unreachable host stays well inside its task's timeout.
        timeoutMs: 8_000,
        retry: { attempts: 2 },
      });
      clients.set(key, client);
    }
    return client;
  };
}

function licenseTokenSource(env: Env, secrets: () => SecretCache): () => Promise<string | undefined> {
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

/** The fleet's dependencies plus what the schedules need of the sessions context. */
export interface FleetRuntimeDeps extends FleetDeps {
  /** The session workflow's teardown steps, for the stuck-session sweep. */
  sessionTeardown: SessionTeardown;
}

export function fleetDepsFromEnv(env: Env = process.env, logger?: IntegrationLogger): FleetRuntimeDeps {
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  let cache: SecretCache | undefined;
  const secrets = () => {
    cache ??= new SecretCache({ client: new SecretsManagerClient({}) });
    return cache;
  };
  const client = createDocumentClient();
  const stores = createStores({ client, tableName });
  return {
    workers: stores.workers,
    templates: stores.templates,
    sessions: stores.sessions,
    definitions: stores.definitions,
    leases: stores.leases,
    compute: createEc2Compute({ imageOwners: list(env.LCM_WORKER_AMI_OWNERS) }),
    cml: cmlFactory(env, secrets, logger),
    licenseToken: licenseTokenSource(env, secrets),
    workflows: createFleetWorkflows(env as NodeJS.ProcessEnv),
    failSessionsOn: sessionFailerFor({
      sessions: stores.sessions,
      definitions: stores.definitions,
      engine: createWorkflowEngine(env as NodeJS.ProcessEnv),
    }),
    // The session workflow's own task dependencies (LDS, evidence, ...), built on first use.
    sessionTeardown: (sessionId, why) => sessionTeardownWith(sessionTaskDeps())(sessionId, why),
    scaling: stores.scaling,
    scalingConfig: scalingConfigFromEnv(env),
    config: fleetConfigFromEnv(env),
  };
}

/** Environment variables whose change means "new dependencies" (tests and the local stack reuse a process). */
export const FLEET_ENV_KEYS = [
  'TABLE_NAME',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SFN',
  'LCM_WORKER_AMI_OWNERS',
  'LCM_CML_SECRET_ID',
  'LCM_CML_SECRET_OVERRIDES',
  'LCM_CML_CREDENTIALS',
  'LCM_CML_LICENSE_TOKEN',
  'LCM_CML_LICENSE_SECRET_ID',
  'WORKFLOW_ENGINE',
  'SESSION_STATE_MACHINE_ARN',
  'WORKER_PROVISIONING_STATE_MACHINE_ARN',
  'WORKER_DRAIN_STATE_MACHINE_ARN',
  'LCM_STAGE',
  'LCM_WORKER_SUBNET_IDS',
  'LCM_WORKER_SECURITY_GROUP_IDS',
  'LCM_WORKER_INSTANCE_PROFILE',
  'LCM_WORKER_KEY_NAME',
  'LCM_WORKER_USER_DATA',
  'LCM_WORKER_USER_DATA_B64',
  'LCM_WORKER_EXTRA_TAGS',
  'LCM_FLEET_POLL_SECONDS',
  'LCM_DRAIN_POLL_SECONDS',
  'LCM_INSTANCE_POLL_SECONDS',
  'LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS',
  'LCM_CML_READY_MARGIN_MINUTES',
  'LCM_CML_READY_TIMEOUT_SECONDS',
  'LCM_CML_BASE_URL_TEMPLATE',
  'LCM_HEALTH_MAX_FAILURES',
  'LCM_HEALTH_CPU_WINDOW_MINUTES',
  'LCM_MISSING_INSTANCE_GRACE_SECONDS',
  'LCM_STUCK_SESSION_GRACE_SECONDS',
  'LCM_SCALING_MIN_WORKERS',
  'LCM_SCALING_MAX_WORKERS',
  'LCM_SCALING_MAX_CONCURRENT_LAUNCHES',
  'LCM_SCALING_COOLDOWN_SECONDS',
  'LCM_SCALING_LOOKAHEAD_MARGIN_MINUTES',
  'LCM_SCALING_IDLE_MINUTES',
  'LCM_SCALE_DOWN_IDLE_SECONDS',
  'LCM_SCALING_POST_LAUNCH_GRACE_MINUTES',
  'LCM_SCALING_POST_LAUNCH_GRACE_SECONDS',
  'LCM_SCALING_MAX_DRAIN_SHARE',
  'LCM_SCALING_WARM_STOPPED_PER_TEMPLATE',
  'LCM_SCALING_WARM_START_MINUTES',
] as const;
