import * as z from 'zod';
import { StreamFailureConsumersSchema } from '../events/index.ts';
import { FLEET_CONFIG_ENV, SCALING_CONFIG_ENV } from '../fleet/index.ts';
import {
  type EnvOf,
  type EnvShape,
  envJson,
  envList,
  envNumber,
  envOneOf,
  envOptional,
  envText,
  TABLE_ENV,
  WORKFLOW_ENGINE_KINDS,
} from '../platform/index.ts';

/**
 * The environment of every function kind, one zod shape each (the function catalogue names the
 * kinds). A handler's dependency builder parses its kind's shape once per cold start and again
 * when one of its variables changes (platform/runtime: `cachedDeps`, `readEnv`); a missing or
 * invalid variable fails with an EnvError naming it. CDK sets these variables from each
 * function's needs; the local stack and the tests set them in their own process.
 */

// --- pieces ----------------------------------------------------------------------------------

/** The session workflow engine: `recording` (default) or `stepfunctions` on the state machine. */
export const SESSION_ENGINE_ENV = {
  WORKFLOW_ENGINE: envOneOf(WORKFLOW_ENGINE_KINDS, 'recording'),
  SESSION_STATE_MACHINE_ARN: envOptional(),
  AWS_ENDPOINT_URL_SFN: envOptional(),
} satisfies EnvShape;

/** The worker provisioning and drain workflows (with the same WORKFLOW_ENGINE). */
export const FLEET_ENGINE_ENV = {
  ...SESSION_ENGINE_ENV,
  WORKER_PROVISIONING_STATE_MACHINE_ARN: envOptional(),
  WORKER_DRAIN_STATE_MACHINE_ARN: envOptional(),
} satisfies EnvShape;

/** CML credentials: the secret (and per-worker overrides, JSON), or static ones locally. */
export const CML_ENV = {
  LCM_CML_SECRET_ID: envOptional(),
  LCM_CML_SECRET_OVERRIDES: envOptional(),
  LCM_CML_CREDENTIALS: envJson(
    z.object({ username: z.string(), password: z.string() }),
    'JSON {"username", "password"}',
  ),
} satisfies EnvShape;

/** LDS and the Grading Engine: base URL and API key (a secret id, or the key itself locally). */
export const PARTNER_API_ENV = {
  LCM_LDS_BASE_URL: envOptional(),
  LCM_LDS_API_KEY: envOptional(),
  LCM_LDS_API_KEY_SECRET_ID: envOptional(),
  LCM_GRADING_BASE_URL: envOptional(),
  LCM_GRADING_API_KEY: envOptional(),
  LCM_GRADING_API_KEY_SECRET_ID: envOptional(),
} satisfies EnvShape;

/** The Grading Engine alone (the sessions API group re-submits gradings: POST /v1/sessions/{id}/grade). */
export const GRADING_API_ENV = {
  LCM_GRADING_BASE_URL: PARTNER_API_ENV.LCM_GRADING_BASE_URL,
  LCM_GRADING_API_KEY: PARTNER_API_ENV.LCM_GRADING_API_KEY,
  LCM_GRADING_API_KEY_SECRET_ID: PARTNER_API_ENV.LCM_GRADING_API_KEY_SECRET_ID,
} satisfies EnvShape;

/** Evidence: the S3 bucket, or a directory locally. */
export const EVIDENCE_ENV = {
  EVIDENCE_BUCKET: envOptional(),
  EVIDENCE_DIR: envOptional(),
  AWS_ENDPOINT_URL_S3: envOptional(),
} satisfies EnvShape;

/** The session workflow's timing, whole seconds (LifecycleConfig). */
export const LIFECYCLE_CONFIG_ENV = {
  LCM_PLACEMENT_LEAD_SECONDS: envNumber({ min: 0, integer: true }),
  LCM_INSTANTIATE_LEAD_SECONDS: envNumber({ min: 0, integer: true }),
  LCM_LAB_BOOT_TIMEOUT_SECONDS: envNumber({ min: 1, integer: true }),
  LCM_GRADING_TIMEOUT_SECONDS: envNumber({ min: 1, integer: true }),
  LCM_PLACEMENT_RETRY_BASE_SECONDS: envNumber({ min: 1, integer: true }),
  LCM_PLACEMENT_RETRY_MAX_SECONDS: envNumber({ min: 1, integer: true }),
  LCM_TEARDOWN_TIMEOUT_SECONDS: envNumber({ min: 1, integer: true }),
  LCM_NO_SHOW_AFTER_SECONDS: envNumber({ min: 0, integer: true }),
} satisfies EnvShape;

/** The LCM event bus (AWS_ENDPOINT_URL_EVENTBRIDGE: the local bus). */
export const BUS_ENV = {
  EVENT_BUS_NAME: envText(),
  AWS_ENDPOINT_URL_EVENTBRIDGE: envOptional(),
} satisfies EnvShape;

// --- kinds -----------------------------------------------------------------------------------

/** Booking rules of POST /v1/sessions (BookingConfig): the horizon in whole days. */
export const BOOKING_CONFIG_ENV = {
  LCM_BOOKING_HORIZON_DAYS: envNumber({ min: 1, integer: true }),
  /** `true`: refuse (422) a definition with no topology or no formQualifiedName (issue 11, item 4). */
  LCM_BOOKING_REQUIRE_DELIVERABLE: envOneOf(['true', 'false'], 'false'),
} satisfies EnvShape;

/**
 * API route groups: the table; the sessions and workers groups also start workflows. The scaling
 * and lifecycle settings are the capacity book's (maxWorkers, the placement lead): the same values
 * the scaler and the session workflow run with.
 */
export const API_ENV = {
  ...TABLE_ENV,
  ...FLEET_ENGINE_ENV,
  ...BOOKING_CONFIG_ENV,
  ...SCALING_CONFIG_ENV,
  ...LIFECYCLE_CONFIG_ENV,
} satisfies EnvShape;

/**
 * The stream-failure operations (GET /v1/stream-failures, replay; issue 11, item 5): per stream
 * consumer its on-failure queue URL and function name, JSON (`{"outbox":{"queueUrl":…,
 * "functionName":…},…}`; CDK sets it). Unset: no AWS failure destination (the local stack
 * installs its file-backed queue instead).
 */
export const STREAM_FAILURES_ENV = {
  ...TABLE_ENV,
  LCM_STREAM_FAILURE_CONSUMERS: envJson(
    StreamFailureConsumersSchema,
    'the stream consumers’ on-failure queues and functions',
  ),
} satisfies EnvShape;

/**
 * POST /v1/events: the bus, and the partner registry (`LCM_EVENT_PARTNERS_SECRET_ID`, or the
 * document inline in `LCM_EVENT_PARTNERS` locally).
 */
export const INGEST_ENV = {
  ...BUS_ENV,
  LCM_EVENT_PARTNERS_SECRET_ID: envOptional(),
  LCM_EVENT_PARTNERS: envOptional(),
} satisfies EnvShape;

/** EventBridge rule targets (partner events into the session workflow). */
export const RULE_TARGET_ENV = { ...TABLE_ENV, ...SESSION_ENGINE_ENV } satisfies EnvShape;

/** The outbox stream consumer. */
export const OUTBOX_ENV = { ...TABLE_ENV, ...BUS_ENV } satisfies EnvShape;

/** The content sync worker (packages read from S3; AWS_ENDPOINT_URL_S3 locally). */
export const CONTENT_SYNC_ENV = { ...TABLE_ENV, AWS_ENDPOINT_URL_S3: envOptional() } satisfies EnvShape;

/** The session workflow's tasks (and the observation worker, the stuck-session teardown). */
export const SESSION_TASK_ENV = {
  ...TABLE_ENV,
  ...SESSION_ENGINE_ENV,
  ...CML_ENV,
  ...PARTNER_API_ENV,
  ...EVIDENCE_ENV,
  ...LIFECYCLE_CONFIG_ENV,
} satisfies EnvShape;

/** The fleet workflows' tasks and the schedules. */
export const FLEET_ENV = {
  ...TABLE_ENV,
  ...FLEET_ENGINE_ENV,
  ...CML_ENV,
  /** CML Smart Licensing token: a secret (JSON {"token"} or the token), or the token locally. */
  LCM_CML_LICENSE_SECRET_ID: envOptional(),
  LCM_CML_LICENSE_TOKEN: envOptional(),
  /** Owners for AMI name patterns (comma list; default any). */
  LCM_WORKER_AMI_OWNERS: envList(),
  AWS_ENDPOINT_URL_EC2: envOptional(),
  ...FLEET_CONFIG_ENV,
  ...SCALING_CONFIG_ENV,
} satisfies EnvShape;

export type ApiEnv = EnvOf<typeof API_ENV>;
export type SessionTaskEnv = EnvOf<typeof SESSION_TASK_ENV>;
export type FleetEnv = EnvOf<typeof FLEET_ENV>;

/** What createWorkflowEngine / createFleetWorkflows read, from a parsed environment. */
export const sessionEngineEnv = (env: EnvOf<typeof SESSION_ENGINE_ENV>) => ({
  WORKFLOW_ENGINE: env.WORKFLOW_ENGINE,
  SESSION_STATE_MACHINE_ARN: env.SESSION_STATE_MACHINE_ARN,
});
export const fleetEngineEnv = (env: EnvOf<typeof FLEET_ENGINE_ENV>) => ({
  ...sessionEngineEnv(env),
  WORKER_PROVISIONING_STATE_MACHINE_ARN: env.WORKER_PROVISIONING_STATE_MACHINE_ARN,
  WORKER_DRAIN_STATE_MACHINE_ARN: env.WORKER_DRAIN_STATE_MACHINE_ARN,
});
