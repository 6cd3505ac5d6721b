/**
 * Configuration of the fleet workflows and sweeps: where workers are launched (network, profile,
 * user data: the "context" next to the template), how often and how long the workflows poll,
 * and the health sweep's thresholds. Read from the environment by `fleetConfigFromEnv`; tests
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
  /** CML must be ready within the template's boot minutes plus this margin. */
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
  cmlReadyMarginMinutes: 10,
  cmlBaseUrlTemplate: 'https://{ip}/api/v0',
  maxConsecutiveFailures: 3,
  cpuWindowMinutes: 15,
  missingInstanceGraceSeconds: 300,
  stuckSessionGraceSeconds: 120,
});

export const fleetConfig = (over: Partial<FleetConfig> = {}): FleetConfig => ({
  ...DEFAULT_FLEET_CONFIG,
  subnetIds: [],
  securityGroupIds: [],
  extraTags: {},
  ...over,
});

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

function num(env: Record<string, string | undefined>, name: string, min = 0): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${raw}`);
  return n;
}

function tags(raw: string | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('LCM_WORKER_EXTRA_TAGS must be a JSON object of tag → value');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('LCM_WORKER_EXTRA_TAGS must be a JSON object of tag → value');
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * From the environment (CDK sets these on the fleet Lambdas):
 * LCM_STAGE, LCM_WORKER_SUBNET_IDS, LCM_WORKER_SECURITY_GROUP_IDS (comma lists),
 * LCM_WORKER_INSTANCE_PROFILE, LCM_WORKER_KEY_NAME, LCM_WORKER_USER_DATA (or
 * LCM_WORKER_USER_DATA_B64), LCM_WORKER_EXTRA_TAGS (JSON), LCM_FLEET_POLL_SECONDS,
 * LCM_DRAIN_POLL_SECONDS, LCM_INSTANCE_POLL_SECONDS, LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS,
 * LCM_CML_READY_MARGIN_MINUTES, LCM_CML_READY_TIMEOUT_SECONDS, LCM_CML_BASE_URL_TEMPLATE,
 * LCM_HEALTH_MAX_FAILURES, LCM_HEALTH_CPU_WINDOW_MINUTES, LCM_MISSING_INSTANCE_GRACE_SECONDS,
 * LCM_STUCK_SESSION_GRACE_SECONDS.
 */
export function fleetConfigFromEnv(env: Record<string, string | undefined> = process.env): FleetConfig {
  const b64 = env.LCM_WORKER_USER_DATA_B64;
  return fleetConfig(
    defined({
      stage: env.LCM_STAGE || undefined,
      subnetIds: list(env.LCM_WORKER_SUBNET_IDS),
      securityGroupIds: list(env.LCM_WORKER_SECURITY_GROUP_IDS),
      instanceProfile: env.LCM_WORKER_INSTANCE_PROFILE || undefined,
      keyName: env.LCM_WORKER_KEY_NAME || undefined,
      userData: env.LCM_WORKER_USER_DATA || (b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined),
      extraTags: tags(env.LCM_WORKER_EXTRA_TAGS),
      pollSeconds: num(env, 'LCM_FLEET_POLL_SECONDS'),
      drainPollSeconds: num(env, 'LCM_DRAIN_POLL_SECONDS'),
      instancePollSeconds: num(env, 'LCM_INSTANCE_POLL_SECONDS'),
      instanceRunningTimeoutSeconds: num(env, 'LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS', 1),
      cmlReadyMarginMinutes: num(env, 'LCM_CML_READY_MARGIN_MINUTES'),
      cmlReadyTimeoutSeconds: num(env, 'LCM_CML_READY_TIMEOUT_SECONDS', 1),
      cmlBaseUrlTemplate: env.LCM_CML_BASE_URL_TEMPLATE || undefined,
      maxConsecutiveFailures: num(env, 'LCM_HEALTH_MAX_FAILURES', 1),
      cpuWindowMinutes: num(env, 'LCM_HEALTH_CPU_WINDOW_MINUTES', 1),
      missingInstanceGraceSeconds: num(env, 'LCM_MISSING_INSTANCE_GRACE_SECONDS'),
      stuckSessionGraceSeconds: num(env, 'LCM_STUCK_SESSION_GRACE_SECONDS'),
    }),
  );
}
