import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { cloudWatchClient } from '../runtime/aws/cloudwatch.ts';
import { ec2Client } from '../runtime/aws/ec2.ts';
import { toComputeError } from './ec2-errors.ts';
import { describeInstanceTypeOn } from './ec2-instance-types.ts';
import {
  ComputeError,
  type ComputeProvider,
  type CpuReading,
  type ImageSpec,
  type InstanceInfo,
  type InstanceState,
  type InstanceTypeInfo,
  type LaunchRequest,
  type ResolvedImage,
  TAG_STAGE,
  TAG_WORKER_ID,
} from './provider.ts';

/**
 * ComputeProvider on EC2 and CloudWatch through the AWS SDK v3. Every SDK failure becomes a
 * ComputeError whose code the fleet workflows map to their error names (provider.ts).
 */

export interface Ec2ComputeOptions {
  ec2?: EC2Client;
  cloudwatch?: CloudWatchClient;
  /** Owners passed to DescribeImages for name patterns (e.g. `self`, an account id); default any. */
  imageOwners?: readonly string[] | undefined;
  /** CloudWatch period in seconds (default 300: basic monitoring). */
  metricPeriodSeconds?: number;
  now?: () => Date;
}

export { toComputeError } from './ec2-errors.ts';

const tagsOf = (tags: Tag[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
};

const toTags = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

function instanceInfo(i: Instance): InstanceInfo {
  return {
    instanceId: i.InstanceId ?? '',
    state: (i.State?.Name ?? 'pending') as InstanceState,
    instanceType: i.InstanceType,
    imageId: i.ImageId,
    privateIp: i.PrivateIpAddress,
    publicIp: i.PublicIpAddress,
    launchTime: i.LaunchTime?.toISOString(),
    tags: tagsOf(i.Tags),
  };
}

export class Ec2Compute implements ComputeProvider {
  readonly kind = 'ec2';
  private readonly ec2: EC2Client;
  private readonly cloudwatch: CloudWatchClient;
  private readonly imageOwners: readonly string[] | undefined;
  private readonly periodSeconds: number;
  private readonly now: () => Date;

  constructor(opts: Ec2ComputeOptions = {}) {
    this.ec2 = opts.ec2 ?? ec2Client();
    this.cloudwatch = opts.cloudwatch ?? cloudWatchClient();
    this.imageOwners = opts.imageOwners;
    this.periodSeconds = opts.metricPeriodSeconds ?? 300;
    this.now = opts.now ?? (() => new Date());
  }

  async resolveImage(spec: ImageSpec): Promise<ResolvedImage> {
    if (spec.amiId) {
      const out = await this.call('DescribeImages', () =>
        this.ec2.send(new DescribeImagesCommand({ ImageIds: [spec.amiId!] })),
      );
      const image = out.Images?.find((i) => i.ImageId === spec.amiId && i.State !== 'deregistered');
      if (!image) throw new ComputeError('IMAGE_NOT_FOUND', `AMI ${spec.amiId} does not exist`);
      return { imageId: spec.amiId, name: image.Name, creationDate: image.CreationDate };
    }
    if (!spec.amiNamePattern) {
      throw new ComputeError('IMAGE_NOT_FOUND', 'the template names neither an AMI id nor a name pattern');
    }
    const images = [];
    let token: string | undefined;
    do {
      const out = await this.call('DescribeImages', () =>
        this.ec2.send(
          new DescribeImagesCommand({
            Filters: [
              { Name: 'name', Values: [spec.amiNamePattern!] },
              { Name: 'state', Values: ['available'] },
            ],
            ...(this.imageOwners?.length ? { Owners: [...this.imageOwners] } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      images.push(...(out.Images ?? []));
      token = out.NextToken;
    } while (token);
    const newest = images
      .filter((i) => i.ImageId)
      .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
    if (!newest) throw new ComputeError('IMAGE_NOT_FOUND', `no available AMI matches ${spec.amiNamePattern}`);
    return { imageId: newest.ImageId!, name: newest.Name, creationDate: newest.CreationDate };
  }

  async launchInstance(req: LaunchRequest): Promise<InstanceInfo> {
    const profile = req.instanceProfile
      ? req.instanceProfile.startsWith('arn:')
        ? { Arn: req.instanceProfile }
        : { Name: req.instanceProfile }
      : undefined;
    const out = await this.call('RunInstances', () =>
      this.ec2.send(
        new RunInstancesCommand({
          ClientToken: req.clientToken,
          ImageId: req.imageId,
          InstanceType: req.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          ...(req.subnetId ? { SubnetId: req.subnetId } : {}),
          ...(req.securityGroupIds?.length ? { SecurityGroupIds: [...req.securityGroupIds] } : {}),
          ...(profile ? { IamInstanceProfile: profile } : {}),
          ...(req.keyName ? { KeyName: req.keyName } : {}),
          ...(req.userData ? { UserData: Buffer.from(req.userData, 'utf8').toString('base64') } : {}),
          ...(req.nestedVirtualisation ? { CpuOptions: { NestedVirtualization: 'enabled' as const } } : {}),
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
          TagSpecifications: [
            { ResourceType: 'instance', Tags: toTags(req.tags) },
            { ResourceType: 'volume', Tags: toTags(req.tags) },
          ],
        }),
      ),
    );
    const instance = out.Instances?.[0];
    if (!instance?.InstanceId) {
      throw new ComputeError('TRANSIENT', 'RunInstances returned no instance');
    }
    return instanceInfo(instance);
  }

  describeInstanceType(instanceType: string): Promise<InstanceTypeInfo | undefined> {
    return describeInstanceTypeOn(this.ec2, instanceType);
  }

  async describeInstance(instanceId: string): Promise<InstanceInfo | undefined> {
    try {
      const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const found = out.Reservations?.flatMap((r) => r.Instances ?? []).find(
        (i) => i.InstanceId === instanceId,
      );
      return found ? instanceInfo(found) : undefined;
    } catch (e) {
      const err = toComputeError(e, 'DescribeInstances');
      if (err.code === 'INSTANCE_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async startInstance(instanceId: string): Promise<void> {
    await this.call('StartInstances', () =>
      this.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })),
    );
  }

  async stopInstance(instanceId: string): Promise<void> {
    try {
      await this.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (e) {
      const err = toComputeError(e, 'StopInstances');
      // Already stopped (or gone): nothing to stop.
      if (err.code === 'INCORRECT_STATE') {
        const now = await this.describeInstance(instanceId);
        if (now === undefined || now.state === 'stopped' || now.state === 'stopping') return;
      }
      throw err;
    }
  }

  async terminateInstance(instanceId: string): Promise<void> {
    try {
      await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (e) {
      const err = toComputeError(e, 'TerminateInstances');
      if (err.code === 'INSTANCE_NOT_FOUND') return;
      throw err;
    }
  }

  async listWorkerInstances(opts: { stage?: string | undefined } = {}): Promise<InstanceInfo[]> {
    const filters: Filter[] = [
      { Name: 'tag-key', Values: [TAG_WORKER_ID] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
      ...(opts.stage ? [{ Name: `tag:${TAG_STAGE}`, Values: [opts.stage] }] : []),
    ];
    const out: InstanceInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('DescribeInstances', () =>
        this.ec2.send(
          new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) }),
        ),
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) out.push(instanceInfo(i));
      token = page.NextToken;
    } while (token);
    return out;
  }

  async cpuUtilisation(
    instanceIds: readonly string[],
    opts: { windowMinutes?: number } = {},
  ): Promise<CpuReading[]> {
    if (instanceIds.length === 0) return [];
    const end = this.now();
    const windowMinutes = opts.windowMinutes ?? 15;
    const start = new Date(end.getTime() - windowMinutes * 60_000);
    const latest = new Map<string, CpuReading>();
    // GetMetricData takes at most 500 queries per call.
    for (let offset = 0; offset < instanceIds.length; offset += 500) {
      const batch = instanceIds.slice(offset, offset + 500);
      const queries: MetricDataQuery[] = batch.map((id, i) => ({
        Id: `cpu${i}`,
        Label: id,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/EC2',
            MetricName: 'CPUUtilization',
            Dimensions: [{ Name: 'InstanceId', Value: id }],
          },
          Period: this.periodSeconds,
          Stat: 'Average',
        },
        ReturnData: true,
      }));
      let token: string | undefined;
      do {
        const out = await this.call('GetMetricData', () =>
          this.cloudwatch.send(
            new GetMetricDataCommand({
              MetricDataQueries: queries,
              StartTime: start,
              EndTime: end,
              ScanBy: 'TimestampDescending',
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        );
        for (const r of out.MetricDataResults ?? []) {
          const index = Number((r.Id ?? '').replace(/^cpu/, ''));
          const id = batch[index];
          if (id === undefined) continue;
          const values = r.Values ?? [];
          const stamps = r.Timestamps ?? [];
          // Newest first (ScanBy TimestampDescending); keep the newest seen across pages.
          if (values.length > 0 && !latest.get(id)?.at) {
            latest.set(id, { instanceId: id, cpuPercent: values[0], at: stamps[0]?.toISOString() });
          }
        }
        token = out.NextToken;
      } while (token);
    }
    return instanceIds.map((id) => latest.get(id) ?? { instanceId: id });
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toComputeError(e, operation);
    }
  }
}

export const createEc2Compute = (opts: Ec2ComputeOptions = {}): ComputeProvider => new Ec2Compute(opts);
