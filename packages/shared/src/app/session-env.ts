import { workerCmlBaseUrl } from '../fleet/index.ts';
import type { EnvOf, EvidenceStore, GradingApi, LdsApi, RawEnv } from '../platform/index.ts';
import {
  cachedDeps,
  createEvidenceStore,
  createGradingClient,
  createLdsClient,
  createWorkflowEngine,
  failing,
  lazy,
  overlay,
  parseEnv,
} from '../platform/index.ts';
import { DEFAULT_LIFECYCLE_CONFIG, type LifecycleConfig, type SessionStepDeps } from '../sessions/index.ts';
import { LIFECYCLE_CONFIG_ENV, SESSION_TASK_ENV, type SessionTaskEnv, sessionEngineEnv } from './env.ts';
import { apiKeyFrom, cmlClients, integrationLogger, secretCache } from './partner-clients.ts';
import { tableStores } from './stores.ts';

/**
 * The session workflow tasks' dependencies (functions/tasks/*.ts), from SESSION_TASK_ENV
 * (app/env.ts), built once per cold start and each one on first use:
 *
 * | variable | what |
 * |---|---|
 * | TABLE_NAME (+ AWS_ENDPOINT_URL_DYNAMODB locally) | the table |
 * | LCM_CML_SECRET_ID (+ LCM_CML_SECRET_OVERRIDES), or LCM_CML_CREDENTIALS locally | CML credentials |
 * | LCM_LDS_BASE_URL, LCM_LDS_API_KEY_SECRET_ID (or LCM_LDS_API_KEY locally) | LDS |
 * | LCM_GRADING_BASE_URL, LCM_GRADING_API_KEY_SECRET_ID (or LCM_GRADING_API_KEY locally) | Grading Engine |
 * | WORKFLOW_ENGINE, SESSION_STATE_MACHINE_ARN (+ AWS_ENDPOINT_URL_SFN locally) | resolving task tokens |
 * | EVIDENCE_BUCKET, or EVIDENCE_DIR locally | the evidence store: wired by the tasks that write it (`evidenceStore`) |
 * | LCM_PLACEMENT_LEAD_SECONDS, LCM_INSTANTIATE_LEAD_SECONDS, LCM_LAB_BOOT_TIMEOUT_SECONDS, LCM_GRADING_TIMEOUT_SECONDS, LCM_PLACEMENT_RETRY_BASE_SECONDS, LCM_PLACEMENT_RETRY_MAX_SECONDS, LCM_TEARDOWN_TIMEOUT_SECONDS | timing (LifecycleConfig) |
 *
 * A partner that is not configured fails with a clear message when first called.
 */

/** The variable of each LifecycleConfig field (whole seconds); set per stage by infra/lib/settings.ts. */
export const LIFECYCLE_CONFIG_VARIABLES = {
  placementLeadSeconds: 'LCM_PLACEMENT_LEAD_SECONDS',
  instantiateLeadSeconds: 'LCM_INSTANTIATE_LEAD_SECONDS',
  labBootTimeoutSeconds: 'LCM_LAB_BOOT_TIMEOUT_SECONDS',
  gradingTimeoutSeconds: 'LCM_GRADING_TIMEOUT_SECONDS',
  placementRetryBaseSeconds: 'LCM_PLACEMENT_RETRY_BASE_SECONDS',
  placementRetryMaxSeconds: 'LCM_PLACEMENT_RETRY_MAX_SECONDS',
  teardownTimeoutSeconds: 'LCM_TEARDOWN_TIMEOUT_SECONDS',
  noShowAfterSeconds: 'LCM_NO_SHOW_AFTER_SECONDS',
} as const satisfies Record<keyof LifecycleConfig, keyof typeof LIFECYCLE_CONFIG_ENV>;

/** Timing from its parsed variables; unset ones keep DEFAULT_LIFECYCLE_CONFIG's value. */
export function lifecycleConfigOf(env: EnvOf<typeof LIFECYCLE_CONFIG_ENV>): LifecycleConfig {
  const config = { ...DEFAULT_LIFECYCLE_CONFIG };
  for (const [field, name] of Object.entries(LIFECYCLE_CONFIG_VARIABLES) as [
    keyof LifecycleConfig,
    keyof typeof env,
  ][]) {
    const value = env[name];
    if (value !== undefined) config[field] = value;
  }
  return config;
}

/** Timing from raw variables: whole seconds, >= 0 for the lead, >= 1 for the others. */
export const lifecycleConfigFromEnv = (env: RawEnv): LifecycleConfig =>
  lifecycleConfigOf(parseEnv(LIFECYCLE_CONFIG_ENV, env));

const notConfigured = <T>(what: string, variable: string): T =>
  failing<T>(`${what} is not configured: set ${variable}`);

/** The evidence store of a parsed environment (EVIDENCE_BUCKET, or EVIDENCE_DIR locally). */
export const evidenceStore = (env: SessionTaskEnv): EvidenceStore =>
  env.EVIDENCE_BUCKET || env.EVIDENCE_DIR
    ? createEvidenceStore({ EVIDENCE_BUCKET: env.EVIDENCE_BUCKET, EVIDENCE_DIR: env.EVIDENCE_DIR })
    : notConfigured('the evidence store', 'EVIDENCE_BUCKET');

/** The session workflow engine of a parsed environment (resolving task tokens; Step Functions). */
export const sessionEngine = (env: SessionTaskEnv): SessionStepDeps['engine'] =>
  createWorkflowEngine(sessionEngineEnv(env));

/**
 * The dependencies of a parsed environment, each built on first use. The evidence store (S3) and
 * the workflow engine (Step Functions) are left to the tasks that wire them
 * (`sessionTask(..., { evidence: evidenceStore })`, `{ engine: sessionEngine }`), so the others
 * neither build nor bundle them; `lifecycleDepsFromEnv` (tests) has them all.
 */
export function sessionStepDepsOf(env: SessionTaskEnv): SessionStepDeps {
  const secrets = secretCache();
  return lazy<SessionStepDeps>({
    stores: tableStores(env.TABLE_NAME),
    engine: () =>
      failing<SessionStepDeps['engine']>(
        'the session workflow engine is not wired into this function: sessionTask(..., { engine: sessionEngine })',
      ),
    cml: () => {
      const clients = cmlClients(env, { secrets, unconfigured: 'strict' });
      return (worker) => clients(worker.id, workerCmlBaseUrl(worker));
    },
    lds: () =>
      env.LCM_LDS_BASE_URL
        ? createLdsClient({
            baseUrl: env.LCM_LDS_BASE_URL,
            apiKey: apiKeyFrom(env, 'LDS', secrets),
            logger: integrationLogger,
          })
        : notConfigured<LdsApi>('LDS', 'LCM_LDS_BASE_URL'),
    grading: () =>
      env.LCM_GRADING_BASE_URL
        ? createGradingClient({
            baseUrl: env.LCM_GRADING_BASE_URL,
            apiKey: apiKeyFrom(env, 'GRADING', secrets),
            logger: integrationLogger,
          })
        : notConfigured<GradingApi>('the Grading Engine', 'LCM_GRADING_BASE_URL'),
    evidence: () =>
      failing<EvidenceStore>(
        'the evidence store is not wired into this function: sessionTask(..., { evidence: evidenceStore })',
      ),
    config: () => lifecycleConfigOf(env),
  });
}

/** Every dependency, the evidence store and the engine included, from raw variables (tests). */
export const lifecycleDepsFromEnv = (raw: RawEnv): SessionStepDeps => {
  const env = parseEnv(SESSION_TASK_ENV, raw, 'session-task');
  return overlay(
    sessionStepDepsOf(env),
    lazy<Pick<SessionStepDeps, 'engine' | 'evidence'>>({
      engine: () => sessionEngine(env),
      evidence: () => evidenceStore(env),
    }),
  );
};

/**
 * The process's session task dependencies, rebuilt when SESSION_TASK_ENV changes;
 * `sessionTaskDeps.with({ evidence: evidenceStore })` wires the evidence store in, and
 * `sessionTaskDeps.override(parts)` replaces parts in this process (tests).
 */
export const sessionTaskDeps = /* @__PURE__ */ cachedDeps('session-task', SESSION_TASK_ENV, (env) =>
  sessionStepDepsOf(env),
);

/** Replaces parts of every session task's dependencies in this process; `undefined` removes it. */
export const setSessionDepsOverride = (parts: Partial<SessionStepDeps> | undefined): void =>
  sessionTaskDeps.override(parts);
