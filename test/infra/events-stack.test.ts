import {
  EVENT_RULE_TARGETS,
  EVENT_RULES,
  eventPatternJson,
  filterCriteriaOf,
  STREAM_CONSUMERS,
} from '@lcm/shared/events';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../infra/lib/config.ts';
import { DLQ_RETENTION, RULE_TARGET_RETRY, TARGET_ASYNC_RETRY } from '../../infra/lib/events-stack.ts';
import { SECRET_NAMES } from '../../infra/lib/secrets.ts';
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
  const { stacks } = buildTestApp(context, { env });
  return { stacks, events: stacks.events, template: Template.fromStack(stacks.events) };
};

const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod', eventArchiveRetentionDays: '7' });
/** In an account and region: ARNs built from names are literal strings. */
const located = synth({ stage: 'dev' }, TEST_ENV);

const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

describe('EventsStack: bus and archive', () => {
  it('creates the bus lcm-<stage>', () => {
    const buses = resourcesOf(dev.template, 'AWS::Events::EventBus');
    expect(buses).toHaveLength(1);
    expect(buses[0]![1].Properties.Name).toBe('lcm-dev');
    expect(resourcesOf(prod.template, 'AWS::Events::EventBus')[0]![1].Properties.Name).toBe('lcm-prod');
  });

  it('archives every event of the bus (no pattern) for the retention from context', () => {
    const busId = logicalIdOf(dev.events, dev.events.bus);
    const [[, archive]] = resourcesOf(dev.template, 'AWS::Events::Archive') as [[string, Resource]];
    expect(resourcesOf(dev.template, 'AWS::Events::Archive')).toHaveLength(1);
    expect(archive.Properties).toEqual({
      ArchiveName: 'lcm-dev-all',
      Description: expect.any(String),
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      RetentionDays: DEFAULTS.eventArchiveRetentionDays,
    });
    expect(resourcesOf(prod.template, 'AWS::Events::Archive')[0]![1].Properties.RetentionDays).toBe(7);
  });
});

describe('EventsStack: rules', () => {
  const rules = resourcesOf(dev.template, 'AWS::Events::Rule');
  const busId = logicalIdOf(dev.events, dev.events.bus);

  it('has exactly one rule per EVENT_RULES entry, on the LCM bus', () => {
    expect(rules.map(([, r]) => r.Properties.Name).sort()).toEqual(
      EVENT_RULES.map((r) => `lcm-dev-${r.name}`).sort(),
    );
    for (const [, r] of rules) expect(r.Properties.EventBusName).toEqual({ Ref: busId });
  });

  it.each(EVENT_RULES.map((r) => [r.name, r] as const))(
    '%s: the pattern is eventPatternJson(rule), its target the function of its module, with retries and a DLQ',
    (_name, rule) => {
      const [, r] = rules.find(([, x]) => x.Properties.Name === `lcm-dev-${rule.name}`)!;
      expect(r.Properties.State).toBe('ENABLED');
      expect(r.Properties.EventPattern).toEqual(JSON.parse(eventPatternJson(rule)));
      const fn = dev.events.targetFunctions.get(rule.target.module)!;
      const dlq = dev.events.targetDlqs.get(rule.target.module)!;
      expect(r.Properties.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: { 'Fn::GetAtt': [logicalIdOf(dev.events, fn.fn), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(dev.events, dlq), 'Arn'] } },
          RetryPolicy: {
            MaximumRetryAttempts: RULE_TARGET_RETRY.retryAttempts,
            MaximumEventAgeInSeconds: RULE_TARGET_RETRY.maxEventAge.toSeconds(),
          },
        },
      ]);
    },
  );

  it('lets each rule invoke its target, and nothing else', () => {
    const permissions = resourcesOf(dev.template, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(EVENT_RULES.length);
    for (const [, p] of permissions) {
      expect(p.Properties.Principal).toBe('events.amazonaws.com');
      expect(rules.map(([id]) => id)).toContain(getAttId(p.Properties.SourceArn));
    }
  });
});

describe('EventsStack: rule targets', () => {
  it('has one function per target module, named lcm-<stage>-<function>', () => {
    expect([...dev.events.targetFunctions.keys()]).toEqual(EVENT_RULE_TARGETS.map((t) => t.module));
    for (const target of EVENT_RULE_TARGETS) {
      const fn = functionOf(dev.template, dev.events, dev.events.targetFunctions.get(target.module)!);
      expect(fn.Properties).toMatchObject({
        FunctionName: `lcm-dev-${target.function}`,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it.each(EVENT_RULE_TARGETS.map((t) => [t.function, t.module] as const))(
    '%s: the table, task responses to the session workflow by its name, and its DLQ; nothing else',
    (_name, module) => {
      const f = located.events.targetFunctions.get(module)!;
      const env = envOf(functionOf(located.template, located.events, f));
      expect(env.WORKFLOW_ENGINE).toBe('stepfunctions');
      // Named, not referenced: the workflows stack is created after this one.
      const sessionMachine = resourcesOf(
        Template.fromStack(located.stacks.workflows),
        'AWS::StepFunctions::StateMachine',
      )
        .map(([, r]) => r.Properties.StateMachineName)
        .find((n) => n === 'lcm-dev-session-lifecycle');
      expect(sessionMachine).toBeDefined();
      expect(env.SESSION_STATE_MACHINE_ARN).toBe(
        `arn:aws:states:${TEST_ENV.region}:${TEST_ENV.account}:stateMachine:${sessionMachine}`,
      );
      expect(JSON.stringify(env.TABLE_NAME)).toContain('Lcm-dev-Data');

      const statements = statementsOf(located.template, located.events, f);
      expect(servicesOf(statements)).toEqual(['dynamodb', 'logs', 'sqs', 'states', 'xray']);
      expect(actionsOf(statements)).toEqual(expect.arrayContaining(WRITE_ACTIONS));
      const [tokens] = allowing(statements, 'states:SendTaskSuccess');
      expect([tokens!.Action].flat().sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
      expect(tokens!.Resource).toBe(env.SESSION_STATE_MACHINE_ARN);
      const [send] = allowing(statements, 'sqs:SendMessage');
      expect(resourcesIn(send!)).toEqual([
        { 'Fn::GetAtt': [logicalIdOf(located.events, located.events.targetDlqs.get(module)!), 'Arn'] },
      ]);
      expect(actionsOf(statements).filter((a) => a.includes('*'))).toEqual([]);
    },
  );

  it.each(EVENT_RULE_TARGETS.map((t) => [t.function, t.module] as const))(
    '%s: a failed invocation is retried by Lambda, then described in the same DLQ',
    (_name, module) => {
      const fnId = logicalIdOf(dev.events, dev.events.targetFunctions.get(module)!.fn);
      const dlqId = logicalIdOf(dev.events, dev.events.targetDlqs.get(module)!);
      const configs = resourcesOf(dev.template, 'AWS::Lambda::EventInvokeConfig').filter(
        ([, c]) => (c.Properties.FunctionName as { Ref: string }).Ref === fnId,
      );
      expect(configs).toHaveLength(1);
      expect(configs[0]![1].Properties).toEqual({
        FunctionName: { Ref: fnId },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: TARGET_ASYNC_RETRY.retryAttempts,
        MaximumEventAgeInSeconds: TARGET_ASYNC_RETRY.maxEventAge.toSeconds(),
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
      });
    },
  );
});

describe('EventsStack: dead-letter queues', () => {
  const queues = resourcesOf(dev.template, 'AWS::SQS::Queue');

  it('has one DLQ per target module and one per stream consumer', () => {
    expect(queues).toHaveLength(EVENT_RULE_TARGETS.length + STREAM_CONSUMERS.length);
  });

  it.each(queues.map(([id]) => [id]))('%s: encrypted, TLS only, kept 14 days', (id) => {
    const queue = resourceOf(dev.template, id);
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: DLQ_RETENTION.toSeconds(),
    });
    dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('are destroyed with the dev stack and retained elsewhere', () => {
    for (const [, q] of queues) expect(q.DeletionPolicy).toBe('Delete');
    for (const [, q] of resourcesOf(prod.template, 'AWS::SQS::Queue'))
      expect(q.DeletionPolicy).toBe('Retain');
  });
});

describe('EventsStack: table stream consumers', () => {
  const mappings = resourcesOf(dev.template, 'AWS::Lambda::EventSourceMapping');

  it('has one event source mapping per STREAM_CONSUMERS entry (outbox publisher, triggers)', () => {
    expect(STREAM_CONSUMERS.map((c) => c.name)).toEqual(expect.arrayContaining(['outbox', 'triggers']));
    expect(mappings).toHaveLength(STREAM_CONSUMERS.length);
  });

  it.each(STREAM_CONSUMERS.map((c) => [c.name, c] as const))(
    '%s: the table stream, filters from filterCriteriaOf, the consumer’s batch and retry settings, an on-failure queue',
    (name, consumer) => {
      const { fn, dlq } = dev.events.streamConsumers.get(name)!;
      const fnId = logicalIdOf(dev.events, fn.fn);
      const [, mapping] = mappings.find(
        ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === fnId,
      )!;
      expect(mapping.Properties).toEqual({
        FunctionName: { Ref: fnId },
        EventSourceArn: expect.objectContaining({
          'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Lcm-dev-Data' }),
        }),
        FilterCriteria: filterCriteriaOf(consumer),
        StartingPosition: consumer.startingPosition,
        BatchSize: consumer.batchSize,
        MaximumBatchingWindowInSeconds: consumer.maximumBatchingWindowSeconds,
        MaximumRetryAttempts: consumer.maximumRetryAttempts,
        BisectBatchOnFunctionError: consumer.bisectBatchOnError,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(dev.events, dlq), 'Arn'] } },
        },
      });
      expect(JSON.stringify(mapping.Properties.EventSourceArn)).toMatch(/StreamArn/);
      expect(functionOf(dev.template, dev.events, fn).Properties.FunctionName).toBe(`lcm-dev-stream-${name}`);
    },
  );

  it('outbox: publishes to the bus, reads (never writes) the table, reads its stream', () => {
    const { fn } = dev.events.streamConsumers.get('outbox')!;
    const env = envOf(functionOf(dev.template, dev.events, fn));
    expect(env.EVENT_BUS_NAME).toEqual({ Ref: logicalIdOf(dev.events, dev.events.bus) });
    const statements = statementsOf(dev.template, dev.events, fn);
    expect(servicesOf(statements)).toEqual(['dynamodb', 'events', 'logs', 'sqs', 'xray']);
    const [put] = allowing(statements, 'events:PutEvents');
    expect(put!.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(dev.events, dev.events.bus), 'Arn'] });
    expect(actionsOf(statements).filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
    expect(actionsOf(statements)).toEqual(expect.arrayContaining(['dynamodb:GetRecords', 'dynamodb:Query']));
  });
});

describe('EventsStack: the triggers consumer (content sync, manual observations)', () => {
  const configured = synth({
    stage: 'dev',
    contentBuckets: 'lcm-content-packages,partner-labs.example',
    lambdaSubnetIds: 'subnet-0123456789abcdef0',
    lambdaSecurityGroupIds: 'sg-0123456789abcdef0',
  });

  it('reads and writes the table and reads the CML credentials; no S3 but topologies/ without content buckets', () => {
    const { fn } = dev.events.streamConsumers.get('triggers')!;
    const statements = statementsOf(dev.template, dev.events, fn);
    expect(servicesOf(statements)).toEqual(['dynamodb', 'logs', 's3', 'secretsmanager', 'sqs', 'xray']);
    // Content sync and manual observations store topologies by hash (issue 11, item 1): only the
    // topologies/ objects of the data stack's evidence bucket, never uploads/ or sessions' evidence.
    const s3 = statements.filter((st) => actionsOf([st]).some((a) => a.startsWith('s3:')));
    const objects = s3.filter((st) => actionsOf([st]).some((a) => a !== 's3:ListBucket'));
    expect(objects).toHaveLength(1);
    expect(actionsOf(objects).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(resourcesIn(objects[0]!)).toHaveLength(1);
    expect(JSON.stringify(resourcesIn(objects[0]!)[0])).toMatch(
      /Lcm-dev-Data.*EvidenceBucket.*"\/topologies\/\*"/,
    );
    const [list] = allowing(statements, 's3:ListBucket');
    expect(list!.Action).toBe('s3:ListBucket');
    expect(JSON.stringify(list!.Resource)).toMatch(/Lcm-dev-Data.*EvidenceBucket[^/]*$/);
    expect(JSON.stringify(s3)).not.toMatch(/uploads\/|sessions\/|"\/\*"/);
    expect(JSON.stringify(envOf(functionOf(dev.template, dev.events, fn)).EVIDENCE_BUCKET)).toMatch(
      /Lcm-dev-Data.*EvidenceBucket/,
    );
    expect(actionsOf(statements)).toEqual(expect.arrayContaining(WRITE_ACTIONS));
    const env = envOf(functionOf(dev.template, dev.events, fn));
    const cmlSecretId = logicalIdOf(dev.events, dev.events.secrets.cmlCredentials);
    expect(env.LCM_CML_SECRET_ID).toEqual({ Ref: cmlSecretId });
    const [read] = allowing(statements, 'secretsmanager:GetSecretValue');
    expect(read!.Resource).toEqual({ Ref: cmlSecretId });
    expect(functionOf(dev.template, dev.events, fn).Properties.VpcConfig).toBeUndefined();
  });

  it('reads objects of exactly the content buckets from context, and runs in the CML subnets', () => {
    const { fn } = configured.events.streamConsumers.get('triggers')!;
    const statements = statementsOf(configured.template, configured.events, fn);
    // Beside the evidence bucket's topologies/ (the test above): the content buckets, read only.
    const [get] = allowing(statements, 's3:GetObject').filter(
      (st) => !JSON.stringify(st.Resource).includes('EvidenceBucket'),
    );
    expect(get!.Action).toBe('s3:GetObject');
    expect(JSON.stringify(resourcesIn(get!))).toMatch(
      /:s3:::lcm-content-packages\/\*".*:s3:::partner-labs\.example\/\*"/,
    );
    expect(functionOf(configured.template, configured.events, fn).Properties.VpcConfig).toEqual({
      SubnetIds: ['subnet-0123456789abcdef0'],
      SecurityGroupIds: ['sg-0123456789abcdef0'],
    });
    expectNagClean(configured.events);
  });
});

describe('EventsStack: integration secrets', () => {
  const secrets = resourcesOf(dev.template, 'AWS::SecretsManager::Secret');

  it('creates the five secrets as lcm/<stage>/<name>', () => {
    expect(secrets.map(([, s]) => s.Properties.Name).sort()).toEqual(
      Object.values(SECRET_NAMES)
        .map((n) => `lcm/dev/${n}`)
        .sort(),
    );
  });

  it('never has a value in the template: every secret is a generated placeholder', () => {
    for (const [, s] of secrets) {
      expect(s.Properties.SecretString).toBeUndefined();
      expect(s.Properties.GenerateSecretString).toBeDefined();
    }
    expect(JSON.stringify(dev.template.toJSON())).not.toMatch(/"SecretString"\s*:/);
  });

  it('the partner document placeholder is a valid, empty partner registry', () => {
    const [, partners] = secrets.find(
      ([, s]) => s.Properties.Name === `lcm/dev/${SECRET_NAMES.eventPartners}`,
    )!;
    const generate = partners.Properties.GenerateSecretString as { SecretStringTemplate: string };
    expect(JSON.parse(generate.SecretStringTemplate)).toEqual({ partners: {} });
  });

  it('retains the secrets outside dev (operators entered their values)', () => {
    for (const [, s] of secrets) expect(s.DeletionPolicy).toBe('Delete');
    for (const [, s] of resourcesOf(prod.template, 'AWS::SecretsManager::Secret')) {
      expect(s.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('EventsStack: cdk-nag', () => {
  it.each([
    ['dev', dev],
    ['prod', prod],
  ])(
    '%s: clean; acknowledged only rotation, DLQs of DLQs, the runtime pin and justified wildcards',
    (_n, s) => {
      const report = expectNagClean(s.events);
      const rules = [...new Set(report.acknowledgements.map((a) => a.ruleId.replace(/\[.*$/, '')))].sort();
      expect(rules).toEqual([
        'AwsSolutions-IAM5',
        'AwsSolutions-L1',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
      ]);
      expect(report.acknowledgements.filter((a) => a.ruleId === 'AwsSolutions-SMG4')).toHaveLength(5);
      const iam5 = report.acknowledgements
        .filter((a) => a.ruleId.startsWith('AwsSolutions-IAM5'))
        .map((a) => a.ruleId.replace(/^AwsSolutions-IAM5\[Resource::(.*)\]$/, '$1'));
      // X-Ray ("*"), the table's indexes and the topologies/ objects of the evidence bucket
      // (the triggers consumer stores topologies by hash), nothing else.
      for (const resource of iam5)
        expect(
          resource === '*' ||
            resource.endsWith('/index/*') ||
            /EvidenceBucket.*\/topologies\/\*$/.test(resource),
          resource,
        ).toBe(true);
      expect(iam5.filter((r) => r.endsWith('/topologies/*'))).toHaveLength(1);
    },
  );
});
