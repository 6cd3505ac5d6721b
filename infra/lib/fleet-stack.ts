import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  FLEET_SCHEDULES,
  FLEET_STATE_MACHINES,
  type ScheduleFunctionSpec,
} from '../../functions/catalogue.ts';
import type { LcmStackProps } from './config.ts';
import { createDeadLetterQueue } from './events-stack.ts';
import type { NeedResources } from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { pascal, STATE_MACHINE_KEYS, stateMachineNameFor } from './names.ts';
import type { IntegrationSecrets } from './secrets.ts';
import { AslStateMachine } from './state-machines.ts';

export interface FleetStackProps extends LcmStackProps {
  /** The single table (data stack). */
  readonly table: ITableV2;
  /** CML credentials and licence, LDS API key (events stack). */
  readonly secrets: IntegrationSecrets;
}

/** A schedule's target: EventBridge retries delivery this often, never past one period. */
export const SCHEDULE_TARGET_RETRY_ATTEMPTS = 2;

/** The period of a schedule, at least the 60 s EventBridge and Lambda accept as a maximum event age. */
export const scheduleEventAge = (s: ScheduleFunctionSpec): Duration =>
  Duration.seconds(Math.max(60, s.everySeconds));

/**
 * The fleet side of LCM (DESIGN §6, §7): the worker-provisioning and worker-drain state machines
 * from their ASL files with one function per fleet task of the function catalogue
 * (functions/catalogue.ts), the scheduled scaler and sweep functions of its schedules on
 * EventBridge schedule rules, and the workers' instance profile. Each function is granted exactly
 * its needs (grants.ts); EC2 permissions are scoped by tags where EC2 allows it:
 * - RunInstances creates only instances and volumes tagged (on create) with this stage, LCM as
 *   manager and a worker id; it may use only the configured subnets, security groups and key pair.
 * - CreateTags only as part of RunInstances (`ec2:CreateAction`).
 * - Start/Stop/TerminateInstances only on instances tagged with this stage and LCM as manager.
 * - iam:PassRole only for the worker role, only to EC2.
 * - DescribeInstances, DescribeImages and cloudwatch:GetMetricData have no resource-level
 *   permissions (Resource "*", acknowledged with that reason).
 *
 * Every function reads the state machine ARNs from the names (names.ts, the kind's `fleet-engine`
 * need): the fleet engine needs the ARNs of both machines, including the one that invokes the
 * function itself.
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
  private readonly resources: NeedResources;

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

    this.resources = {
      table: props.table,
      secrets: props.secrets,
      workerLaunch: {
        instanceProfileArn: this.workerInstanceProfile.instanceProfileArn,
        role: this.workerRole,
      },
    };

    const taskFunctions = new Map<string, LcmFunction>();
    const machines = new Map<string, AslStateMachine>();
    for (const machine of FLEET_STATE_MACHINES) {
      const tasks = machine.tasks.map((spec) => {
        const fn = new LcmFunction(this, `${pascal(spec.name)}Task`, {
          config,
          spec,
          resources: this.resources,
        });
        taskFunctions.set(spec.name, fn);
        return { substitution: spec.substitution, fn };
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
  private createSchedule(schedule: ScheduleFunctionSpec): { fn: LcmFunction; rule: events.Rule } {
    const { config } = this.props;
    const id = pascal(schedule.name);
    const fn = new LcmFunction(this, `${id}Schedule`, { config, spec: schedule, resources: this.resources });
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
}
