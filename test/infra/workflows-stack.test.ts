import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SESSION_LIFECYCLE_ASL, SESSION_TASKS } from '../../functions/catalogue.ts';
import { REPO_ROOT } from '../../infra/lib/bundling.ts';
import { configFor } from '../../infra/lib/config.ts';
import { LcmFunction } from '../../infra/lib/lambda.ts';
import {
  AslStateMachine,
  substitutionKeysOf,
  substitutionKeysOfFile,
} from '../../infra/lib/state-machines.ts';
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
  resourceOf,
  resourcesIn,
  resourcesOf,
  servicesOf,
  statementsOf,
  TEST_ENV,
} from './template.ts';

const synth = (context: Record<string, unknown> = {}, env = {}) => {
  const { app, stacks } = buildTestApp(context, { env });
  return { app, stacks, workflows: stacks.workflows, template: Template.fromStack(stacks.workflows) };
};

/**
 * The definition as deployed: `DefinitionBody.fromFile` stages the ASL file as an asset
 * (DefinitionS3Location), which is in the cloud assembly as `asset.<key>`.
 */
const deployedDefinition = (s: ReturnType<typeof synth>, machine: Resource): string => {
  const { Key } = machine.Properties.DefinitionS3Location as { Key: string };
  return readFileSync(join(s.app.synth().directory, `asset.${Key}`), 'utf8');
};

const INTEGRATIONS = {
  ldsBaseUrl: 'https://lds.example.com/api',
  gradingBaseUrl: 'https://grading.example.com',
  lambdaSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  lambdaSecurityGroupIds: 'sg-0123456789abcdef0',
};

const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod' });
/** Integrations configured, in an account and region (literal ARNs). */
const full = synth({ stage: 'staging', ...INTEGRATIONS }, TEST_ENV);

const machineOf = (template: Template): Resource => {
  const machines = resourcesOf(template, 'AWS::StepFunctions::StateMachine');
  expect(machines).toHaveLength(1);
  return machines[0]![1];
};

const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

describe('WorkflowsStack: the session-lifecycle state machine', () => {
  const machine = machineOf(dev.template);

  it('is STANDARD, named lcm-<stage>-session-lifecycle, defined by the ASL file itself', () => {
    expect(machine.Properties.StateMachineName).toBe('lcm-dev-session-lifecycle');
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(machine.Properties.DefinitionString).toBeUndefined();
    expect(deployedDefinition(dev, machine)).toBe(
      readFileSync(join(REPO_ROOT, SESSION_LIFECYCLE_ASL), 'utf8'),
    );
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the test name quotes the ASL placeholder syntax.
  it('substitutes every ${…} of the ASL, each with the ARN of its task function, and nothing more', () => {
    const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const used = substitutionKeysOf(deployedDefinition(dev, machine));
    expect(used.length).toBeGreaterThan(0);
    expect(used).toEqual(substitutionKeysOfFile(SESSION_LIFECYCLE_ASL));
    expect(Object.keys(substitutions).sort()).toEqual(used);
    for (const task of SESSION_TASKS) {
      const fnId = logicalIdOf(dev.workflows, dev.workflows.taskFunctions.get(task.name)!.fn);
      expect(substitutions[task.substitution], task.substitution).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    }
  });

  it('logs ALL events to its own log group and traces with X-Ray', () => {
    const logging = machine.Properties.LoggingConfiguration as {
      Level: string;
      IncludeExecutionData: boolean;
      Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
    };
    expect(logging.Level).toBe('ALL');
    expect(logging.Destinations).toHaveLength(1);
    const logGroup = resourceOf(
      dev.template,
      getAttId(logging.Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn),
    );
    expect(logGroup.Properties.LogGroupName).toBe('/aws/vendedlogs/states/lcm-dev-session-lifecycle');
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('includes execution data in the logs in dev only, unless context says otherwise', () => {
    const data = (t: Template) =>
      (machineOf(t).Properties.LoggingConfiguration as { IncludeExecutionData: boolean })
        .IncludeExecutionData;
    expect(data(dev.template)).toBe(true);
    expect(data(prod.template)).toBe(false);
    expect(data(synth({ stage: 'prod', workflowLogExecutionData: 'true' }).template)).toBe(true);
  });

  it('its role may invoke exactly the task functions (unqualified ARNs), besides logs and X-Ray', () => {
    const roleId = getAttId(machine.Properties.RoleArn);
    const statements = resourcesOf(dev.template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(
        ([, p]) =>
          (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
            .Statement,
      );
    const invoke = statements.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Action).toBe('lambda:InvokeFunction');
    const arns = (values: unknown[]) => values.map((v) => JSON.stringify(v)).sort();
    expect(arns([invoke[0]!.Resource].flat())).toEqual(
      arns(
        SESSION_TASKS.map((t) => ({
          'Fn::GetAtt': [logicalIdOf(dev.workflows, dev.workflows.taskFunctions.get(t.name)!.fn), 'Arn'],
        })),
      ),
    );
    const services = [
      ...new Set(statements.flatMap((s) => [s.Action].flat()).map((a) => a.split(':')[0])),
    ].sort();
    expect(services).toEqual(['lambda', 'logs', 'xray']);
  });
});

describe('WorkflowsStack: task functions', () => {
  it('has one function per task of SESSION_TASKS, named lcm-<stage>-task-<name>, with its timeout', () => {
    expect([...dev.workflows.taskFunctions.keys()]).toEqual(SESSION_TASKS.map((t) => t.name));
    expect(resourcesOf(dev.template, 'AWS::Lambda::Function')).toHaveLength(SESSION_TASKS.length);
    for (const task of SESSION_TASKS) {
      const fn = functionOf(dev.template, dev.workflows, dev.workflows.taskFunctions.get(task.name)!);
      expect(fn.Properties).toMatchObject({
        FunctionName: `lcm-dev-task-${task.name}`,
        Timeout: task.timeoutSeconds,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
    }
  });

  it.each(SESSION_TASKS.map((t) => [t.name, t] as const))(
    '%s: exactly the permissions and environment its needs name',
    (name, task) => {
      const f = full.workflows.taskFunctions.get(name)!;
      const fn = functionOf(full.template, full.workflows, f);
      const env = envOf(fn);
      const statements = statementsOf(full.template, full.workflows, f);
      const needs = new Set(task.needs);

      // Every task builds the Step Functions engine on the session machine (by name).
      expect(env.WORKFLOW_ENGINE).toBe('stepfunctions');
      expect(env.SESSION_STATE_MACHINE_ARN).toBe(
        `arn:aws:states:${TEST_ENV.region}:${TEST_ENV.account}:stateMachine:${machineOf(full.template).Properties.StateMachineName}`,
      );
      expect(JSON.stringify(env.TABLE_NAME)).toContain('Lcm-staging-Data');

      const expectedServices = new Set(['logs', 'xray']);
      if (needs.has('table-write')) {
        expectedServices.add('dynamodb');
        expect(actionsOf(statements)).toEqual(expect.arrayContaining(WRITE_ACTIONS));
      }
      if (needs.has('table-read')) {
        // A task that only reads the table (check-timeslot-end) gets no write action.
        expectedServices.add('dynamodb');
        expect(actionsOf(statements)).toContain('dynamodb:GetItem');
        for (const write of WRITE_ACTIONS) expect(actionsOf(statements)).not.toContain(write);
      }
      const secretReads = allowing(statements, 'secretsmanager:GetSecretValue').flatMap(resourcesIn);
      const expectedSecrets = ['cml', 'lds', 'grading'].filter((n) => needs.has(n as never)).length;
      if (expectedSecrets > 0) expectedServices.add('secretsmanager');
      expect(secretReads).toHaveLength(expectedSecrets);
      expect(Boolean(env.LCM_CML_SECRET_ID)).toBe(needs.has('cml'));
      expect(env.LCM_LDS_BASE_URL).toBe(needs.has('lds') ? INTEGRATIONS.ldsBaseUrl : undefined);
      expect(Boolean(env.LCM_LDS_API_KEY_SECRET_ID)).toBe(needs.has('lds'));
      expect(env.LCM_GRADING_BASE_URL).toBe(needs.has('grading') ? INTEGRATIONS.gradingBaseUrl : undefined);
      expect(Boolean(env.LCM_GRADING_API_KEY_SECRET_ID)).toBe(needs.has('grading'));
      // Each secret the function is told about is exactly one it may read.
      for (const key of ['LCM_CML_SECRET_ID', 'LCM_LDS_API_KEY_SECRET_ID', 'LCM_GRADING_API_KEY_SECRET_ID']) {
        if (env[key]) expect(secretReads).toContainEqual(env[key]);
      }

      // Only a task that calls CML runs in the CML subnets.
      expect(fn.Properties.VpcConfig).toEqual(
        needs.has('cml')
          ? {
              SubnetIds: INTEGRATIONS.lambdaSubnetIds.split(','),
              SecurityGroupIds: [INTEGRATIONS.lambdaSecurityGroupIds],
            }
          : undefined,
      );
      if (needs.has('cml')) expectedServices.add('ec2');

      const evidence = needs.has('evidence-read') || needs.has('evidence-write');
      expect(Boolean(env.EVIDENCE_BUCKET)).toBe(evidence);
      if (evidence) expectedServices.add('s3');
      expect(allowing(statements, 's3:PutObject').length > 0).toBe(needs.has('evidence-write'));
      expect(allowing(statements, 's3:GetObject').length > 0).toBe(needs.has('evidence-read'));

      const tokens = allowing(statements, 'states:SendTaskSuccess');
      if (needs.has('task-tokens')) {
        expectedServices.add('states');
        expect(tokens).toHaveLength(1);
        expect([tokens[0]!.Action].flat().sort()).toEqual([
          'states:SendTaskFailure',
          'states:SendTaskSuccess',
        ]);
        expect(tokens[0]!.Resource).toBe(env.SESSION_STATE_MACHINE_ARN);
      }
      expect(servicesOf(statements)).toEqual([...expectedServices].sort());
      expect(actionsOf(statements).filter((a) => a.includes('*'))).toEqual([]);
    },
  );

  it('without ldsBaseUrl / gradingBaseUrl: no LDS or grading environment and no access to their keys', () => {
    for (const [, fn] of resourcesOf(dev.template, 'AWS::Lambda::Function')) {
      const env = envOf(fn);
      for (const key of Object.keys(env)) expect(key).not.toMatch(/^LCM_(LDS|GRADING)_/);
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
  });

  it('is deployed after the data and events stacks it reads', () => {
    expect(dev.workflows.dependencies.map((d) => d.stackName).sort()).toEqual([
      'Lcm-dev-Data',
      'Lcm-dev-Events',
    ]);
  });
});

describe('AslStateMachine: the ASL and the task table must agree', () => {
  const probe = (substitutions: string[]) => {
    const stack = new Stack(new App(), 'Probe');
    const config = configFor('dev');
    // A task without needs: nothing to grant in a stack that has no table or secrets.
    const fn = new LcmFunction(stack, 'Fn', { config, spec: { ...SESSION_TASKS[0]!, needs: [] } });
    return () =>
      new AslStateMachine(stack, 'Machine', {
        config,
        stateMachineName: 'probe',
        aslPath: SESSION_LIFECYCLE_ASL,
        comment: 'probe',
        tasks: substitutions.map((substitution) => ({ substitution, fn })),
      });
  };
  const all = SESSION_TASKS.map((t) => t.substitution);

  it('fails on a placeholder without a task', () => {
    expect(probe(all.slice(1))).toThrow(new RegExp(`no task for \\$\\{${all[0]}\\}`));
  });

  it('fails on a task the ASL does not use', () => {
    expect(probe([...all, 'NotInTheAslFunctionArn'])).toThrow(
      /tasks not used by the ASL: NotInTheAslFunctionArn/,
    );
  });

  it('fails on a duplicated substitution', () => {
    expect(probe([...all, all[0]!])).toThrow(/duplicate substitutions/);
  });
});

describe('WorkflowsStack: cdk-nag', () => {
  it.each([
    ['dev', dev],
    ['prod', prod],
    ['staging with integrations and VPC', full],
  ])('%s: clean, with justified acknowledgements only', (_n, s) => {
    const report = expectNagClean(s.workflows);
    const rules = [...new Set(report.acknowledgements.map((a) => a.ruleId.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-L1']);
  });
});
