/**
 * The compute seam (DESIGN §9): what the fleet workflows, scalers and sweeps need from EC2 and
 * CloudWatch, and nothing more. `ec2.ts` implements it with the AWS SDK v3; the sandbox
 * (packages/sandbox/src/compute) simulates instances, each backed by a CML simulator.
 *
 * Contract every provider keeps, so workflow steps can be retried freely:
 * - `launchInstance` is idempotent per `clientToken` (EC2's ClientToken): the same token returns
 *   the instance it already launched instead of a second one.
 * - `startInstance`, `stopInstance` and `terminateInstance` of an instance already in (or on its
 *   way to) the target state are no-ops; `terminateInstance` of an unknown instance is a no-op.
 * - `describeInstance` of an unknown instance is `undefined`, never an error.
 * - Failures are `ComputeError`s with a `code` the workflows map to their error names.
 */

/** EC2 instance states (InstanceStateName). */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** Tags every worker instance carries (the reconciliation keys on them). */
export const TAG_WORKER_ID = 'lcm:worker-id';
export const TAG_STAGE = 'lcm:stage';
export const TAG_TEMPLATE = 'lcm:template';
export const TAG_MANAGED_BY = 'lcm:managed-by';
export const MANAGED_BY = 'lablet-cloud-manager';

export interface InstanceInfo {
  instanceId: string;
  state: InstanceState;
  instanceType?: string | undefined;
  imageId?: string | undefined;
  privateIp?: string | undefined;
  publicIp?: string | undefined;
  launchTime?: string | undefined;
  /** The instance's tags (key → value). */
  tags: Record<string, string>;
  /**
   * Where the CML API of this instance answers, when the provider knows better than
   * `https://<ip>/api/v0` (a simulated instance, or an instance tagged with its endpoint).
   */
  cmlBaseUrl?: string | undefined;
}

export interface ImageSpec {
  /** An explicit AMI id: used as is (it must exist). */
  amiId?: string | undefined;
  /** A name pattern (`*` and `?` wildcards, EC2 filter syntax): the newest matching image wins. */
  amiNamePattern?: string | undefined;
}

export interface ResolvedImage {
  imageId: string;
  name?: string | undefined;
  creationDate?: string | undefined;
}

export interface LaunchRequest {
  /** Idempotency token (the worker id): a repeated launch returns the same instance. */
  clientToken: string;
  imageId: string;
  instanceType: string;
  /** Subnet to launch into (one of the configured subnets). */
  subnetId?: string | undefined;
  securityGroupIds?: readonly string[] | undefined;
  /** Instance profile name or ARN. */
  instanceProfile?: string | undefined;
  keyName?: string | undefined;
  /** Plain text; the provider base64-encodes it for EC2. */
  userData?: string | undefined;
  tags: Record<string, string>;
  /**
   * Enable nested virtualisation (EC2 `CpuOptions.NestedVirtualization=enabled`): what a `nested`
   * template needs for CML's VMs on the instance families that offer it (c8i, m8i, r8i, flex).
   */
  nestedVirtualisation?: boolean | undefined;
}

/**
 * What LCM needs to know of an instance type (EC2 DescribeInstanceTypes): whether CML can run on
 * it — bare metal, or nested virtualisation among the processor's supported features — and its
 * size.
 */
export interface InstanceTypeInfo {
  instanceType: string;
  /** `BareMetal: true`. */
  bareMetal: boolean;
  /** `ProcessorInfo.SupportedFeatures` includes `nested-virtualization`. */
  nestedVirtualisation: boolean;
  vCpus?: number | undefined;
  memoryGib?: number | undefined;
}

/** The EC2 name of the processor feature that lets an instance run nested virtual machines. */
export const NESTED_VIRTUALISATION_FEATURE = 'nested-virtualization';

/** One CPU reading per instance from CloudWatch (percent, average over the window). */
export interface CpuReading {
  instanceId: string;
  cpuPercent?: number | undefined;
  /** End of the datapoint's period (ISO). */
  at?: string | undefined;
}

export interface ComputeProvider {
  /** Which provider this is (`ec2`, `sandbox`); for logs. */
  readonly kind: string;
  /** Explicit id → that image (IMAGE_NOT_FOUND if it does not exist); pattern → the newest match. */
  resolveImage(spec: ImageSpec): Promise<ResolvedImage>;
  launchInstance(req: LaunchRequest): Promise<InstanceInfo>;
  describeInstance(instanceId: string): Promise<InstanceInfo | undefined>;
  startInstance(instanceId: string): Promise<void>;
  stopInstance(instanceId: string): Promise<void>;
  terminateInstance(instanceId: string): Promise<void>;
  /**
   * Every instance carrying a worker-id tag (of this stage when given), in any state but
   * terminated: the reconciliation compares them with the workers in the table.
   */
  listWorkerInstances(opts?: { stage?: string | undefined }): Promise<InstanceInfo[]>;
  /** Average CPU utilisation of each instance over the last `windowMinutes` (CloudWatch). */
  cpuUtilisation(instanceIds: readonly string[], opts?: { windowMinutes?: number }): Promise<CpuReading[]>;
  /** DescribeInstanceTypes of one type; `undefined` when EC2 does not know it (InvalidInstanceType). */
  describeInstanceType(instanceType: string): Promise<InstanceTypeInfo | undefined>;
}

/** The part of the provider the template commands need (the API's templates group). */
export type InstanceTypeCatalogue = Pick<ComputeProvider, 'describeInstanceType'>;

export type ComputeErrorCode =
  /** The AMI id does not exist, or no image matches the name pattern. */
  | 'IMAGE_NOT_FOUND'
  /** EC2 has no capacity for the instance type in the AZ (InsufficientInstanceCapacity). */
  | 'INSUFFICIENT_CAPACITY'
  /** An account limit (InstanceLimitExceeded, VcpuLimitExceeded, ...). */
  | 'LIMIT_EXCEEDED'
  | 'INSTANCE_NOT_FOUND'
  /** The instance is in a state that does not allow the call (IncorrectInstanceState). */
  | 'INCORRECT_STATE'
  /** Bad parameters, permissions: retrying the same call will not help. */
  | 'INVALID_REQUEST'
  /** Throttling, 5xx, network: the same call may succeed later. */
  | 'TRANSIENT';

export class ComputeError extends Error {
  readonly code: ComputeErrorCode;
  readonly retryable: boolean;
  /** The provider's own error name (e.g. EC2's `InsufficientInstanceCapacity`). */
  readonly providerCode: string | undefined;

  constructor(
    code: ComputeErrorCode,
    message: string,
    opts: { providerCode?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ComputeError';
    this.code = code;
    this.retryable = code === 'TRANSIENT' || code === 'INSUFFICIENT_CAPACITY';
    this.providerCode = opts.providerCode;
  }
}

export const isComputeError = (e: unknown): e is ComputeError => e instanceof ComputeError;

/** The worker id an instance is tagged with, if any. */
export const workerIdOf = (i: Pick<InstanceInfo, 'tags'>): string | undefined => i.tags[TAG_WORKER_ID];

/** `*`/`?` wildcard match of an image name (the EC2 `name` filter syntax), whole string. */
export function matchesNamePattern(name: string, pattern: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}
