import type { InstanceTypeInfo } from '@lcm/shared/platform';

/**
 * The instance types the sandbox EC2 knows (what its DescribeInstanceTypes answers), a realistic
 * slice of EC2: the bare-metal types CML runs on directly, the 8th-generation Intel families that
 * offer nested virtualisation (c8i, m8i, r8i and their flex variants, `nested-virtualization` in
 * `ProcessorInfo.SupportedFeatures`), and common types that can run neither (CML cannot start its
 * VMs there): m7i.8xlarge, m5.*, c7i.8xlarge, t3.*.
 *
 * `usdPerHour` is the Linux on-demand list price in {@link PRICE_REGION} as recalled from the AWS
 * price list around {@link PRICE_DATE}; these are figures taken from memory, not fetched — check
 * them against the AWS Pricing API (or the EC2 pricing page) before relying on them for money.
 */

export const PRICE_REGION = 'us-east-1';
export const PRICE_DATE = '2025-11';

export interface SandboxInstanceType {
  instanceType: string;
  vCpus: number;
  memoryGib: number;
  bareMetal: boolean;
  /** `nested-virtualization` among the processor's supported features. */
  nested: boolean;
  /** On-demand Linux, {@link PRICE_REGION}, as of {@link PRICE_DATE} (to be checked). */
  usdPerHour: number;
}

const t = (
  instanceType: string,
  vCpus: number,
  memoryGib: number,
  usdPerHour: number,
  kind: 'metal' | 'nested' | 'none',
): SandboxInstanceType => ({
  instanceType,
  vCpus,
  memoryGib,
  bareMetal: kind === 'metal',
  nested: kind === 'nested',
  usdPerHour,
});

export const SANDBOX_INSTANCE_TYPES: readonly SandboxInstanceType[] = [
  // bare metal
  t('m5zn.metal', 48, 192, 3.9641, 'metal'),
  t('c5.metal', 96, 192, 4.08, 'metal'),
  t('m5.metal', 96, 384, 4.608, 'metal'),
  t('c7i.metal-24xl', 96, 192, 4.284, 'metal'),
  t('m7i.metal-24xl', 96, 384, 4.8384, 'metal'),
  t('m7i.metal-48xl', 192, 768, 9.6768, 'metal'),
  t('r7i.metal-24xl', 96, 768, 6.3504, 'metal'),
  // nested virtualisation: c8i (2 GiB per vCPU)
  t('c8i.2xlarge', 8, 16, 0.37485, 'nested'),
  t('c8i.4xlarge', 16, 32, 0.7497, 'nested'),
  t('c8i.8xlarge', 32, 64, 1.4994, 'nested'),
  t('c8i.12xlarge', 48, 96, 2.2491, 'nested'),
  t('c8i.16xlarge', 64, 128, 2.9988, 'nested'),
  t('c8i.24xlarge', 96, 192, 4.4982, 'nested'),
  t('c8i-flex.4xlarge', 16, 32, 0.71215, 'nested'),
  t('c8i-flex.8xlarge', 32, 64, 1.4243, 'nested'),
  // m8i (4 GiB per vCPU)
  t('m8i.2xlarge', 8, 32, 0.42336, 'nested'),
  t('m8i.4xlarge', 16, 64, 0.84672, 'nested'),
  t('m8i.8xlarge', 32, 128, 1.69344, 'nested'),
  t('m8i.12xlarge', 48, 192, 2.54016, 'nested'),
  t('m8i.16xlarge', 64, 256, 3.38688, 'nested'),
  t('m8i.24xlarge', 96, 384, 5.08032, 'nested'),
  t('m8i-flex.4xlarge', 16, 64, 0.80438, 'nested'),
  t('m8i-flex.8xlarge', 32, 128, 1.60877, 'nested'),
  t('m8i-flex.16xlarge', 64, 256, 3.21754, 'nested'),
  // r8i (8 GiB per vCPU)
  t('r8i.4xlarge', 16, 128, 1.11132, 'nested'),
  t('r8i.8xlarge', 32, 256, 2.22264, 'nested'),
  t('r8i.16xlarge', 64, 512, 4.44528, 'nested'),
  t('r8i-flex.4xlarge', 16, 128, 1.05575, 'nested'),
  // neither: CML cannot run its VMs here
  t('m7i.8xlarge', 32, 128, 1.6128, 'none'),
  t('c7i.8xlarge', 32, 64, 1.428, 'none'),
  t('m5.large', 2, 8, 0.096, 'none'),
  t('m5.xlarge', 4, 16, 0.192, 'none'),
  t('m5.2xlarge', 8, 32, 0.384, 'none'),
  t('t3.large', 2, 8, 0.0832, 'none'),
];

const BY_TYPE = new Map(SANDBOX_INSTANCE_TYPES.map((i) => [i.instanceType, i]));

export const sandboxInstanceType = (instanceType: string): SandboxInstanceType | undefined =>
  BY_TYPE.get(instanceType);

/** The provider's view of a known type. */
export const instanceTypeInfoOf = (i: SandboxInstanceType): InstanceTypeInfo => ({
  instanceType: i.instanceType,
  bareMetal: i.bareMetal,
  nestedVirtualisation: i.nested,
  vCpus: i.vCpus,
  memoryGib: i.memoryGib,
});

/**
 * The same type as EC2's DescribeInstanceTypes answers it (the SDK's InstanceTypeInfo shape, the
 * fields LCM reads): what a test mocking the EC2 client at the SDK boundary returns.
 */
export const describeInstanceTypesShapeOf = (i: SandboxInstanceType) => ({
  InstanceType: i.instanceType,
  BareMetal: i.bareMetal,
  Hypervisor: i.bareMetal ? undefined : 'nitro',
  VCpuInfo: { DefaultVCpus: i.vCpus },
  MemoryInfo: { SizeInMiB: i.memoryGib * 1024 },
  ProcessorInfo: {
    SupportedArchitectures: ['x86_64'],
    ...(i.nested ? { SupportedFeatures: ['nested-virtualization'] } : {}),
  },
});
