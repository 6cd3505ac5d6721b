import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ComputeError, Ec2Compute, TAG_STAGE, TAG_WORKER_ID, toComputeError } from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sdkError } from '../../workflows/fleet/fake-ec2.ts';

/** The EC2/CloudWatch adapter against the SDK mocked at its boundary: requests and error mapping. */

const ec2 = mockClient(EC2Client);
const cw = mockClient(CloudWatchClient);
const NOW = new Date('2031-01-01T12:00:00.000Z');
let compute: Ec2Compute;

beforeEach(() => {
  ec2.reset();
  cw.reset();
  compute = new Ec2Compute({
    ec2: new EC2Client({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    imageOwners: ['self', '123456789012'],
    now: () => NOW,
  });
});

afterEach(() => {
  ec2.reset();
  cw.reset();
});

describe('resolveImage', () => {
  it('a name pattern: the newest available image over every page, with the owners filter', async () => {
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({
        Images: [{ ImageId: 'ami-1', Name: 'cml-2.8', CreationDate: '2025-01-01T00:00:00.000Z' }],
        NextToken: 'p2',
      })
      .resolvesOnce({
        Images: [
          { ImageId: 'ami-3', Name: 'cml-2.9.1', CreationDate: '2025-06-01T00:00:00.000Z' },
          { ImageId: 'ami-2', Name: 'cml-2.9.0', CreationDate: '2025-03-01T00:00:00.000Z' },
        ],
      });
    expect(await compute.resolveImage({ amiNamePattern: 'cml-*' })).toEqual({
      imageId: 'ami-3',
      name: 'cml-2.9.1',
      creationDate: '2025-06-01T00:00:00.000Z',
    });
    const calls = ec2.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      Filters: [
        { Name: 'name', Values: ['cml-*'] },
        { Name: 'state', Values: ['available'] },
      ],
      Owners: ['self', '123456789012'],
    });
    expect(calls[1]!.NextToken).toBe('p2');
  });

  it('nothing matches, or the explicit id does not exist: IMAGE_NOT_FOUND', async () => {
    ec2
      .on(DescribeImagesCommand, {
        Filters: [
          { Name: 'name', Values: ['none-*'] },
          { Name: 'state', Values: ['available'] },
        ],
      })
      .resolves({ Images: [] });
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-gone'] }).rejects(sdkError('InvalidAMIID.NotFound'));
    await expect(compute.resolveImage({ amiNamePattern: 'none-*' })).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
    });
    await expect(compute.resolveImage({ amiId: 'ami-gone' })).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
      providerCode: 'InvalidAMIID.NotFound',
    });
    await expect(compute.resolveImage({})).rejects.toBeInstanceOf(ComputeError);
  });
});

describe('launchInstance', () => {
  it('RunInstances with the client token, network, profile, base64 user data, IMDSv2 and tags', async () => {
    ec2.on(RunInstancesCommand).resolves({
      Instances: [
        { InstanceId: 'i-1', State: { Name: 'pending' }, Tags: [{ Key: TAG_WORKER_ID, Value: 'w-1' }] },
      ],
    });
    const out = await compute.launchInstance({
      clientToken: 'w-1',
      imageId: 'ami-3',
      instanceType: 'm5zn.metal',
      subnetId: 'subnet-1',
      securityGroupIds: ['sg-1'],
      instanceProfile: 'arn:aws:iam::123456789012:instance-profile/lcm-worker',
      userData: '#!/bin/bash\necho hi\n',
      tags: { [TAG_WORKER_ID]: 'w-1', [TAG_STAGE]: 'prod' },
    });
    expect(out).toMatchObject({ instanceId: 'i-1', state: 'pending', tags: { [TAG_WORKER_ID]: 'w-1' } });
    const input = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      ClientToken: 'w-1',
      ImageId: 'ami-3',
      InstanceType: 'm5zn.metal',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-1',
      SecurityGroupIds: ['sg-1'],
      IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/lcm-worker' },
      UserData: Buffer.from('#!/bin/bash\necho hi\n').toString('base64'),
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    });
    expect(input.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    expect(input.TagSpecifications?.[0]?.Tags).toEqual([
      { Key: TAG_WORKER_ID, Value: 'w-1' },
      { Key: TAG_STAGE, Value: 'prod' },
    ]);
  });

  it('maps EC2 errors to what the workflow acts on', async () => {
    const cases: Array<[string, number, string, boolean]> = [
      ['InsufficientInstanceCapacity', 500, 'INSUFFICIENT_CAPACITY', true],
      ['VcpuLimitExceeded', 400, 'LIMIT_EXCEEDED', false],
      ['InvalidParameterValue', 400, 'INVALID_REQUEST', false],
      ['UnauthorizedOperation', 403, 'INVALID_REQUEST', false],
      ['RequestLimitExceeded', 503, 'TRANSIENT', true],
      ['SomethingNew', 500, 'TRANSIENT', true],
    ];
    for (const [name, status, code, retryable] of cases) {
      const e = toComputeError(sdkError(name, status), 'RunInstances');
      expect(e, name).toMatchObject({ code, retryable, providerCode: name });
      expect(e.message).toContain(`RunInstances: ${name}`);
    }
  });
});

describe('instances', () => {
  it('describe: an unknown instance is undefined; running has its IP', async () => {
    ec2
      .on(DescribeInstancesCommand, { InstanceIds: ['i-gone'] })
      .rejects(sdkError('InvalidInstanceID.NotFound'));
    ec2.on(DescribeInstancesCommand, { InstanceIds: ['i-1'] }).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-1',
              State: { Name: 'running' },
              PrivateIpAddress: '10.0.1.7',
              LaunchTime: NOW,
              Tags: [{ Key: TAG_WORKER_ID, Value: 'w-1' }],
            },
          ],
        },
      ],
    });
    expect(await compute.describeInstance('i-gone')).toBeUndefined();
    expect(await compute.describeInstance('i-1')).toMatchObject({
      instanceId: 'i-1',
      state: 'running',
      privateIp: '10.0.1.7',
      launchTime: NOW.toISOString(),
      tags: { [TAG_WORKER_ID]: 'w-1' },
    });
  });

  it('terminate of an unknown instance and stop of a stopped one are no-ops', async () => {
    ec2.on(TerminateInstancesCommand).rejects(sdkError('InvalidInstanceID.NotFound'));
    ec2.on(StopInstancesCommand).rejects(sdkError('IncorrectInstanceState'));
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-2', State: { Name: 'stopped' } }] }],
    });
    await expect(compute.terminateInstance('i-gone')).resolves.toBeUndefined();
    await expect(compute.stopInstance('i-2')).resolves.toBeUndefined();
  });

  it('lists the stage’s worker instances over every page', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [{ Instances: [{ InstanceId: 'i-a', State: { Name: 'running' } }] }],
        NextToken: 'n',
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-b', State: { Name: 'stopped' } }] }] });
    const list = await compute.listWorkerInstances({ stage: 'prod' });
    expect(list.map((i) => i.instanceId)).toEqual(['i-a', 'i-b']);
    const first = ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input;
    expect(first.Filters).toEqual([
      { Name: 'tag-key', Values: [TAG_WORKER_ID] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
      { Name: `tag:${TAG_STAGE}`, Values: ['prod'] },
    ]);
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]!.args[0].input.NextToken).toBe('n');
  });
});

describe('cpuUtilisation (CloudWatch GetMetricData)', () => {
  it('one query per instance over the window; the newest datapoint; none when CloudWatch has none', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'cpu0',
          Values: [41.5, 20],
          Timestamps: [new Date('2031-01-01T11:55:00Z'), new Date('2031-01-01T11:50:00Z')],
        },
        { Id: 'cpu1', Values: [], Timestamps: [] },
      ],
    });
    const readings = await compute.cpuUtilisation(['i-1', 'i-2'], { windowMinutes: 15 });
    expect(readings).toEqual([
      { instanceId: 'i-1', cpuPercent: 41.5, at: '2031-01-01T11:55:00.000Z' },
      { instanceId: 'i-2' },
    ]);
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(new Date('2031-01-01T11:45:00.000Z'));
    expect(input.EndTime).toEqual(NOW);
    expect(input.MetricDataQueries?.[1]).toMatchObject({
      Id: 'cpu1',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/EC2',
          MetricName: 'CPUUtilization',
          Dimensions: [{ Name: 'InstanceId', Value: 'i-2' }],
        },
        Period: 300,
        Stat: 'Average',
      },
    });
    expect(await compute.cpuUtilisation([])).toEqual([]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });
});
