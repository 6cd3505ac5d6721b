import {
  awsStreamFailureOperations,
  DynamoStreamFailureLedger,
  type StreamFailureOperations,
} from '../events/index.ts';
import { type CapacityBookConfig, SCALING_CONFIG_ENV, scalingConfigOf } from '../fleet/index.ts';
import type {
  FleetWorkflows,
  GradingApi,
  InstanceTypeCatalogue,
  StoreConfig,
  WorkflowEngine,
} from '../platform/index.ts';
import {
  cachedDeps,
  createEc2InstanceTypes,
  createFleetWorkflows,
  createGradingClient,
  createWorkflowEngine,
  documentClient,
  dynamoDbStreamsClient,
  failing,
  lambdaClient,
  sqsClient,
  TABLE_ENV,
} from '../platform/index.ts';
import {
  type BookingConfig,
  capacityBookConfigOf,
  DEFAULT_BOOKING_CONFIG,
  DEFAULT_LIFECYCLE_CONFIG,
} from '../sessions/index.ts';
import {
  API_ENV,
  BOOKING_CONFIG_ENV,
  fleetEngineEnv,
  GRADING_API_ENV,
  LIFECYCLE_CONFIG_ENV,
  STREAM_FAILURES_ENV,
  sessionEngineEnv,
} from './env.ts';
import { apiKeyFrom, integrationLogger, secretCache } from './partner-clients.ts';
import { createStores, type Stores } from './stores.ts';

/**
 * What the API handlers (functions/api/*.ts) share per cold start, from API_ENV (app/env.ts):
 * the stores on TABLE_NAME (AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), and for the groups
 * that start workflows the engines WORKFLOW_ENGINE names. Separate builders, so a group that
 * starts no workflow neither builds nor bundles a Step Functions client. Built on first use, so
 * a test can set the environment before the first request.
 */

const stores = /* @__PURE__ */ cachedDeps('api', TABLE_ENV, (env) =>
  createStores({ client: documentClient(), tableName: env.TABLE_NAME }),
);

export const apiStores = (): Stores => stores();

/**
 * Stores a group's handler builds itself, on the same TABLE_NAME and client, once per
 * environment: `apiStoresOf((cfg) => ({ workers: new DynamoWorkerStore(cfg) }))`. A bundle then
 * holds only the store classes its handler names (apiStores builds every one).
 */
export const apiStoresOf = <S extends object>(build: (cfg: StoreConfig) => S): (() => S) =>
  cachedDeps('api', TABLE_ENV, (env) => build({ client: documentClient(), tableName: env.TABLE_NAME }));

/** The session workflow engine (the sessions group books, terminates and finishes sessions). */
export const apiSessionEngine: () => WorkflowEngine = /* @__PURE__ */ cachedDeps('api', API_ENV, (env) =>
  createWorkflowEngine(sessionEngineEnv(env)),
);

/** The worker workflows (the workers group starts provisioning and drains at once). */
export const apiFleetWorkflows: () => FleetWorkflows = /* @__PURE__ */ cachedDeps('api', API_ENV, (env) =>
  createFleetWorkflows(fleetEngineEnv(env)),
);

/**
 * EC2's DescribeInstanceTypes for the templates group (a template's type must be able to run CML
 * as it claims). The local stack has no EC2 endpoint: it replaces it with the sandbox EC2 through
 * `setApiInstanceTypesOverride`, as it does for the fleet handlers.
 */
export const apiInstanceTypes = /* @__PURE__ */ cachedDeps('api', TABLE_ENV, () => ({
  instanceTypes: createEc2InstanceTypes() as InstanceTypeCatalogue,
}));

/** Replaces the API's instance-type catalogue in this process (`undefined` removes the override). */
export const setApiInstanceTypesOverride = (instanceTypes: InstanceTypeCatalogue | undefined): void =>
  apiInstanceTypes.override(instanceTypes ? { instanceTypes } : undefined);

/** The variable of each BookingConfig field; set per stage by infra/lib/settings.ts. */
export const BOOKING_CONFIG_VARIABLES = {
  horizonDays: 'LCM_BOOKING_HORIZON_DAYS',
  requireDeliverable: 'LCM_BOOKING_REQUIRE_DELIVERABLE',
} as const satisfies Record<keyof BookingConfig, keyof typeof BOOKING_CONFIG_ENV>;

/** The booking rules (horizon) of POST /v1/sessions; unset variables keep DEFAULT_BOOKING_CONFIG. */
export const apiBookingConfig: () => BookingConfig = /* @__PURE__ */ cachedDeps(
  'api',
  BOOKING_CONFIG_ENV,
  (env) => ({
    horizonDays: env.LCM_BOOKING_HORIZON_DAYS ?? DEFAULT_BOOKING_CONFIG.horizonDays,
    requireDeliverable: env.LCM_BOOKING_REQUIRE_DELIVERABLE === 'true',
  }),
);

/**
 * The capacity book of POST /v1/sessions and GET /v1/availability: maxWorkers from the scaling
 * settings and the placement lead from the lifecycle settings, the values the scaler and the
 * session workflow read (LCM_SCALING_MAX_WORKERS, LCM_PLACEMENT_LEAD_SECONDS, …).
 */
export const apiCapacityConfig: () => CapacityBookConfig = /* @__PURE__ */ cachedDeps(
  'api',
  { ...SCALING_CONFIG_ENV, ...LIFECYCLE_CONFIG_ENV },
  (env) =>
    capacityBookConfigOf(scalingConfigOf(env).maxWorkers, {
      placementLeadSeconds: env.LCM_PLACEMENT_LEAD_SECONDS ?? DEFAULT_LIFECYCLE_CONFIG.placementLeadSeconds,
      instantiateLeadSeconds:
        env.LCM_INSTANTIATE_LEAD_SECONDS ?? DEFAULT_LIFECYCLE_CONFIG.instantiateLeadSeconds,
    }),
);

/**
 * The Grading Engine client (the sessions group re-submits a failed grading, POST
 * /v1/sessions/{id}/grade); one not configured fails with the variable to set when first called.
 */
export const apiGradingClient: () => GradingApi = /* @__PURE__ */ cachedDeps('api', GRADING_API_ENV, (env) =>
  env.LCM_GRADING_BASE_URL
    ? createGradingClient({
        baseUrl: env.LCM_GRADING_BASE_URL,
        apiKey: apiKeyFrom(env, 'GRADING', secretCache()),
        logger: integrationLogger,
      })
    : failing<GradingApi>('the Grading Engine is not configured: set LCM_GRADING_BASE_URL'),
);

/**
 * The stream-failure operations of the streams group (issue 11, item 5): in AWS the consumers'
 * on-failure queues, the table, the stream and the consumer functions (LCM_STREAM_FAILURE_CONSUMERS);
 * the local stack replaces them with its file-backed queue and in-process consumers through
 * `setStreamFailuresOverride`. Neither: every call fails naming the variable.
 */
export const apiStreamFailures = /* @__PURE__ */ cachedDeps('api', STREAM_FAILURES_ENV, (env) => ({
  operations: env.LCM_STREAM_FAILURE_CONSUMERS
    ? (awsStreamFailureOperations({
        ledger: new DynamoStreamFailureLedger({ client: documentClient(), tableName: env.TABLE_NAME }),
        sqs: sqsClient(),
        streams: dynamoDbStreamsClient(),
        lambda: lambdaClient(),
        consumers: env.LCM_STREAM_FAILURE_CONSUMERS,
      }) as StreamFailureOperations)
    : failing<StreamFailureOperations>(
        'no stream failure destination is configured: set LCM_STREAM_FAILURE_CONSUMERS',
      ),
}));

/** Replaces the stream-failure operations in this process (`undefined` removes the override). */
export const setStreamFailuresOverride = (operations: StreamFailureOperations | undefined): void =>
  apiStreamFailures.override(operations ? { operations } : undefined);
