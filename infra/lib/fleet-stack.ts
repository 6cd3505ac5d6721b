import { MANAGED_BY, TAG_MANAGED_BY, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { ArnFormat, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FLEET_SCHEDULES, type FleetSchedule } from '../../functions/schedules/index.ts';
import { FLEET_STATE_MACHINES, type FleetTaskNeed } from '../../functions/tasks/fleet/index.ts';
import type { LcmConfig, LcmStackProps } from './config.ts';
import { createDeadLetterQueue } from './events-stack.ts';
import {
  acknowledgeExecutionPatterns,
  grantSessionTaskTokens,
  grantTableReadWrite,
  STEPFUNCTIONS_ENGINE,
  sessionStateMachineArnOf,
  useCml,
  useCmlLicense,
  useLds,
} from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { acknowledgeIamResources } from './nag-acknowledgements.ts';
import {
  executionArnPatternOf,
  functionNameFor,
  pascal,
  STATE_MACHINE_KEYS,
  stateMachineArnOf,
  stateMachineNameFor,
} from './names.ts';
import type { IntegrationSecrets } from './secrets.ts';
import { AslStateMachine } from './state-machines.ts';

export interface FleetStackProps extends LcmStackProps {
  /** The single table (data stack). */
  readonly table: ITableV2;
  /** CML credentials and licence, LDS API key (events stack). */
  readonly secrets: IntegrationSecrets;
}

const SERVICE_NAME = 'lcm-fleet';

/** A schedule's target: EventBridge retries delivery this often, never past one period. */
export const SCHEDULE_TARGET_RETRY_ATTEMPTS = 2;

/** The period of a schedule, at least the 60 s EventBridge and Lambda accept as a maximum event age. */
export const scheduleEventAge = (s: FleetSchedule): Duration =>
  Duration.seconds(Math.max(60, s.everySeconds));

/**
 * The fleet side of LCM (DESIGN §6, §7): the worker-provisioning and worker-drain state machines
 * from their ASL files with one function per task of FLEET_STATE_MACHINES
 * (functions/tasks/fleet/index.ts), the scheduled scaler and sweep functions of FLEET_SCHEDULES
 * (functions/schedules/index.ts) on EventBridge schedule rules, and the workers' instance profile.
 *
 * EC2 permissions are scoped by tags where EC2 allows it:
 * - RunInstances creates only instances and volumes tagged (on create) with this stage, LCM as
 *   manager and a worker id; it may use only the configured subnets, security groups and key pair.
 * - CreateTags only as part of RunInstances (`ec2:CreateAction`).
 * - Start/Stop/TerminateInstances only on instances tagged with this stage and LCM as manager.
 * - iam:PassRole only for the worker role, only to EC2.
 * - DescribeInstances, DescribeImages and cloudwatch:GetMetricData have no resource-level
 *   permissions (Resource "*", acknowledged with that reason).
 *
 * Every function reads the state machine ARNs from the names (names.ts): the fleet engine needs
 * the ARNs of both machines, including the one that invokes the function itself.
 */
export class FleetStack extends Stack {
  public readonly provisioning: AslStateMachine;
  public readonly drain: AslStateMachine;
  /** Task functions of both machines, by task name. */
  public readonly taskFunctions: ReadonlyMap<string, LcmFunction>;
  /** Scheduled functions and their rules, by schedule name. */
  public readonly schedules: ReadonlyMap<string, { fn: LcmFunction; rule: events.Rule }>;
  public readonly scheduleDlq: sqs.Queue;
  /** The role of the workers' instance profile: the only role the fleet may pass. */
  public readonly workerRole: iam.IRole;
  public readonly workerInstanceProfile: iam.InstanceProfile;

  private readonly props: FleetStackProps;

  constructor(scope: Construct, id: string, props: FleetStackProps) {
    super(scope, id, props);
    this.props = props;
    const { config } = props;

    // The workers' role: none of LCM's code runs on the workers, so the role the stack creates has
    // no permissions; an existing role can be named in context (`workerRoleArn`).
    this.workerRole = config.fleet.roleArn
      ? iam.Role.fromRoleArn(this, 'WorkerRole', config.fleet.roleArn, { mutable: false })
      : new iam.Role(this, 'WorkerRole', {
          assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
          description: `LCM (${config.stage}) CML worker instances`,
        });
    this.workerInstanceProfile = new iam.InstanceProfile(this, 'WorkerInstanceProfile', {
      instanceProfileName: `lcm-${config.stage}-worker`,
      role: this.workerRole,
    });

    const taskFunctions = new Map<string, LcmFunction>();
    const machines = new Map<string, AslStateMachine>();
    for (const machine of FLEET_STATE_MACHINES) {
      const tasks = machine.tasks.map((task) => {
        const fn = this.createFunction(`${pascal(task.name)}Task`, {
          entry: task.entry,
          functionName: functionNameFor(config.stage, `task-${task.name}`),
          description: `LCM (${config.stage}) ${machine.key}: ${task.description}`,
          timeoutSeconds: task.timeoutSeconds,
          needs: task.needs,
        });
        taskFunctions.set(task.name, fn);
        return { substitution: task.substitution, fn };
      });
      machines.set(
        machine.key,
        new AslStateMachine(this, pascal(machine.key), {
          config,
          stateMachineName: stateMachineNameFor(config.stage, machine.key),
          aslPath: machine.asl,
          comment: `LCM (${config.stage}): ${machine.key}, one execution per worker step`,
          tasks,
        }),
      );
    }
    this.taskFunctions = taskFunctions;
    this.provisioning = machines.get(STATE_MACHINE_KEYS.provisioning)!;
    this.drain = machines.get(STATE_MACHINE_KEYS.drain)!;

    this.scheduleDlq = createDeadLetterQueue(
      this,
      'ScheduleDlq',
      config,
      'schedule runs EventBridge could not deliver, or that failed or expired (a newer run replaces them)',
    );
    const schedules = new Map<string, { fn: LcmFunction; rule: events.Rule }>();
    for (const schedule of FLEET_SCHEDULES) schedules.set(schedule.name, this.createSchedule(schedule));
    this.schedules = schedules;

    new CfnOutput(this, 'WorkerProvisioningStateMachineArn', {
      value: this.provisioning.stateMachine.stateMachineArn,
      description: 'The worker-provisioning state machine',
    });
    new CfnOutput(this, 'WorkerDrainStateMachineArn', {
      value: this.drain.stateMachine.stateMachineArn,
      description: 'The worker-drain state machine',
    });
    new CfnOutput(this, 'WorkerInstanceProfileArn', {
      value: this.workerInstanceProfile.instanceProfileArn,
      description: 'Instance profile of the CML workers',
    });
  }

  /**
   * One scheduled function with its EventBridge schedule rule. A run is only useful until the
   * next one: EventBridge and Lambda give up after one period (the next run is the retry), and a
   * run that could not be delivered, failed or expired is described in the schedule DLQ.
   */
  private createSchedule(schedule: FleetSchedule): { fn: LcmFunction; rule: events.Rule } {
    const { config } = this.props;
    const id = pascal(schedule.name);
    const fn = this.createFunction(`${id}Schedule`, {
      entry: schedule.entry,
      functionName: functionNameFor(config.stage, `schedule-${schedule.name}`),
      description: `LCM (${config.stage}) ${schedule.schedule}: ${schedule.description}`,
      timeoutSeconds: schedule.timeoutSeconds,
      needs: schedule.needs,
      ...(schedule.singleton ? { reservedConcurrentExecutions: 1 } : {}),
    });
    const maxEventAge = scheduleEventAge(schedule);
    fn.fn.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge,
      onFailure: new SqsDestination(this.scheduleDlq),
    });
    const rule = new events.Rule(this, `${id}Rule`, {
      ruleName: `lcm-${config.stage}-${schedule.name}`,
      description: `LCM (${config.stage}): ${schedule.description}`.slice(0, 512),
      schedule: events.Schedule.expression(schedule.schedule),
      enabled: config.fleet.schedulesEnabled,
      targets: [
        new targets.LambdaFunction(fn.fn, {
          retryAttempts: SCHEDULE_TARGET_RETRY_ATTEMPTS,
          maxEventAge,
          deadLetterQueue: this.scheduleDlq,
        }),
      ],
    });
    return { fn, rule };
  }

  private createFunction(
    id: string,
    spec: {
      entry: string;
      functionName: string;
      description: string;
      timeoutSeconds: number;
      needs: readonly FleetTaskNeed[];
      reservedConcurrentExecutions?: number;
    },
  ): LcmFunction {
    const { config, table } = this.props;
    const fn = new LcmFunction(this, id, {
      config,
      entry: spec.entry,
      functionName: spec.functionName,
      description: spec.description,
      timeout: Duration.seconds(spec.timeoutSeconds),
      serviceName: SERVICE_NAME,
      ...(spec.reservedConcurrentExecutions
        ? { reservedConcurrentExecutions: spec.reservedConcurrentExecutions }
        : {}),
      environment: {
        TABLE_NAME: table.tableName,
        // The fleet handlers build both engines (app/fleet-env.ts), which need
        // every ARN; permissions follow `needs` only.
        WORKFLOW_ENGINE: STEPFUNCTIONS_ENGINE,
        SESSION_STATE_MACHINE_ARN: sessionStateMachineArnOf(this, config),
        WORKER_PROVISIONING_STATE_MACHINE_ARN: this.fleetStateMachineArn(STATE_MACHINE_KEYS.provisioning),
        WORKER_DRAIN_STATE_MACHINE_ARN: this.fleetStateMachineArn(STATE_MACHINE_KEYS.drain),
      },
    });
    for (const need of new Set(spec.needs)) this.applyNeed(need, fn);
    return fn;
  }

  private fleetStateMachineArn(
    key: typeof STATE_MACHINE_KEYS.provisioning | typeof STATE_MACHINE_KEYS.drain,
  ) {
    return stateMachineArnOf(this, stateMachineNameFor(this.props.config.stage, key));
  }

  private applyNeed(need: FleetTaskNeed, fn: LcmFunction): void {
    const { config, table, secrets } = this.props;
    const needs: Record<FleetTaskNeed, () => void> = {
      table: () => grantTableReadWrite(fn, table),
      'ec2-read': () => grantEc2Read(fn),
      'ec2-launch': () => this.grantEc2Launch(fn),
      'ec2-lifecycle': () => grantEc2Lifecycle(fn, config),
      cloudwatch: () => grantCloudWatchRead(fn),
      cml: () => useCml(fn, config, secrets),
      license: () => useCmlLicense(fn, secrets),
      lds: () => useLds(fn, config, secrets),
      'task-tokens': () => grantSessionTaskTokens(fn, config),
      workflows: () => this.grantWorkflows(fn),
    };
    const apply = needs[need];
    if (!apply)
      throw new Error(`Unknown fleet need "${need}" (functions/tasks/fleet/index.ts): define what it grants`);
    apply();
  }

  /** StartExecution on both fleet machines; DescribeExecution on their and the session machine's executions. */
  private grantWorkflows(fn: LcmFunction): void {
    const { stage } = this.props.config;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [
          this.fleetStateMachineArn(STATE_MACHINE_KEYS.provisioning),
          this.fleetStateMachineArn(STATE_MACHINE_KEYS.drain),
        ],
      }),
    );
    const names = Object.values(STATE_MACHINE_KEYS).map((key) => stateMachineNameFor(stage, key));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: names.map((name) => executionArnPatternOf(this, name)),
      }),
    );
    acknowledgeExecutionPatterns(fn, names);
  }

  /**
   * RunInstances of tagged workers: LCM_WORKER_* environment (fleetConfigFromEnv) and the launch
   * permissions described on the class.
   */
  private grantEc2Launch(fn: LcmFunction): void {
    const { config } = this.props;
    const { fleet } = config;
    const ec2Arn = (resource: string, resourceName: string, account?: string) =>
      this.formatArn({
        service: 'ec2',
        resource,
        resourceName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        account,
      });

    fn.addEnvironment('LCM_WORKER_INSTANCE_PROFILE', this.workerInstanceProfile.instanceProfileArn);
    if (fleet.subnetIds.length > 0) fn.addEnvironment('LCM_WORKER_SUBNET_IDS', fleet.subnetIds.join(','));
    if (fleet.securityGroupIds.length > 0) {
      fn.addEnvironment('LCM_WORKER_SECURITY_GROUP_IDS', fleet.securityGroupIds.join(','));
    }
    if (fleet.keyName) fn.addEnvironment('LCM_WORKER_KEY_NAME', fleet.keyName);
    if (fleet.amiOwners.length > 0) fn.addEnvironment('LCM_WORKER_AMI_OWNERS', fleet.amiOwners.join(','));

    // What RunInstances creates must be tagged, on create, as a worker of this stage.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'LaunchTaggedWorkers',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('instance', '*'), ec2Arn('volume', '*')],
        conditions: {
          StringEquals: {
            [`aws:RequestTag/${TAG_STAGE}`]: config.stage,
            [`aws:RequestTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
          },
          Null: { [`aws:RequestTag/${TAG_WORKER_ID}`]: 'false' },
        },
      }),
    );
    // What RunInstances uses: any AMI (templates name them by id or pattern), the configured
    // subnets, security groups and key pair (any, in the default VPC, when none is configured).
    const used = [
      ec2Arn('image', '*', ''),
      ec2Arn('network-interface', '*'),
      ...(fleet.subnetIds.length > 0
        ? fleet.subnetIds.map((id) => ec2Arn('subnet', id))
        : [ec2Arn('subnet', '*')]),
      ...(fleet.securityGroupIds.length > 0
        ? fleet.securityGroupIds.map((id) => ec2Arn('security-group', id))
        : [ec2Arn('security-group', '*')]),
      ...(fleet.keyName ? [ec2Arn('key-pair', fleet.keyName)] : []),
    ];
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'LaunchWithResources', actions: ['ec2:RunInstances'], resources: used }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TagOnLaunchOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance', '*'), ec2Arn('volume', '*')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassWorkerRole',
        actions: ['iam:PassRole'],
        resources: [this.workerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    acknowledgeIamResources(
      fn.role,
      (resource) =>
        /:ec2:.*:(instance|volume|network-interface|subnet|security-group|image)\/\*$/.test(resource),
      'EC2 assigns instance, volume and network-interface ids at launch, and AMIs are chosen per template at run time, so RunInstances needs these patterns; what it creates must carry the stage, manager and worker-id tags (aws:RequestTag conditions), CreateTags is allowed only within RunInstances (ec2:CreateAction), and subnets and security groups are pinned when given in context.',
    );
  }
}

/** DescribeInstances and DescribeImages (no resource-level permissions: Resource "*"). */
const grantEc2Read = (fn: LcmFunction): void => {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['ec2:DescribeInstances', 'ec2:DescribeImages'], resources: ['*'] }),
  );
  fn.acknowledgeWildcardResource(
    'ec2:DescribeInstances and ec2:DescribeImages do not support resource-level permissions; they only read.',
  );
};

/** Start, stop and terminate only instances tagged as workers of this stage managed by LCM. */
const grantEc2Lifecycle = (fn: LcmFunction, config: LcmConfig): void => {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ManageTaggedWorkers',
      actions: ['ec2:StartInstances', 'ec2:StopInstances', 'ec2:TerminateInstances'],
      resources: [
        stack.formatArn({
          service: 'ec2',
          resource: 'instance',
          resourceName: '*',
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
      conditions: {
        StringEquals: {
          [`aws:ResourceTag/${TAG_STAGE}`]: config.stage,
          [`aws:ResourceTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
        },
      },
    }),
  );
  acknowledgeIamResources(
    fn.role,
    (resource) => /:ec2:.*:instance\/\*$/.test(resource),
    'Worker instance ids are known only at run time; the statement is limited to instances tagged with this stage and LCM as manager (aws:ResourceTag conditions).',
  );
};

/** cloudwatch:GetMetricData (no resource-level permissions: Resource "*"). */
const grantCloudWatchRead = (fn: LcmFunction): void => {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
  fn.acknowledgeWildcardResource(
    'cloudwatch:GetMetricData does not support resource-level permissions; it only reads the workers’ CPU metrics.',
  );
};
