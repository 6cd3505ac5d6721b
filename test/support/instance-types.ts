import { DescribeInstanceTypesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { describeInstanceTypesShapeOf, sandboxInstanceType } from '@lcm/sandbox/compute/index';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

/**
 * EC2's DescribeInstanceTypes mocked at the SDK boundary (aws-sdk-client-mock on every EC2Client of
 * the process), answering from the sandbox's table of real instance types
 * (packages/sandbox/src/compute/instance-types.ts) in the SDK's shape; an unknown type is EC2's
 * `InvalidInstanceType` error. For the tests that create templates through the API handler.
 */
export function mockDescribeInstanceTypes(): AwsClientStub<EC2Client> {
  const ec2 = mockClient(EC2Client);
  ec2.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[] }) => {
    const types = input.InstanceTypes ?? [];
    const unknown = types.filter((t) => !sandboxInstanceType(t));
    if (unknown.length > 0) {
      throw Object.assign(
        new Error(`The following supplied instance types do not exist: [${unknown.join(', ')}]`),
        { name: 'InvalidInstanceType', $fault: 'client', $metadata: { httpStatusCode: 400 } },
      );
    }
    return { InstanceTypes: types.map((t) => describeInstanceTypesShapeOf(sandboxInstanceType(t)!)) };
  });
  return ec2;
}
