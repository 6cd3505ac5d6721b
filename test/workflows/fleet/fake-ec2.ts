import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Filter,
  type Instance,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { matchesNamePattern } from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * EC2 and CloudWatch mocked at the SDK boundary (aws-sdk-client-mock on every EC2Client and
 * CloudWatchClient of the process), behind a small in-memory model of EC2 so the real
 * Ec2Compute adapter sees realistic answers: instances move pending → running (with a private
 * IP) after `describesUntilRunning` DescribeInstances calls, stopping → stopped and
 * shutting-down → terminated on the next one; unknown ids are `InvalidInstanceID.NotFound`;
 * RunInstances is idempotent per ClientToken; DescribeImages filters by name pattern.
 */

export interface FakeInstance {
  instanceId: string;
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  imageId: string;
  instanceType: string;
  clientToken: string;
  subnetId?: string | undefined;
  tags: Record<string, string>;
  privateIp?: string | undefined;
  describesLeft: number;
  launchTime: Date;
}

export interface FakeImage {
  ImageId: string;
  Name: string;
  CreationDate: string;
  State?: string;
}

/** An error shaped like the SDK's service exceptions (name = EC2 error code). */
export function sdkError(name: string, status = 400, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

let counter = 0;

export class FakeEc2 {
  readonly ec2 = mockClient(EC2Client);
  readonly cloudwatch = mockClient(CloudWatchClient);
  readonly instances = new Map<string, FakeInstance>();
  images: FakeImage[] = [];
  /** Error codes the next RunInstances calls throw (consumed in order). */
  runErrors: string[] = [];
  /** Every RunInstances fails with this code while set. */
  runAlwaysFails: string | undefined;
  /**
   * RunInstances into these subnets and/or of these types fails with InsufficientInstanceCapacity
   * (an AZ out of a type), while listed.
   */
  noCapacityIn: Array<{ subnetId?: string; instanceType?: string }> = [];
  /** DescribeInstances calls before a pending instance is running. */
  describesUntilRunning = 1;
  /** IP given to running instances. */
  privateIp = '127.0.0.1';
  /** CloudWatch CPU per instance id (absent: no datapoints). */
  cpu: Record<string, number> = {};

  constructor() {
    this.ec2.on(DescribeImagesCommand).callsFake((input) => this.describeImages(input));
    this.ec2.on(RunInstancesCommand).callsFake((input) => this.run(input));
    this.ec2.on(DescribeInstancesCommand).callsFake((input) => this.describe(input));
    this.ec2.on(StartInstancesCommand).callsFake((input) => this.start(input));
    this.ec2.on(StopInstancesCommand).callsFake((input) => this.stop(input));
    this.ec2.on(TerminateInstancesCommand).callsFake((input) => this.terminate(input));
    this.cloudwatch.on(GetMetricDataCommand).callsFake((input) => this.metrics(input));
  }

  restore(): void {
    this.ec2.restore();
    this.cloudwatch.restore();
  }

  /** An instance that exists already (e.g. a worker launched before the test). */
  add(over: Partial<FakeInstance> & { tags: Record<string, string> }): FakeInstance {
    const i: FakeInstance = {
      instanceId: `i-${(++counter).toString(16).padStart(17, '0')}`,
      state: 'running',
      imageId: 'ami-0fake',
      instanceType: 'm5.large',
      clientToken: `token-${counter}`,
      privateIp: this.privateIp,
      describesLeft: 0,
      launchTime: new Date(),
      ...over,
    };
    this.instances.set(i.instanceId, i);
    return i;
  }

  calls<C extends new (...args: never[]) => unknown>(command: C) {
    return this.ec2.commandCalls(command as never).map((c) => c.args[0].input as Record<string, unknown>);
  }

  private describeImages(input: { ImageIds?: string[]; Filters?: Filter[] }) {
    if (input.ImageIds?.length) {
      const missing = input.ImageIds.filter((id) => !this.images.some((i) => i.ImageId === id));
      if (missing.length > 0)
        throw sdkError('InvalidAMIID.NotFound', 400, `The image id '[${missing[0]}]' does not exist`);
      return { Images: this.images.filter((i) => input.ImageIds!.includes(i.ImageId)) };
    }
    const pattern = input.Filters?.find((f) => f.Name === 'name')?.Values?.[0] ?? '*';
    return {
      Images: this.images.filter(
        (i) => (i.State ?? 'available') === 'available' && matchesNamePattern(i.Name, pattern),
      ),
    };
  }

  private run(input: {
    ClientToken?: string;
    ImageId?: string;
    InstanceType?: string;
    SubnetId?: string;
    TagSpecifications?: Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: string }> }>;
  }) {
    const existing = [...this.instances.values()].find((i) => i.clientToken === input.ClientToken);
    if (existing) return { Instances: [this.toInstance(existing)] };
    const scoped = this.noCapacityIn.some(
      (f) =>
        (f.subnetId === undefined || f.subnetId === input.SubnetId) &&
        (f.instanceType === undefined || f.instanceType === input.InstanceType),
    );
    const fault = scoped ? 'InsufficientInstanceCapacity' : (this.runErrors.shift() ?? this.runAlwaysFails);
    if (fault) throw sdkError(fault, fault.startsWith('Insufficient') ? 500 : 400, `simulated ${fault}`);
    const tags: Record<string, string> = {};
    for (const spec of input.TagSpecifications ?? []) {
      if (spec.ResourceType !== 'instance') continue;
      for (const t of spec.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
    }
    const i = this.add({
      state: 'pending',
      imageId: input.ImageId ?? '',
      instanceType: input.InstanceType ?? '',
      clientToken: input.ClientToken ?? '',
      subnetId: input.SubnetId,
      tags,
      privateIp: undefined,
      describesLeft: this.describesUntilRunning,
    });
    return { Instances: [this.toInstance(i)] };
  }

  /** One DescribeInstances observes time passing for the instances it returns. */
  private advance(i: FakeInstance): void {
    if (i.state === 'pending') {
      if (i.describesLeft <= 0) {
        i.state = 'running';
        i.privateIp = this.privateIp;
      } else i.describesLeft--;
    } else if (i.state === 'stopping') i.state = 'stopped';
    else if (i.state === 'shutting-down') i.state = 'terminated';
  }

  private describe(input: { InstanceIds?: string[]; Filters?: Filter[]; NextToken?: string }) {
    let found: FakeInstance[];
    if (input.InstanceIds?.length) {
      found = input.InstanceIds.map((id) => {
        const i = this.instances.get(id);
        if (!i) throw sdkError('InvalidInstanceID.NotFound', 400, `The instance ID '${id}' does not exist`);
        return i;
      });
    } else {
      found = [...this.instances.values()];
    }
    for (const i of found) this.advance(i);
    for (const f of input.Filters ?? []) {
      const values = f.Values ?? [];
      if (f.Name === 'tag-key') found = found.filter((i) => values.some((v) => v in i.tags));
      else if (f.Name === 'instance-state-name') found = found.filter((i) => values.includes(i.state));
      else if (f.Name?.startsWith('tag:')) {
        const key = f.Name.slice(4);
        found = found.filter((i) => values.includes(i.tags[key] ?? ''));
      }
    }
    return { Reservations: found.length ? [{ Instances: found.map((i) => this.toInstance(i)) }] : [] };
  }

  private stateChange(ids: string[] | undefined, next: (i: FakeInstance) => void) {
    return (ids ?? []).map((id) => {
      const i = this.instances.get(id);
      if (!i) throw sdkError('InvalidInstanceID.NotFound', 400, `The instance ID '${id}' does not exist`);
      const previous = i.state;
      next(i);
      return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: i.state } };
    });
  }

  private start(input: { InstanceIds?: string[] }) {
    return {
      StartingInstances: this.stateChange(input.InstanceIds, (i) => {
        if (i.state === 'stopped') {
          i.state = 'pending';
          i.privateIp = undefined;
          i.describesLeft = this.describesUntilRunning;
        } else if (i.state !== 'pending' && i.state !== 'running') {
          throw sdkError('IncorrectInstanceState', 400, `instance ${i.instanceId} is ${i.state}`);
        }
      }),
    };
  }

  private stop(input: { InstanceIds?: string[] }) {
    return {
      StoppingInstances: this.stateChange(input.InstanceIds, (i) => {
        if (i.state === 'running' || i.state === 'pending') i.state = 'stopping';
        else if (i.state !== 'stopping' && i.state !== 'stopped') {
          throw sdkError('IncorrectInstanceState', 400, `instance ${i.instanceId} is ${i.state}`);
        }
      }),
    };
  }

  private terminate(input: { InstanceIds?: string[] }) {
    return {
      TerminatingInstances: this.stateChange(input.InstanceIds, (i) => {
        if (i.state !== 'terminated') i.state = 'shutting-down';
      }),
    };
  }

  private metrics(input: { MetricDataQueries?: MetricDataQuery[] }) {
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
        const id = q.MetricStat?.Metric?.Dimensions?.find((d) => d.Name === 'InstanceId')?.Value ?? '';
        const v = this.cpu[id];
        return {
          Id: q.Id,
          Label: q.Label,
          Values: v === undefined ? [] : [v],
          Timestamps: v === undefined ? [] : [new Date()],
          StatusCode: 'Complete',
        };
      }),
    };
  }

  private toInstance(i: FakeInstance): Instance {
    return {
      InstanceId: i.instanceId,
      State: { Name: i.state },
      ImageId: i.imageId,
      InstanceType: i.instanceType as never,
      PrivateIpAddress: i.state === 'running' ? i.privateIp : undefined,
      SubnetId: i.subnetId,
      LaunchTime: i.launchTime,
      Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
    };
  }
}
