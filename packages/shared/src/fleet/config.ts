import * as z from 'zod';
import {
  type EnvOf,
  type EnvShape,
  envJson,
  envList,
  envNumber,
  envOptional,
  parseEnv,
  type RawEnv,
} from '../platform/index.ts';

/**
 * Configuration of the fleet workflows and sweeps: where workers are launched (network, profile,
 * user data: the "context" next to the template), how often and how long the workflows poll,
 * and the health sweep's thresholds. Read from the environment (FLEET_CONFIG_ENV) by `fleetConfigOf`; tests
 * build it directly with `fleetConfig({...})`.
 */
export interface FleetConfig {
  /** Deployment stage; tagged on every instance (`lcm:stage`) and used to scope reconciliation. */
  stage: string;
  /** Subnets to launch into; a worker always uses the same one (picked by its id). */
  subnetIds: string[];
  securityGroupIds: string[];
  /** Instance profile name or ARN. */
  instanceProfile?: string | undefined;
  keyName?: string | undefined;
  /**
   * User data (plain text); `{{workerId}}`, `{{stage}}` and `{{templateName}}` are replaced.
   */
  userData?: string | undefined;
  /** Extra tags for every instance. */
  extraTags: Record<string, string>;
  /** Seconds between two polls of the instance or of CML during provisioning. */
  pollSeconds: number;
  /** Seconds between two checks of a draining worker's sessions. */
  drainPollSeconds: number;
  /** Seconds between two checks of a stopping / terminating instance. */
  instancePollSeconds: number;
  /** Bound on pending → running (with an IP), from the workflow's start. */
  instanceRunningTimeoutSeconds: number;
  /**
   * CML must be ready within the template's boot minutes plus this margin (default 20: with boots
   * of median 15 and p95 25 min, 10 failed ~5 % of healthy boots; bench/fleet measures it).
   */
  cmlReadyMarginMinutes: number;
  /** Overrides boot minutes + margin (local stack and tests: seconds instead of a quarter hour). */
  cmlReadyTimeoutSeconds?: number | undefined;
  /** `https://<ip>/api/v0` unless the provider reports an endpoint; `{ip}` is replaced. */
  cmlBaseUrlTemplate: string;
  /** Health sweep: consecutive unhealthy sweeps before a worker is marked FAILED. */
  maxConsecutiveFailures: number;
  /** Health sweep: CloudWatch window for the CPU reading. */
  cpuWindowMinutes: number;
  /**
   * Reconciliation: a worker whose instance cannot be found is terminated only when its last
   * change is older than this (EC2's eventual consistency right after a launch).
   */
  missingInstanceGraceSeconds: number;
  /** Stuck-session sweep: sessions changed more recently than this are left alone. */
  stuckSessionGraceSeconds: number;
  /**
   * Bound on a whole provisioning (PENDING/PROVISIONING/STARTING, from the launch or start): the
   * health sweep ends a worker still booting past it whose workflow is gone or hung — FAILED, its
   * instances terminated (fleet/stuck-provisioning.ts). Above the workflow's own bounds
   * (instance running + boot minutes + margin), so a live workflow fails on its own first.
   */
  provisioningBoundSeconds: number;
  /**
   * Templates a launch tries when EC2 has no capacity, the worker's own included (each in every
   * subnet): 1 = only other subnets, 3 = the two next-cheapest fitting templates too.
   */
  launchTemplatesTried: number;
}

export const DEFAULT_FLEET_CONFIG: Readonly<FleetConfig> = Object.freeze({
  stage: 'dev',
  subnetIds: [],
  securityGroupIds: [],
  extraTags: {},
  pollSeconds: 15,
  drainPollSeconds: 60,
  instancePollSeconds: 10,
  instanceRunningTimeoutSeconds: 600,
  cmlReadyMarginMinutes: 20,
  cmlBaseUrlTemplate: 'https://{ip}/api/v0',
  maxConsecutiveFailures: 3,
  cpuWindowMinutes: 15,
  missingInstanceGraceSeconds: 300,
  stuckSessionGraceSeconds: 120,
  provisioningBoundSeconds: 3600,
  launchTemplatesTried: 3,
});

export const fleetConfig = (over: Partial<FleetConfig> = {}): FleetConfig => ({
  ...DEFAULT_FLEET_CONFIG,
  subnetIds: [],
  securityGroupIds: [],
  extraTags: {},
  ...over,
});

/** JSON object of tag → value (values stringified). */
const TAGS = z
  .record(z.string(), z.unknown())
  .refine((o) => !Array.isArray(o))
  .transform((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])));

/**
 * The variables of the fleet configuration (CDK sets them on the fleet Lambdas); part of the
 * fleet functions' environment schema (app/env.ts). LCM_WORKER_SUBNET_IDS and
 * LCM_WORKER_SECURITY_GROUP_IDS are comma lists, LCM_WORKER_USER_DATA may be given base64 as
 * LCM_WORKER_USER_DATA_B64, LCM_WORKER_EXTRA_TAGS is JSON; the rest are numbers.
 */
export const FLEET_CONFIG_ENV = {
  LCM_STAGE: envOptional(),
  LCM_WORKER_SUBNET_IDS: envList(),
  LCM_WORKER_SECURITY_GROUP_IDS: envList(),
  LCM_WORKER_INSTANCE_PROFILE: envOptional(),
  LCM_WORKER_KEY_NAME: envOptional(),
  LCM_WORKER_USER_DATA: envOptional(),
  LCM_WORKER_USER_DATA_B64: envOptional(),
  LCM_WORKER_EXTRA_TAGS: envJson(TAGS, 'a JSON object of tag → value'),
  LCM_FLEET_POLL_SECONDS: envNumber({ min: 0 }),
  LCM_DRAIN_POLL_SECONDS: envNumber({ min: 0 }),
  LCM_INSTANCE_POLL_SECONDS: envNumber({ min: 0 }),
  LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS: envNumber({ min: 1 }),
  LCM_CML_READY_MARGIN_MINUTES: envNumber({ min: 0 }),
  LCM_CML_READY_TIMEOUT_SECONDS: envNumber({ min: 1 }),
  LCM_CML_BASE_URL_TEMPLATE: envOptional(),
  LCM_HEALTH_MAX_FAILURES: envNumber({ min: 1 }),
  LCM_HEALTH_CPU_WINDOW_MINUTES: envNumber({ min: 1 }),
  LCM_MISSING_INSTANCE_GRACE_SECONDS: envNumber({ min: 0 }),
  LCM_STUCK_SESSION_GRACE_SECONDS: envNumber({ min: 0 }),
  LCM_PROVISIONING_BOUND_SECONDS: envNumber({ min: 1 }),
  LCM_LAUNCH_TEMPLATES_TRIED: envNumber({ min: 1, integer: true }),
} satisfies EnvShape;

/**
 * The variable of each numeric timing and threshold of FleetConfig that a deployment tunes per
 * stage (infra/lib/settings.ts); its unit is the field's. `cmlReadyTimeoutSeconds` is left out on
 * purpose: it replaces the per-template bound and exists for the local stack and tests.
 */
export const FLEET_TIMING_VARIABLES = {
  pollSeconds: 'LCM_FLEET_POLL_SECONDS',
  drainPollSeconds: 'LCM_DRAIN_POLL_SECONDS',
  instancePollSeconds: 'LCM_INSTANCE_POLL_SECONDS',
  instanceRunningTimeoutSeconds: 'LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS',
  cmlReadyMarginMinutes: 'LCM_CML_READY_MARGIN_MINUTES',
  maxConsecutiveFailures: 'LCM_HEALTH_MAX_FAILURES',
  cpuWindowMinutes: 'LCM_HEALTH_CPU_WINDOW_MINUTES',
  missingInstanceGraceSeconds: 'LCM_MISSING_INSTANCE_GRACE_SECONDS',
  stuckSessionGraceSeconds: 'LCM_STUCK_SESSION_GRACE_SECONDS',
  provisioningBoundSeconds: 'LCM_PROVISIONING_BOUND_SECONDS',
  launchTemplatesTried: 'LCM_LAUNCH_TEMPLATES_TRIED',
} as const satisfies Partial<Record<keyof FleetConfig, keyof typeof FLEET_CONFIG_ENV>>;

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The configuration from its parsed variables (unset ones keep DEFAULT_FLEET_CONFIG's value). */
export function fleetConfigOf(env: EnvOf<typeof FLEET_CONFIG_ENV>): FleetConfig {
  const b64 = env.LCM_WORKER_USER_DATA_B64;
  return fleetConfig(
    defined({
      stage: env.LCM_STAGE,
      subnetIds: env.LCM_WORKER_SUBNET_IDS,
      securityGroupIds: env.LCM_WORKER_SECURITY_GROUP_IDS,
      instanceProfile: env.LCM_WORKER_INSTANCE_PROFILE,
      keyName: env.LCM_WORKER_KEY_NAME,
      userData: env.LCM_WORKER_USER_DATA ?? (b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined),
      extraTags: env.LCM_WORKER_EXTRA_TAGS,
      ...Object.fromEntries(
        Object.entries(FLEET_TIMING_VARIABLES).map(([field, variable]) => [field, env[variable]]),
      ),
      cmlReadyTimeoutSeconds: env.LCM_CML_READY_TIMEOUT_SECONDS,
      cmlBaseUrlTemplate: env.LCM_CML_BASE_URL_TEMPLATE,
    }),
  );
}

/** The configuration from raw variables (FLEET_CONFIG_ENV); an invalid one is an EnvError naming it. */
export const fleetConfigFromEnv = (env: RawEnv): FleetConfig =>
  fleetConfigOf(parseEnv(FLEET_CONFIG_ENV, env));
