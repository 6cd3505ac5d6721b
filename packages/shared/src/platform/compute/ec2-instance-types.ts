import { DescribeInstanceTypesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ec2Client } from '../runtime/aws/ec2.ts';
import { toComputeError } from './ec2-errors.ts';
import {
  type InstanceTypeCatalogue,
  type InstanceTypeInfo,
  NESTED_VIRTUALISATION_FEATURE,
} from './provider.ts';

/**
 * EC2's DescribeInstanceTypes of one type (issue 10, item 4): bare metal (`BareMetal`), nested
 * virtualisation (`ProcessorInfo.SupportedFeatures` has `nested-virtualization`), vCPUs and memory.
 * Alone in its module (EC2 client only), so the templates API bundle carries no CloudWatch client.
 */
export async function describeInstanceTypeOn(
  ec2: EC2Client,
  instanceType: string,
): Promise<InstanceTypeInfo | undefined> {
  try {
    const out = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] }));
    const t = out.InstanceTypes?.find((i) => i.InstanceType === instanceType);
    if (!t) return undefined;
    return {
      instanceType,
      bareMetal: t.BareMetal === true,
      nestedVirtualisation: (t.ProcessorInfo?.SupportedFeatures ?? []).includes(
        NESTED_VIRTUALISATION_FEATURE,
      ),
      vCpus: t.VCpuInfo?.DefaultVCpus,
      memoryGib: t.MemoryInfo?.SizeInMiB === undefined ? undefined : t.MemoryInfo.SizeInMiB / 1024,
    };
  } catch (e) {
    // An unknown type is a fault of the request (InvalidInstanceType), not of EC2.
    if ((e as { name?: string }).name === 'InvalidInstanceType') return undefined;
    throw toComputeError(e, 'DescribeInstanceTypes');
  }
}

/** The instance-type catalogue on EC2 (the templates API group). */
export const createEc2InstanceTypes = (ec2?: EC2Client): InstanceTypeCatalogue => ({
  describeInstanceType: (instanceType) => describeInstanceTypeOn(ec2 ?? ec2Client(), instanceType),
});
