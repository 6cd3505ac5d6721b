import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANAGED_BY, TAG_MANAGED_BY, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FLEET_SCHEDULES, FLEET_STATE_MACHINES } from '../../functions/catalogue.ts';
import { REPO_ROOT } from '../../infra/lib/bundling.ts';
import { SCHEDULE_TARGET_RETRY_ATTEMPTS, scheduleEventAge } from '../../infra/lib/fleet-stack.ts';
import type { LcmFunction } from '../../infra/lib/lambda.ts';
import { substitutionKeysOf } from '../../infra/lib/state-machines.ts';
import { buildTestApp } from './app.ts';
import { expectNagClean } from './nag.ts';
import {
  actionsOf,
  allowing,
  envOf,
  functionOf,
  getAttId,
  logicalIdOf,
  type Resource,
  resourcesIn,
  resourcesOf,
  type Statement,
  servicesOf,
  statementsOf,
  TEST_ENV,
} from './template.ts';

const synth = (context: Record<string, unknown> = {}, env = {}) => {
  const { app, stacks } = buildTestApp(context, { env });
  return { app, stacks, fleet: stacks.fleet, template: Template.fromStack(stacks.fleet) };
};

const WORKER_NETWORK = {
  workerSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
  workerSecurityGroupIds: 'sg-0cccccccccccccccc',
  workerKeyName: 'lcm-workers',
  workerAmiOwners: '123456789012,self',
  workerInstanceTypes: 'm5zn.metal,c5.metal,m7i.metal-*',
};
const EXISTING_ROLE = 'arn:aws:iam::123456789012:role/cml-worker';

const dev = synth({ stage: 'dev' });
/** Located (literal ARNs), with the worker network, key pair and LDS configured. */
const located = synth({ stage: 'prod', ...WORKER_NETWORK, ldsBaseUrl: 'https://lds.example.com' }, TEST_ENV);
const existingRole = synth({ stage: 'test', workerRoleArn: EXISTING_ROLE, fleetSchedulesEnabled: 'false' });

const ALL_TASKS = FLEET_STATE_MACHINES.flatMap((m) => m.tasks);
const arnOf = (kind: 'stateMachine', name: string) =>
  `arn:aws:states:${TEST_ENV.region}:${TEST_ENV.account}:${kind}:${name}`;
const ec2Arn = (resource: string, account: string = TEST_ENV.account) =>
  `arn:aws:ec2:${TEST_ENV.region}:${account}:${resource}`;

/** The task or schedule function of a fleet stack by name. */
const fleetFunction = (s: ReturnType<typeof synth>, name: string): LcmFunction =>
  s.fleet.taskFunctions.get(name) ?? s.fleet.schedules.get(name)!.fn;

const needsOf = (name: string) =>
  new Set<string>(
    ALL_TASKS.find((t) => t.name === name)?.needs ?? FLEET_SCHEDULES.find((x) => x.name === name)!.needs,
  );

const ALL_FUNCTIONS = [...ALL_TASKS.map((t) => t.name), ...FLEET_SCHEDULES.map((s) => s.name)];

describe('FleetStack: the worker state machines', () => {
  const machines = resourcesOf(dev.template, 'AWS::StepFunctions::StateMachine');

  it('has the worker-provisioning and worker-drain machines, STANDARD, logging ALL, traced', () => {
    expect(machines.map(([, m]) => m.Properties.StateMachineName).sort()).toEqual(
      ['lcm-dev-worker-drain', 'lcm-dev-worker-provisioning'].sort(),
    );
    for (const [, m] of machines) {
      expect(m.Properties.StateMachineType).toBe('STANDARD');
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(m.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    }
  });

  it.each(FLEET_STATE_MACHINES.map((m) => [m.key, m] as const))(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the test name quotes the ASL placeholder syntax.
    '%s: its ASL file, every ${…} substituted with the ARN of its task function',
    (key, spec) => {
      const [, machine] = machines.find(([, m]) => m.Properties.StateMachineName === `lcm-dev-${key}`)!;
      const { Key } = machine.Properties.DefinitionS3Location as { Key: string };
      const deployed = readFileSync(join(dev.app.synth().directory, `asset.${Key}`), 'utf8');
      expect(deployed).toBe(readFileSync(join(REPO_ROOT, spec.asl), 'utf8'));
      const used = substitutionKeysOf(deployed);
      const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
      expect(used.length).toBeGreaterThan(0);
      expect(Object.keys(substitutions).sort()).toEqual(used);
      for (const task of spec.tasks) {
        const fnId = logicalIdOf(dev.fleet, dev.fleet.taskFunctions.get(task.name)!.fn);
        expect(substitutions[task.substitution]).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
      }
    },
  );
});

describe('FleetStack: functions', () => {
  it('has one function per fleet task and per schedule, named lcm-<stage>-task-… / -schedule-…', () => {
    expect(resourcesOf(dev.template, 'AWS::Lambda::Function')).toHaveLength(
      ALL_TASKS.length + FLEET_SCHEDULES.length,
    );
    for (const task of ALL_TASKS) {
      const fn = functionOf(dev.template, dev.fleet, dev.fleet.taskFunctions.get(task.name)!);
      expect(fn.Properties).toMatchObject({
        FunctionName: `lcm-dev-task-${task.name}`,
        Timeout: task.timeoutSeconds,
      });
    }
    for (const schedule of FLEET_SCHEDULES) {
      const fn = functionOf(dev.template, dev.fleet, dev.fleet.schedules.get(schedule.name)!.fn);
      expect(fn.Properties).toMatchObject({
        FunctionName: `lcm-dev-schedule-${schedule.name}`,
        Timeout: schedule.timeoutSeconds,
      });
    }
  });

  it.each(ALL_FUNCTIONS.map((n) => [n]))('%s: both engines on the three state machines, by name', (name) => {
    const env = envOf(functionOf(located.template, located.fleet, fleetFunction(located, name)));
    const machineNames = resourcesOf(located.template, 'AWS::StepFunctions::StateMachine').map(
      ([, m]) => m.Properties.StateMachineName as string,
    );
    expect(env).toMatchObject({
      WORKFLOW_ENGINE: 'stepfunctions',
      LCM_STAGE: 'prod',
      SESSION_STATE_MACHINE_ARN: arnOf('stateMachine', 'lcm-prod-session-lifecycle'),
      WORKER_PROVISIONING_STATE_MACHINE_ARN: arnOf('stateMachine', 'lcm-prod-worker-provisioning'),
      WORKER_DRAIN_STATE_MACHINE_ARN: arnOf('stateMachine', 'lcm-prod-worker-drain'),
    });
    // The names are those of the machines this stack (and the workflows stack) create.
    expect(machineNames.sort()).toEqual(['lcm-prod-worker-drain', 'lcm-prod-worker-provisioning']);
    const session = resourcesOf(
      Template.fromStack(located.stacks.workflows),
      'AWS::StepFunctions::StateMachine',
    );
    expect(session[0]![1].Properties.StateMachineName).toBe('lcm-prod-session-lifecycle');
  });

  it.each(ALL_FUNCTIONS.map((n) => [n]))('%s: the services its needs name, nothing else', (name) => {
    const needs = needsOf(name);
    const f = fleetFunction(located, name);
    const statements = statementsOf(located.template, located.fleet, f);
    const env = envOf(functionOf(located.template, located.fleet, f));
    const expected = new Set(['logs', 'xray']);
    if (needs.has('table-write')) expected.add('dynamodb');
    if ([...needs].some((n) => n.startsWith('ec2-'))) expected.add('ec2');
    if (needs.has('ec2-launch')) expected.add('iam');
    if (needs.has('cloudwatch')) expected.add('cloudwatch');
    if (needs.has('cml') || needs.has('cml-license') || needs.has('lds')) expected.add('secretsmanager');
    if (needs.has('task-tokens') || needs.has('fleet-workflows') || needs.has('workflow-status'))
      expected.add('states');
    if (FLEET_SCHEDULES.some((s) => s.name === name)) expected.add('sqs'); // on-failure destination
    expect(servicesOf(statements)).toEqual([...expected].sort());
    expect(actionsOf(statements).filter((a) => a.includes('*'))).toEqual([]);

    expect(Boolean(env.LCM_CML_SECRET_ID)).toBe(needs.has('cml'));
    expect(Boolean(env.LCM_CML_LICENSE_SECRET_ID)).toBe(needs.has('cml-license'));
    expect(Boolean(env.LCM_LDS_API_KEY_SECRET_ID)).toBe(needs.has('lds'));
    expect(allowing(statements, 'ec2:RunInstances').length > 0).toBe(needs.has('ec2-launch'));
    expect(allowing(statements, 'iam:PassRole').length > 0).toBe(needs.has('ec2-launch'));
    expect(allowing(statements, 'ec2:StartInstances').length > 0).toBe(needs.has('ec2-start'));
    expect(allowing(statements, 'ec2:StopInstances').length > 0).toBe(needs.has('ec2-stop'));
    expect(allowing(statements, 'ec2:TerminateInstances').length > 0).toBe(needs.has('ec2-terminate'));
    expect(allowing(statements, 'states:StartExecution').length > 0).toBe(needs.has('fleet-workflows'));
    expect(allowing(statements, 'states:DescribeExecution').length > 0).toBe(needs.has('workflow-status'));
    expect(allowing(statements, 'states:SendTaskFailure').length > 0).toBe(needs.has('task-tokens'));
    expect(Boolean(env.LCM_WORKER_INSTANCE_PROFILE)).toBe(needs.has('ec2-launch'));
  });
});

describe('FleetStack: EC2 permissions scoped by tags', () => {
  const launchers = ALL_FUNCTIONS.filter((n) => needsOf(n).has('ec2-launch'));
  const LIFECYCLE = { 'ec2-start': 'Start', 'ec2-stop': 'Stop', 'ec2-terminate': 'Terminate' } as const;
  const lifecycles = ALL_FUNCTIONS.flatMap((n) =>
    Object.entries(LIFECYCLE)
      .filter(([need]) => needsOf(n).has(need))
      .map(([, action]) => [n, action] as const),
  );
  const statementsFor = (s: ReturnType<typeof synth>, name: string): Statement[] =>
    statementsOf(s.template, s.fleet, fleetFunction(s, name));
  const bySid = (statements: Statement[], sid: string) => {
    const found = statements.filter((st) => st.Sid === sid);
    expect(found, sid).toHaveLength(1);
    return found[0]!;
  };

  it('only fleet-launch-instance launches', () => {
    expect(launchers).toEqual(['fleet-launch-instance']);
  });

  it('RunInstances creates only instances of the allowed types and volumes, tagged on create as workers of the stage', () => {
    const statements = statementsFor(located, 'fleet-launch-instance');
    const tagged = {
      StringEquals: {
        [`aws:RequestTag/${TAG_STAGE}`]: 'prod',
        [`aws:RequestTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
      },
      Null: { [`aws:RequestTag/${TAG_WORKER_ID}`]: 'false' },
    };
    const instances = bySid(statements, 'LaunchTaggedWorkerInstances');
    expect(instances.Action).toBe('ec2:RunInstances');
    expect(instances.Resource).toBe(ec2Arn('instance/*'));
    expect(instances.Condition).toEqual({
      ...tagged,
      StringLike: { 'ec2:InstanceType': WORKER_NETWORK.workerInstanceTypes.split(',') },
    });
    const volumes = bySid(statements, 'LaunchTaggedWorkerVolumes');
    expect(volumes.Resource).toBe(ec2Arn('volume/*'));
    expect(volumes.Condition).toEqual(tagged);
    // No other RunInstances statement names instances or volumes (an Allow without the conditions).
    const others = allowing(statements, 'ec2:RunInstances').filter(
      (st) => st !== instances && st !== volumes,
    );
    for (const st of others) {
      expect(JSON.stringify(st.Resource)).not.toMatch(/:(instance|volume)\//);
      expect(JSON.stringify(st.Resource)).not.toBe('"*"');
    }
  });

  it('the instance types default to what can run CML (bare metal, the nested-virtualisation families); workerInstanceTypes must name types or patterns', () => {
    const st = bySid(statementsFor(dev, 'fleet-launch-instance'), 'LaunchTaggedWorkerInstances');
    expect(st.Condition?.StringLike).toEqual({
      'ec2:InstanceType': [
        '*.metal',
        '*.metal-*',
        'c8i.*',
        'c8i-flex.*',
        'm8i.*',
        'm8i-flex.*',
        'r8i.*',
        'r8i-flex.*',
      ],
    });
    for (const bad of ['m5zn', 'M5.metal', 'm5.metal;x', '', ' , ']) {
      expect(() => buildTestApp({ workerInstanceTypes: bad }), JSON.stringify(bad)).toThrow(
        /workerInstanceTypes/,
      );
    }
  });

  it('RunInstances uses only the configured subnets, security groups, key pair and AMI owners', () => {
    const statements = statementsFor(located, 'fleet-launch-instance');
    const subnets = [ec2Arn('subnet/subnet-0aaaaaaaaaaaaaaaa'), ec2Arn('subnet/subnet-0bbbbbbbbbbbbbbbb')];
    const st = bySid(statements, 'LaunchWithResources');
    expect(st.Action).toBe('ec2:RunInstances');
    expect(st.Condition).toBeUndefined();
    expect(resourcesIn(st).sort()).toEqual(
      [...subnets, ec2Arn('security-group/sg-0cccccccccccccccc'), ec2Arn('key-pair/lcm-workers')].sort(),
    );
    // The instance's network interface only in those subnets.
    const eni = bySid(statements, 'LaunchInConfiguredSubnets');
    expect(eni.Resource).toBe(ec2Arn('network-interface/*'));
    expect(eni.Condition).toEqual({ ArnEquals: { 'ec2:Subnet': subnets } });
    // Images of the configured owners (`self` is this account).
    const images = bySid(statements, 'LaunchFromImages');
    expect(images.Resource).toBe(ec2Arn('image/*', ''));
    expect(images.Condition).toEqual({ StringEquals: { 'ec2:Owner': ['123456789012', TEST_ENV.account] } });
    const env = envOf(
      functionOf(located.template, located.fleet, fleetFunction(located, 'fleet-launch-instance')),
    );
    expect(env).toMatchObject({
      LCM_WORKER_SUBNET_IDS: WORKER_NETWORK.workerSubnetIds,
      LCM_WORKER_SECURITY_GROUP_IDS: WORKER_NETWORK.workerSecurityGroupIds,
      LCM_WORKER_KEY_NAME: WORKER_NETWORK.workerKeyName,
      LCM_WORKER_AMI_OWNERS: WORKER_NETWORK.workerAmiOwners,
    });
  });

  it('without a configured network: any subnet and security group, no key pair', () => {
    const statements = statementsFor(dev, 'fleet-launch-instance');
    const st = bySid(statements, 'LaunchWithResources');
    const resources = resourcesIn(st).map((r) => JSON.stringify(r));
    expect(bySid(statements, 'LaunchInConfiguredSubnets').Condition).toBeUndefined();
    expect(bySid(statements, 'LaunchFromImages').Condition).toBeUndefined();
    expect(resources.some((r) => r.includes(':subnet/*'))).toBe(true);
    expect(resources.some((r) => r.includes(':security-group/*'))).toBe(true);
    expect(resources.some((r) => r.includes('key-pair'))).toBe(false);
    const env = envOf(functionOf(dev.template, dev.fleet, fleetFunction(dev, 'fleet-launch-instance')));
    for (const key of ['LCM_WORKER_SUBNET_IDS', 'LCM_WORKER_SECURITY_GROUP_IDS', 'LCM_WORKER_KEY_NAME']) {
      expect(env[key]).toBeUndefined();
    }
  });

  it('CreateTags only as part of RunInstances', () => {
    const st = bySid(statementsFor(located, 'fleet-launch-instance'), 'TagOnLaunchOnly');
    expect(st.Action).toBe('ec2:CreateTags');
    expect(st.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
    const all = ALL_FUNCTIONS.flatMap((n) => allowing(statementsFor(located, n), 'ec2:CreateTags'));
    expect(all).toHaveLength(1);
  });

  it('PassRole only for the worker role, only to EC2; the instance profile carries that role', () => {
    const st = bySid(statementsFor(dev, 'fleet-launch-instance'), 'PassWorkerRole');
    const roleId = logicalIdOf(dev.fleet, dev.fleet.workerRole as never);
    expect(st).toMatchObject({
      Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
    const [, profile] = resourcesOf(dev.template, 'AWS::IAM::InstanceProfile')[0]!;
    expect(profile.Properties).toMatchObject({
      InstanceProfileName: 'lcm-dev-worker',
      Roles: [{ Ref: roleId }],
    });
    const env = envOf(functionOf(dev.template, dev.fleet, fleetFunction(dev, 'fleet-launch-instance')));
    expect(getAttId(env.LCM_WORKER_INSTANCE_PROFILE)).toBe(
      resourcesOf(dev.template, 'AWS::IAM::InstanceProfile')[0]![0],
    );
  });

  it('the worker role the stack creates is for EC2 and has no permissions', () => {
    const roleId = logicalIdOf(dev.fleet, dev.fleet.workerRole as never);
    const role = dev.template.toJSON().Resources[roleId] as Resource;
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }],
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const attached = resourcesOf(dev.template, 'AWS::IAM::Policy').filter(([, p]) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    expect(attached).toEqual([]);
  });

  it('with workerRoleArn: no role is created; the profile and PassRole use that role', () => {
    const [, profile] = resourcesOf(existingRole.template, 'AWS::IAM::InstanceProfile')[0]!;
    expect(profile.Properties.Roles).toEqual(['cml-worker']);
    const st = bySid(statementsFor(existingRole, 'fleet-launch-instance'), 'PassWorkerRole');
    expect(st.Resource).toBe(EXISTING_ROLE);
    const ec2Roles = resourcesOf(existingRole.template, 'AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'),
    );
    expect(ec2Roles).toEqual([]);
  });

  it.each(lifecycles.map(([n, action]) => [n, action]))(
    '%s: %s only instances tagged with the stage and LCM',
    (name, action) => {
      const st = bySid(statementsFor(located, name), `${action}TaggedWorkers`);
      expect(st.Action).toBe(`ec2:${action}Instances`);
      expect(st.Resource).toBe(ec2Arn('instance/*'));
      expect(st.Condition).toEqual({
        StringEquals: {
          [`aws:ResourceTag/${TAG_STAGE}`]: 'prod',
          [`aws:ResourceTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
        },
      });
    },
  );

  it('separate grants per fleet task: the start task starts and cannot stop or terminate', () => {
    const start = statementsFor(located, 'fleet-start-instance');
    expect(allowing(start, 'ec2:StartInstances')).toHaveLength(1);
    expect(allowing(start, 'ec2:TerminateInstances')).toEqual([]);
    expect(allowing(start, 'ec2:StopInstances')).toEqual([]);
    expect(allowing(start, 'ec2:RunInstances')).toEqual([]);
    expect(
      actionsOf(start)
        .filter((a) => a.startsWith('ec2:'))
        .sort(),
    ).toEqual(['ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:StartInstances']);
    // Who may do what, by task.
    const whoMay = (action: string) =>
      ALL_FUNCTIONS.filter((n) => allowing(statementsFor(located, n), action).length > 0).sort();
    expect(whoMay('ec2:StartInstances')).toEqual(['fleet-start-instance']);
    expect(whoMay('ec2:StopInstances')).toEqual(['fleet-drain-step']);
    expect(whoMay('ec2:TerminateInstances')).toEqual(
      [
        'fleet-drain-step',
        'fleet-fail-drain',
        'fleet-fail-provisioning',
        'fleet-launch-instance',
        'health-sweep',
      ].sort(),
    );
  });

  it('the unscoped reads are exactly the ones EC2 and CloudWatch cannot scope', () => {
    for (const name of ALL_FUNCTIONS) {
      const wildcard = statementsFor(located, name).filter((st) => resourcesIn(st).includes('*'));
      const actions = actionsOf(wildcard).sort();
      const allowed = [
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
        'ec2:DescribeImages',
        'ec2:DescribeInstances',
        'cloudwatch:GetMetricData',
      ];
      expect(
        actions.filter((a) => !allowed.includes(a)),
        name,
      ).toEqual([]);
    }
  });
});

describe('FleetStack: workflows and task tokens', () => {
  it.each(ALL_FUNCTIONS.filter((n) => needsOf(n).has('fleet-workflows')).map((n) => [n]))(
    '%s: starts the fleet machines (fleet-workflows)',
    (name) => {
      const statements = statementsOf(located.template, located.fleet, fleetFunction(located, name));
      // (With session-workflow too, the session machine's StartExecution is a statement of its own.)
      const start = allowing(statements, 'states:StartExecution').find((s) =>
        resourcesIn(s).includes(arnOf('stateMachine', 'lcm-prod-worker-provisioning')),
      );
      expect(start!.Action).toBe('states:StartExecution');
      expect(resourcesIn(start!).sort()).toEqual(
        [
          arnOf('stateMachine', 'lcm-prod-worker-provisioning'),
          arnOf('stateMachine', 'lcm-prod-worker-drain'),
        ].sort(),
      );
    },
  );

  it.each(ALL_FUNCTIONS.filter((n) => needsOf(n).has('workflow-status')).map((n) => [n]))(
    '%s: describes executions of all three machines (workflow-status)',
    (name) => {
      const statements = statementsOf(located.template, located.fleet, fleetFunction(located, name));
      // (With session-workflow too, DescribeExecution+StopExecution on the session's executions is another.)
      const describe = allowing(statements, 'states:DescribeExecution').find(
        (s) => s.Action === 'states:DescribeExecution',
      );
      expect(describe!.Action).toBe('states:DescribeExecution');
      expect(resourcesIn(describe!).sort()).toEqual(
        ['session-lifecycle', 'worker-provisioning', 'worker-drain']
          .map((k) => `arn:aws:states:${TEST_ENV.region}:${TEST_ENV.account}:execution:lcm-prod-${k}:*`)
          .sort(),
      );
    },
  );

  it.each(ALL_FUNCTIONS.filter((n) => needsOf(n).has('task-tokens')).map((n) => [n]))(
    '%s: fails session task tokens, on the session machine only',
    (name) => {
      const statements = statementsOf(located.template, located.fleet, fleetFunction(located, name));
      const [tokens] = allowing(statements, 'states:SendTaskFailure');
      expect(tokens!.Resource).toBe(arnOf('stateMachine', 'lcm-prod-session-lifecycle'));
    },
  );
});

describe('FleetStack: schedules', () => {
  const rules = resourcesOf(dev.template, 'AWS::Events::Rule');

  it('has one schedule rule per FLEET_SCHEDULES entry (scale-up every minute, the others every 5)', () => {
    expect(rules).toHaveLength(FLEET_SCHEDULES.length);
    const expressions = Object.fromEntries(FLEET_SCHEDULES.map((s) => [s.name, s.schedule]));
    expect(expressions).toMatchObject({
      'scale-up': 'rate(1 minute)',
      'scale-down': 'rate(5 minutes)',
      'health-sweep': 'rate(5 minutes)',
    });
    expect(expressions['stuck-sessions']).toBeDefined();
  });

  it.each(FLEET_SCHEDULES.map((s) => [s.name, s] as const))(
    '%s: its expression, its function with retries bounded by one period and the DLQ',
    (name, schedule) => {
      const { fn, rule } = dev.fleet.schedules.get(name)!;
      const r = dev.template.toJSON().Resources[logicalIdOf(dev.fleet, rule)] as Resource;
      const dlqArn = { 'Fn::GetAtt': [logicalIdOf(dev.fleet, dev.fleet.scheduleDlq), 'Arn'] };
      expect(r.Properties).toMatchObject({
        Name: `lcm-dev-${name}`,
        ScheduleExpression: schedule.schedule,
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [logicalIdOf(dev.fleet, fn.fn), 'Arn'] },
            DeadLetterConfig: { Arn: dlqArn },
            RetryPolicy: {
              MaximumRetryAttempts: SCHEDULE_TARGET_RETRY_ATTEMPTS,
              MaximumEventAgeInSeconds: scheduleEventAge(schedule).toSeconds(),
            },
          },
        ],
      });
      const fnResource = functionOf(dev.template, dev.fleet, fn);
      expect(fnResource.Properties.ReservedConcurrentExecutions).toBe(schedule.singleton ? 1 : undefined);
      const [, invokeConfig] = resourcesOf(dev.template, 'AWS::Lambda::EventInvokeConfig').find(
        ([, c]) => (c.Properties.FunctionName as { Ref: string }).Ref === logicalIdOf(dev.fleet, fn.fn),
      )!;
      expect(invokeConfig.Properties).toMatchObject({
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: scheduleEventAge(schedule).toSeconds(),
        DestinationConfig: { OnFailure: { Destination: dlqArn } },
      });
    },
  );

  it('are created disabled with fleetSchedulesEnabled=false', () => {
    for (const [, r] of resourcesOf(existingRole.template, 'AWS::Events::Rule')) {
      expect(r.Properties.State).toBe('DISABLED');
    }
  });

  it('the schedule DLQ is encrypted and kept 14 days', () => {
    const queue = dev.template.toJSON().Resources[logicalIdOf(dev.fleet, dev.fleet.scheduleDlq)] as Resource;
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });
});

describe('FleetStack: order and cdk-nag', () => {
  it('is deployed after the data, events and workflows stacks', () => {
    expect(dev.fleet.dependencies.map((d) => d.stackName).sort()).toEqual(
      ['Lcm-dev-Data', 'Lcm-dev-Events', 'Lcm-dev-Workflows'].sort(),
    );
  });

  it.each([
    ['dev', dev],
    ['prod, located, network and LDS', located],
    ['test, existing worker role, schedules disabled', existingRole],
  ])('%s: clean, with justified acknowledgements only', (_n, s) => {
    const report = expectNagClean(s.fleet);
    const rules = [...new Set(report.acknowledgements.map((a) => a.ruleId.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SQS3']);
  });
});
