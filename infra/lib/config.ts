import { RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { Node } from 'constructs';

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
}

/** Props every LCM stack receives (buildApp fills them in). */
export interface LcmStackProps extends StackProps {
  readonly config: LcmConfig;
}

export const CONTEXT_KEYS = {
  stage: 'stage',
  evidenceRetentionDays: 'evidenceRetentionDays',
  accessLogRetentionDays: 'accessLogRetentionDays',
} as const;

export const DEFAULTS = {
  stage: 'dev',
  evidenceRetentionDays: 365,
  accessLogRetentionDays: 90,
  noncurrentVersionRetentionDays: 30,
} as const;

/** The one disposable stage. */
export const DEV_STAGE = 'dev';

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/** Builds the configuration for a stage; `overrides` take precedence over the defaults. */
export const configFor = (
  stage: string,
  overrides: Partial<Pick<LcmConfig, 'evidenceRetentionDays' | 'accessLogRetentionDays'>> = {},
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
  });
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
