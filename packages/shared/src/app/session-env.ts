import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Worker } from '../kernel/index.ts';
import type { IntegrationLogger } from '../platform/index.ts';
import {
  type ApiKeyProvider,
  type CmlApi,
  type CredentialsProvider,
  cmlCredentialsFor,
  cmlSecretConfigFromEnv,
  createCmlClient,
  createDocumentClient,
  createEvidenceStore,
  createGradingClient,
  createLdsClient,
  createWorkflowEngine,
  type GradingApi,
  type LdsApi,
  SecretCache,
  SecretsManagerApiKeyProvider,
  staticApiKey,
  staticCredentials,
} from '../platform/index.ts';
import {
  cmlBaseUrlOf,
  DEFAULT_LIFECYCLE_CONFIG,
  type LifecycleConfig,
  type SessionStepDeps,
} from '../sessions/index.ts';
import { createStores } from './stores.ts';

/**
 * The task handlers' dependencies from the Lambda environment (built once per cold start):
 *
 * | variable | what |
 * |---|---|
 * | TABLE_NAME (+ AWS_ENDPOINT_URL_DYNAMODB locally) | the table |
 * | EVIDENCE_BUCKET, or EVIDENCE_DIR locally | the evidence store |
 * | LCM_CML_SECRET_ID (+ LCM_CML_SECRET_OVERRIDES) | CML credentials secret (JSON username/password) |
 * | LCM_LDS_BASE_URL, LCM_LDS_API_KEY_SECRET_ID | LDS |
 * | LCM_GRADING_BASE_URL, LCM_GRADING_API_KEY_SECRET_ID | Grading Engine |
 * | WORKFLOW_ENGINE (+ AWS_ENDPOINT_URL_SFN locally) | resolving task tokens (stepfunctions) |
 * | LCM_INSTANTIATE_LEAD_SECONDS, LCM_LAB_BOOT_TIMEOUT_SECONDS, LCM_GRADING_TIMEOUT_SECONDS, LCM_PLACEMENT_RETRY_BASE_SECONDS, LCM_PLACEMENT_RETRY_MAX_SECONDS | timing (LifecycleConfig) |
 *
 * The local stack has no Secrets Manager: LCM_CML_CREDENTIALS (JSON username/password),
 * LCM_LDS_API_KEY and LCM_GRADING_API_KEY give the values directly. They are for the sandbox
 * only; the CDK stacks set the secret ids.
 */

type Env = Record<string, string | undefined>;

const CONFIG_ENV: Record<keyof LifecycleConfig, string> = {
  instantiateLeadSeconds: 'LCM_INSTANTIATE_LEAD_SECONDS',
  labBootTimeoutSeconds: 'LCM_LAB_BOOT_TIMEOUT_SECONDS',
  gradingTimeoutSeconds: 'LCM_GRADING_TIMEOUT_SECONDS',
  placementRetryBaseSeconds: 'LCM_PLACEMENT_RETRY_BASE_SECONDS',
  placementRetryMaxSeconds: 'LCM_PLACEMENT_RETRY_MAX_SECONDS',
};

/** Timing from the environment; each variable is a whole number of seconds (>= 0, timeouts >= 1). */
export function lifecycleConfigFromEnv(env: Env = process.env): LifecycleConfig {
  const config = { ...DEFAULT_LIFECYCLE_CONFIG };
  for (const [field, name] of Object.entries(CONFIG_ENV) as [keyof LifecycleConfig, string][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw);
    const min = field === 'instantiateLeadSeconds' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`${name} must be a whole number of seconds >= ${min}, got ${raw}`);
    }
    config[field] = value;
  }
  return config;
}

/** A dependency that is not configured: fails with a clear message when first used. */
function unconfigured<T extends object>(what: string, variable: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) =>
      prop === 'then'
        ? undefined
        : () => {
            throw new Error(`${what} is not configured: set ${variable}`);
          },
  });
}

function apiKeyFrom(env: Env, name: 'LDS' | 'GRADING', secrets: () => SecretCache): ApiKeyProvider {
  const direct = env[`LCM_${name}_API_KEY`];
  if (direct) return staticApiKey(direct);
  const secretId = env[`LCM_${name}_API_KEY_SECRET_ID`];
  if (!secretId) throw new Error(`LCM_${name}_API_KEY_SECRET_ID is not set`);
  return new SecretsManagerApiKeyProvider(secrets(), secretId);
}

export function lifecycleDepsFromEnv(env: Env = process.env, logger?: IntegrationLogger): SessionStepDeps {
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  let cache: SecretCache | undefined;
  const secrets = () => {
    cache ??= new SecretCache({ client: new SecretsManagerClient({}) });
    return cache;
  };

  const staticCml = env.LCM_CML_CREDENTIALS;
  let cmlCredentials: (worker: Worker) => CredentialsProvider;
  if (staticCml) {
    const parsed = JSON.parse(staticCml) as { username?: unknown; password?: unknown };
    if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
      throw new Error('LCM_CML_CREDENTIALS must be JSON {"username", "password"}');
    }
    const provider = staticCredentials({ username: parsed.username, password: parsed.password });
    cmlCredentials = () => provider;
  } else {
    const secretConfig = env.LCM_CML_SECRET_ID ? cmlSecretConfigFromEnv(env) : undefined;
    cmlCredentials = (worker) => {
      if (!secretConfig) throw new Error('LCM_CML_SECRET_ID is not set');
      return cmlCredentialsFor(secrets(), secretConfig, worker.id);
    };
  }
  // One client per worker and base URL per cold start, so its CML token is reused.
  const cmlClients = new Map<string, CmlApi>();
  const cml = (worker: Worker): CmlApi => {
    const baseUrl = cmlBaseUrlOf(worker);
    const key = `${worker.id} ${baseUrl}`;
    let client = cmlClients.get(key);
    if (!client) {
      client = createCmlClient({ baseUrl, credentials: cmlCredentials(worker), logger });
      cmlClients.set(key, client);
    }
    return client;
  };

  const lds: LdsApi = env.LCM_LDS_BASE_URL
    ? createLdsClient({ baseUrl: env.LCM_LDS_BASE_URL, apiKey: apiKeyFrom(env, 'LDS', secrets), logger })
    : unconfigured<LdsApi>('LDS', 'LCM_LDS_BASE_URL');
  const grading: GradingApi = env.LCM_GRADING_BASE_URL
    ? createGradingClient({
        baseUrl: env.LCM_GRADING_BASE_URL,
        apiKey: apiKeyFrom(env, 'GRADING', secrets),
        logger,
      })
    : unconfigured<GradingApi>('the Grading Engine', 'LCM_GRADING_BASE_URL');

  return {
    stores: createStores({ client: createDocumentClient(), tableName }),
    engine: createWorkflowEngine(env as NodeJS.ProcessEnv),
    cml,
    lds,
    grading,
    evidence:
      env.EVIDENCE_BUCKET || env.EVIDENCE_DIR
        ? createEvidenceStore(env)
        : unconfigured('the evidence store', 'EVIDENCE_BUCKET'),
    config: lifecycleConfigFromEnv(env),
  };
}

/** Environment variables whose change means "new dependencies" (tests and the local stack reuse a process). */
export const LIFECYCLE_ENV_KEYS = [
  'TABLE_NAME',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ENDPOINT_URL_S3',
  'EVIDENCE_BUCKET',
  'EVIDENCE_DIR',
  'LCM_CML_SECRET_ID',
  'LCM_CML_SECRET_OVERRIDES',
  'LCM_CML_CREDENTIALS',
  'LCM_LDS_BASE_URL',
  'LCM_LDS_API_KEY',
  'LCM_LDS_API_KEY_SECRET_ID',
  'LCM_GRADING_BASE_URL',
  'LCM_GRADING_API_KEY',
  'LCM_GRADING_API_KEY_SECRET_ID',
  'WORKFLOW_ENGINE',
  'SESSION_STATE_MACHINE_ARN',
  ...Object.values(CONFIG_ENV),
] as const;
