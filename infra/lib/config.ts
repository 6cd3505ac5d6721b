import { RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { readSettings, type StageSettings } from './settings.ts';

/**
 * Deployment configuration, read once from CDK context (`cdk.json` or `-c key=value`).
 *
 * Context keys (values given on the command line arrive as strings and are parsed here):
 *
 * - `stage` (string, default `dev`): deployment stage; lowercase letters, digits and `-`, starting
 *   with a letter, at most 20 characters. It names the stacks (`Lcm-<stage>-<Concern>`) and the table
 *   (`lcm-<stage>`, see `tableNameFor` in @lcm/shared). `dev` is the only disposable stage: its
 *   stateful resources are DESTROYed with the stack and have no deletion protection. Every other
 *   stage (test, staging, prod, ...) RETAINs them and turns deletion protection on.
 *   Point-in-time recovery is on in every stage.
 * - `evidenceRetentionDays` (positive integer, default 365): days after which evidence objects
 *   (device configurations, observations) expire from the evidence bucket. Non-current versions
 *   are kept `noncurrentVersionRetentionDays` more, then removed.
 * - `accessLogRetentionDays` (positive integer, default 90): days S3 server access logs are kept.
 *
 * HTTP API (the api stack):
 *
 * - `jwtIssuer` (https URL) and `jwtAudience` (string, list or comma-separated string): the OIDC
 *   issuer whose JWTs the API accepts and the audiences (`aud` or `client_id`) it requires. Give
 *   both or neither; without them the api stack creates a Cognito user pool (one group per role)
 *   with an app client and uses its issuer and client id.
 * - `cognitoDomainPrefix` (string, default `lcm-<stage>-<account id>`): the prefix of the user
 *   pool's Cognito domain, whose `/oauth2/token` endpoint issues the portal client's
 *   client-credentials tokens (only with the stack's own user pool). Lowercase letters, digits and
 *   `-`, at most 63 characters, unique in the region, without `aws`, `amazon` or `cognito`.
 * - `corsOrigins` (list or comma-separated string, default none: no CORS configuration):
 *   origins allowed to call the API from a browser; `https://host[:port]`, `http://localhost[:port]`
 *   or `*`.
 * - `throttleRateLimit` (positive number, default 50) and `throttleBurstLimit` (positive integer,
 *   default 100): default-stage throttling, requests per second and burst, unless the stage's
 *   `settings` give `throttle.defaultRateLimit` / `defaultBurstLimit`; the write routes' tighter
 *   limits are `settings` too (`throttle`, api-throttles.ts).
 * - `logRetentionDays` (default 90; one of CloudWatch Logs' retention periods, e.g. 1, 7, 14, 30,
 *   90, 365): retention of the API access logs and the Lambda log groups.
 * - `logLevel` (DEBUG, INFO, WARN or ERROR; default INFO): POWERTOOLS_LOG_LEVEL of the handlers.
 *
 * Events (the events stack):
 *
 * - `eventArchiveRetentionDays` (positive integer, default 30): days the archive of the LCM bus
 *   keeps every event for replay.
 *
 * Integrations (the workflows and fleet stacks; secrets are created by the events stack):
 *
 * - `ldsBaseUrl`, `gradingBaseUrl` (https URLs, default none): base URLs of the Lab Delivery
 *   System and the Grading Engine (LCM_LDS_BASE_URL, LCM_GRADING_BASE_URL). Without one, the tasks
 *   that need it fail with "not configured" when they first call it.
 * - `lambdaSubnetIds` and `lambdaSecurityGroupIds` (lists, default none; give both or neither):
 *   the functions that call the CML API of the workers (private IPs) run in these subnets with
 *   these security groups. The subnets need a route to the AWS APIs (NAT or VPC endpoints).
 * - `contentBuckets` (list of S3 bucket names, default none): buckets the content sync may read
 *   definition packages from (a definition's `contentUri` is `s3://<bucket>/<key>`); a package in
 *   any other bucket is refused as unreadable.
 *
 * Workflows (the workflows and fleet stacks):
 *
 * - `workflowLogExecutionData` (boolean, default true in dev, false elsewhere): whether the state
 *   machines' logs (level ALL) include execution input and output, which carry learner contact
 *   data and task tokens.
 *
 * Fleet (the fleet stack; the CML workers it launches):
 *
 * - `workerSubnetIds` and `workerSecurityGroupIds` (lists, default none: EC2's default VPC and
 *   security group): where workers are launched; RunInstances is scoped to them when given.
 * - `workerInstanceTypes` (list of EC2 instance types, `*` and `?` wildcards allowed; default
 *   `*.metal` and `*.metal-*`, the bare-metal types, and the c8i, m8i, r8i (and -flex) families that
 *   offer nested virtualisation: the types CML can run on, issue 10 item 4): the only
 *   instance types RunInstances may launch (the `ec2:InstanceType` condition); a template of another
 *   type fails at launch with UnauthorizedOperation.
 * - `workerKeyName` (string, optional): EC2 key pair of the workers.
 * - `workerRoleArn` (IAM role ARN, optional): the role of the workers' instance profile; default
 *   a role the fleet stack creates, with no permissions. iam:PassRole is granted for this role only.
 * - `workerAmiOwners` (list, optional): owners (account ids, `self`, `amazon`) searched for a
 *   template's AMI name pattern.
 * - `fleetSchedulesEnabled` (boolean, default true): the scale-up, scale-down, health and
 *   stuck-session schedules; false creates them disabled.
 *
 * Observability (the observability stack):
 *
 * - `alarmEmails` (list or comma-separated string of e-mail addresses, default none): subscribed
 *   to the alarm topic `lcm-<stage>-alarms` (each address confirms its subscription by mail).
 *
 * Tunable stages (the fleet and session workflow functions):
 *
 * - `settings` (object of stage → settings, or the same as JSON text; default none): the scaling,
 *   lifecycle and fleet timing settings of each stage, e.g.
 *   `{ "prod": { "scaling": { "minWorkers": 1 }, "lifecycle": { "gradingTimeoutSeconds": 2400 } } }`.
 *   Every stage's entry is validated (settings.ts); the synthesised stage's are set as environment
 *   variables on the functions that read them. Each setting, its default and meaning: README,
 *   "Tunable stages".
 *
 * Account and region are not context keys: stacks are environment-agnostic unless
 * CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set (the CLI sets them from the active profile).
 * Nothing here performs a lookup, so `cdk synth` works offline.
 */
export interface LcmConfig {
  readonly stage: string;
  /** True for the disposable `dev` stage only. */
  readonly isDev: boolean;
  /** RETAIN outside dev, DESTROY in dev: applies to every stateful resource. */
  readonly removalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection: on outside dev. */
  readonly deletionProtection: boolean;
  /** Always true (DESIGN §5); kept here so the data stack reads one place. */
  readonly pointInTimeRecovery: boolean;
  /** Dev only: empty buckets on stack deletion so DESTROY can succeed. */
  readonly autoDeleteObjects: boolean;
  readonly evidenceRetentionDays: number;
  readonly noncurrentVersionRetentionDays: number;
  readonly accessLogRetentionDays: number;
  /** HTTP API settings (the api stack). */
  readonly api: ApiConfig;
  /** The event bus (the events stack). */
  readonly events: EventsConfig;
  /** Partner systems and network access of the functions that call them. */
  readonly integrations: IntegrationsConfig;
  /** The state machines (workflows and fleet stacks). */
  readonly workflows: WorkflowsConfig;
  /** The CML workers the fleet stack launches. */
  readonly fleet: FleetInfraConfig;
  /** Alarms and dashboard (the observability stack). */
  readonly observability: ObservabilityConfig;
  /** This stage's scaling, lifecycle and fleet timing settings (only those given; settings.ts). */
  readonly settings: StageSettings;
}

export interface ObservabilityConfig {
  /** E-mail addresses subscribed to the alarm topic. */
  readonly alarmEmails: readonly string[];
}

export interface EventsConfig {
  /** Days the bus archive keeps events for replay. */
  readonly archiveRetentionDays: number;
}

export interface IntegrationsConfig {
  readonly ldsBaseUrl?: string;
  readonly gradingBaseUrl?: string;
  /** Buckets the content sync may read packages from (s3:GetObject on their objects). */
  readonly contentBuckets?: readonly string[];
  /** Subnets and security groups of the functions that call the workers' CML API; undefined: no VPC. */
  readonly lambdaNetwork?: {
    readonly subnetIds: readonly string[];
    readonly securityGroupIds: readonly string[];
  };
}

export interface WorkflowsConfig {
  /** includeExecutionData of the state machines' logs. */
  readonly logExecutionData: boolean;
}

export interface FleetInfraConfig {
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** Instance types (StringLike patterns) RunInstances may launch. */
  readonly instanceTypes: readonly string[];
  readonly keyName?: string;
  /** Existing role for the worker instance profile; undefined: the fleet stack creates one. */
  readonly roleArn?: string;
  readonly amiOwners: readonly string[];
  readonly schedulesEnabled: boolean;
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface JwtConfig {
  /** OIDC issuer URL (the `iss` claim), https. */
  readonly issuer: string;
  /** Accepted audiences: a token's `aud` or `client_id` must be one of them. */
  readonly audience: readonly string[];
}

export interface ApiConfig {
  /** External identity provider; undefined: the api stack creates a Cognito user pool. */
  readonly jwt?: JwtConfig;
  /** Prefix of the user pool's Cognito domain; undefined: `lcm-<stage>-<account id>`. */
  readonly cognitoDomainPrefix?: string;
  /** Browser origins allowed by CORS; empty: no CORS configuration at all. */
  readonly corsOrigins: readonly string[];
  /** Default-stage throttling: steady requests per second and burst. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of the API access logs and the handlers' log groups. */
  readonly logRetention: RetentionDays;
  /** POWERTOOLS_LOG_LEVEL of the handlers. */
  readonly logLevel: LogLevel;
}

/** Props every LCM stack receives (buildApp fills them in). */
export interface LcmStackProps extends StackProps {
  readonly config: LcmConfig;
}

export const CONTEXT_KEYS = {
  stage: 'stage',
  evidenceRetentionDays: 'evidenceRetentionDays',
  accessLogRetentionDays: 'accessLogRetentionDays',
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  cognitoDomainPrefix: 'cognitoDomainPrefix',
  corsOrigins: 'corsOrigins',
  throttleRateLimit: 'throttleRateLimit',
  throttleBurstLimit: 'throttleBurstLimit',
  logRetentionDays: 'logRetentionDays',
  logLevel: 'logLevel',
  eventArchiveRetentionDays: 'eventArchiveRetentionDays',
  ldsBaseUrl: 'ldsBaseUrl',
  gradingBaseUrl: 'gradingBaseUrl',
  lambdaSubnetIds: 'lambdaSubnetIds',
  lambdaSecurityGroupIds: 'lambdaSecurityGroupIds',
  contentBuckets: 'contentBuckets',
  workflowLogExecutionData: 'workflowLogExecutionData',
  workerSubnetIds: 'workerSubnetIds',
  workerSecurityGroupIds: 'workerSecurityGroupIds',
  workerKeyName: 'workerKeyName',
  workerInstanceTypes: 'workerInstanceTypes',
  workerRoleArn: 'workerRoleArn',
  workerAmiOwners: 'workerAmiOwners',
  fleetSchedulesEnabled: 'fleetSchedulesEnabled',
  alarmEmails: 'alarmEmails',
  settings: 'settings',
} as const;

export const DEFAULTS = {
  stage: 'dev',
  evidenceRetentionDays: 365,
  accessLogRetentionDays: 90,
  noncurrentVersionRetentionDays: 30,
  throttleRateLimit: 50,
  throttleBurstLimit: 100,
  logRetentionDays: RetentionDays.THREE_MONTHS,
  logLevel: 'INFO',
  eventArchiveRetentionDays: 30,
  fleetSchedulesEnabled: true,
  /**
   * What can run CML (it needs hardware virtualisation): bare metal (m5zn.metal, c5.metal,
   * m7i.metal-24xl, ...) and the families with nested virtualisation (c8i, m8i, r8i and flex).
   */
  workerInstanceTypes: [
    '*.metal',
    '*.metal-*',
    'c8i.*',
    'c8i-flex.*',
    'm8i.*',
    'm8i-flex.*',
    'r8i.*',
    'r8i-flex.*',
  ],
} as const;

/** The one disposable stage. */
export const DEV_STAGE = 'dev';

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/** Builds the configuration for a stage; `overrides` take precedence over the defaults. */
export const configFor = (
  stage: string,
  overrides: Partial<Pick<LcmConfig, 'evidenceRetentionDays' | 'accessLogRetentionDays'>> & {
    readonly api?: Partial<ApiConfig>;
    readonly events?: Partial<EventsConfig>;
    readonly integrations?: IntegrationsConfig;
    readonly workflows?: Partial<WorkflowsConfig>;
    readonly fleet?: Partial<FleetInfraConfig>;
    readonly observability?: Partial<ObservabilityConfig>;
    readonly settings?: StageSettings;
  } = {},
): LcmConfig => {
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(
      `Invalid stage "${stage}": use lowercase letters, digits and "-", starting with a letter, at most 20 characters`,
    );
  }
  const isDev = stage === DEV_STAGE;
  return {
    stage,
    isDev,
    removalPolicy: isDev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    deletionProtection: !isDev,
    pointInTimeRecovery: true,
    autoDeleteObjects: isDev,
    evidenceRetentionDays: overrides.evidenceRetentionDays ?? DEFAULTS.evidenceRetentionDays,
    noncurrentVersionRetentionDays: DEFAULTS.noncurrentVersionRetentionDays,
    accessLogRetentionDays: overrides.accessLogRetentionDays ?? DEFAULTS.accessLogRetentionDays,
    api: {
      jwt: overrides.api?.jwt,
      cognitoDomainPrefix: overrides.api?.cognitoDomainPrefix,
      corsOrigins: overrides.api?.corsOrigins ?? [],
      throttle: overrides.api?.throttle ?? {
        rateLimit: DEFAULTS.throttleRateLimit,
        burstLimit: DEFAULTS.throttleBurstLimit,
      },
      logRetention: overrides.api?.logRetention ?? DEFAULTS.logRetentionDays,
      logLevel: overrides.api?.logLevel ?? DEFAULTS.logLevel,
    },
    events: {
      archiveRetentionDays: overrides.events?.archiveRetentionDays ?? DEFAULTS.eventArchiveRetentionDays,
    },
    integrations: { ...overrides.integrations },
    workflows: { logExecutionData: overrides.workflows?.logExecutionData ?? isDev },
    fleet: {
      ...overrides.fleet,
      subnetIds: overrides.fleet?.subnetIds ?? [],
      securityGroupIds: overrides.fleet?.securityGroupIds ?? [],
      instanceTypes: overrides.fleet?.instanceTypes ?? DEFAULTS.workerInstanceTypes,
      amiOwners: overrides.fleet?.amiOwners ?? [],
      schedulesEnabled: overrides.fleet?.schedulesEnabled ?? DEFAULTS.fleetSchedulesEnabled,
    },
    observability: { alarmEmails: overrides.observability?.alarmEmails ?? [] },
    settings: overrides.settings ?? {},
  };
};

/** Reads the configuration from the context of `node` (usually `app.node`). */
export const readConfig = (node: Node): LcmConfig => {
  const stage = node.tryGetContext(CONTEXT_KEYS.stage) ?? DEFAULTS.stage;
  if (typeof stage !== 'string') {
    throw new Error(`Context "${CONTEXT_KEYS.stage}" must be a string`);
  }
  return configFor(stage, {
    evidenceRetentionDays: positiveInt(node, CONTEXT_KEYS.evidenceRetentionDays),
    accessLogRetentionDays: positiveInt(node, CONTEXT_KEYS.accessLogRetentionDays),
    api: readApiConfig(node),
    events: defined({ archiveRetentionDays: positiveInt(node, CONTEXT_KEYS.eventArchiveRetentionDays) }),
    integrations: readIntegrationsConfig(node),
    workflows: defined({ logExecutionData: bool(node, CONTEXT_KEYS.workflowLogExecutionData) }),
    fleet: readFleetConfig(node),
    observability: defined({
      alarmEmails: matchingList(node, CONTEXT_KEYS.alarmEmails, EMAIL, 'an e-mail address'),
    }),
    settings: readSettings(node.tryGetContext(CONTEXT_KEYS.settings), stage, CONTEXT_KEYS.settings),
  });
};

/** The object without its undefined properties (so defaults apply). */
const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** A plain e-mail address (what an SNS e-mail subscription accepts). */
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
/** `m5zn.metal`, `c5.*`, `*.metal-*`: family and size, lowercase, with StringLike wildcards. */
const INSTANCE_TYPE = /^[a-z0-9*?-]{1,32}\.[a-z0-9*?-]{1,32}$/;

/** A list that, when given, has at least one item. */
const nonEmpty = (key: string, items: string[] | undefined): string[] | undefined => {
  if (items !== undefined && items.length === 0)
    throw new Error(`Context "${key}" must name at least one item`);
  return items;
};
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** Account ids and the aliases DescribeImages accepts as owners. */
const AMI_OWNER = /^(\d{12}|self|amazon|aws-marketplace)$/;

/** A list whose every item matches `pattern` (undefined when the key is absent). */
const matchingList = (node: Node, key: string, pattern: RegExp, what: string): string[] | undefined => {
  const items = stringList(node, key);
  const invalid = items?.filter((i) => !pattern.test(i)) ?? [];
  if (invalid.length > 0) throw new Error(`Context "${key}": not ${what}: ${invalid.join(', ')}`);
  return items;
};

const httpsUrl = (node: Node, key: string): string | undefined => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !isHttpsUrl(raw)) {
    throw new Error(`Context "${key}" must be an https URL, got ${JSON.stringify(raw)}`);
  }
  return raw;
};

const readIntegrationsConfig = (node: Node): IntegrationsConfig => {
  const subnetIds = matchingList(node, CONTEXT_KEYS.lambdaSubnetIds, SUBNET_ID, 'a subnet id');
  const securityGroupIds = matchingList(
    node,
    CONTEXT_KEYS.lambdaSecurityGroupIds,
    SECURITY_GROUP_ID,
    'a security group id',
  );
  if ((subnetIds?.length ?? 0) > 0 !== (securityGroupIds?.length ?? 0) > 0) {
    throw new Error(
      `Context "${CONTEXT_KEYS.lambdaSubnetIds}" and "${CONTEXT_KEYS.lambdaSecurityGroupIds}" go together: give both or neither`,
    );
  }
  return defined({
    ldsBaseUrl: httpsUrl(node, CONTEXT_KEYS.ldsBaseUrl),
    gradingBaseUrl: httpsUrl(node, CONTEXT_KEYS.gradingBaseUrl),
    contentBuckets: matchingList(node, CONTEXT_KEYS.contentBuckets, BUCKET_NAME, 'an S3 bucket name'),
    lambdaNetwork:
      subnetIds && securityGroupIds && subnetIds.length > 0 ? { subnetIds, securityGroupIds } : undefined,
  });
};

const readFleetConfig = (node: Node): Partial<FleetInfraConfig> => {
  const keyName: unknown = node.tryGetContext(CONTEXT_KEYS.workerKeyName);
  if (keyName !== undefined && (typeof keyName !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(keyName))) {
    throw new Error(`Context "${CONTEXT_KEYS.workerKeyName}" must be an EC2 key pair name`);
  }
  const roleArn: unknown = node.tryGetContext(CONTEXT_KEYS.workerRoleArn);
  if (roleArn !== undefined && (typeof roleArn !== 'string' || !ROLE_ARN.test(roleArn))) {
    throw new Error(
      `Context "${CONTEXT_KEYS.workerRoleArn}" must be an IAM role ARN, got ${JSON.stringify(roleArn)}`,
    );
  }
  return defined({
    subnetIds: matchingList(node, CONTEXT_KEYS.workerSubnetIds, SUBNET_ID, 'a subnet id'),
    securityGroupIds: matchingList(
      node,
      CONTEXT_KEYS.workerSecurityGroupIds,
      SECURITY_GROUP_ID,
      'a security group id',
    ),
    instanceTypes: nonEmpty(
      CONTEXT_KEYS.workerInstanceTypes,
      matchingList(
        node,
        CONTEXT_KEYS.workerInstanceTypes,
        INSTANCE_TYPE,
        'an EC2 instance type or pattern (family.size, * and ? wildcards)',
      ),
    ),
    keyName: keyName as string | undefined,
    roleArn: roleArn as string | undefined,
    amiOwners: matchingList(
      node,
      CONTEXT_KEYS.workerAmiOwners,
      AMI_OWNER,
      'an AMI owner (account id, self, amazon, aws-marketplace)',
    ),
    schedulesEnabled: bool(node, CONTEXT_KEYS.fleetSchedulesEnabled),
  });
};

/** A boolean from cdk.json (true/false) or the command line ("true"/"false"). */
const bool = (node: Node, key: string): boolean | undefined => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`Context "${key}" must be true or false, got ${JSON.stringify(raw)}`);
};

const readApiConfig = (node: Node): Partial<ApiConfig> => {
  const api: { -readonly [K in keyof ApiConfig]?: ApiConfig[K] } = {};
  const jwt = readJwt(node);
  if (jwt) api.jwt = jwt;
  const domainPrefix: unknown = node.tryGetContext(CONTEXT_KEYS.cognitoDomainPrefix);
  if (domainPrefix !== undefined) {
    if (
      typeof domainPrefix !== 'string' ||
      !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(domainPrefix) ||
      /aws|amazon|cognito/.test(domainPrefix)
    ) {
      throw new Error(
        `Context "${CONTEXT_KEYS.cognitoDomainPrefix}" must be lowercase letters, digits and "-" (at most 63, not containing aws, amazon or cognito), got ${JSON.stringify(domainPrefix)}`,
      );
    }
    api.cognitoDomainPrefix = domainPrefix;
  }
  const corsOrigins = stringList(node, CONTEXT_KEYS.corsOrigins);
  if (corsOrigins) {
    const invalid = corsOrigins.filter((o) => !isCorsOrigin(o));
    if (invalid.length > 0) {
      throw new Error(
        `Context "${CONTEXT_KEYS.corsOrigins}": not an origin (https://host[:port], http://localhost[:port] or *): ${invalid.join(', ')}`,
      );
    }
    api.corsOrigins = corsOrigins;
  }
  const rateLimit = positiveNumber(node, CONTEXT_KEYS.throttleRateLimit);
  const burstLimit = positiveInt(node, CONTEXT_KEYS.throttleBurstLimit);
  if (rateLimit !== undefined || burstLimit !== undefined) {
    api.throttle = {
      rateLimit: rateLimit ?? DEFAULTS.throttleRateLimit,
      burstLimit: burstLimit ?? DEFAULTS.throttleBurstLimit,
    };
  }
  const logRetentionDays = positiveInt(node, CONTEXT_KEYS.logRetentionDays);
  if (logRetentionDays !== undefined) {
    const allowed = Object.values(RetentionDays).filter((d): d is RetentionDays => typeof d === 'number');
    if (!allowed.includes(logRetentionDays)) {
      throw new Error(
        `Context "${CONTEXT_KEYS.logRetentionDays}" must be a CloudWatch Logs retention period (${allowed.join(', ')}), got ${logRetentionDays}`,
      );
    }
    api.logRetention = logRetentionDays;
  }
  const logLevel: unknown = node.tryGetContext(CONTEXT_KEYS.logLevel);
  if (logLevel !== undefined) {
    const level = typeof logLevel === 'string' ? logLevel.toUpperCase() : logLevel;
    if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
      throw new Error(`Context "${CONTEXT_KEYS.logLevel}" must be one of ${LOG_LEVELS.join(', ')}`);
    }
    api.logLevel = level as LogLevel;
  }
  return api;
};

const readJwt = (node: Node): JwtConfig | undefined => {
  const issuer: unknown = node.tryGetContext(CONTEXT_KEYS.jwtIssuer);
  const audience = stringList(node, CONTEXT_KEYS.jwtAudience);
  if (issuer === undefined && audience === undefined) return undefined;
  if (typeof issuer !== 'string' || !isHttpsUrl(issuer)) {
    throw new Error(
      `Context "${CONTEXT_KEYS.jwtIssuer}" must be an https URL when "${CONTEXT_KEYS.jwtAudience}" is given, got ${JSON.stringify(issuer)}`,
    );
  }
  if (!audience || audience.length === 0) {
    throw new Error(`Context "${CONTEXT_KEYS.jwtAudience}" is required with "${CONTEXT_KEYS.jwtIssuer}"`);
  }
  return { issuer, audience };
};

const isHttpsUrl = (value: string): boolean => {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
};

/** An exact origin (scheme, host, optional port; no path), or `*`. */
const isCorsOrigin = (value: string): boolean =>
  value === '*' ||
  /^https:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(value) ||
  /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/i.test(value);

/** A list from cdk.json (array of strings) or the command line (comma- or space-separated). */
const stringList = (node: Node, key: string): string[] | undefined => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const items = typeof raw === 'string' ? raw.split(/[\s,]+/) : raw;
  if (!Array.isArray(items) || !items.every((i) => typeof i === 'string')) {
    throw new Error(`Context "${key}" must be a string or a list of strings, got ${JSON.stringify(raw)}`);
  }
  return items.map((i) => i.trim()).filter((i) => i !== '');
};

const positiveNumber = (node: Node, key: string): number | undefined => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`Context "${key}" must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
};

const positiveInt = (node: Node, key: string): number | undefined => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`Context "${key}" must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
};
