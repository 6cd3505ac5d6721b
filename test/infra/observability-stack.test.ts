import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUSINESS_METRICS } from '@lcm/shared/platform';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/lib/bundling.ts';
import { ALARM_THRESHOLDS, RUNBOOKS } from '../../infra/lib/observability-stack.ts';
import { buildTestApp } from './app.ts';
import { expectNagClean } from './nag.ts';
import { type Resource, resourcesOf } from './template.ts';

/**
 * The alarm coverage rule: whatever the stacks build, every dead-letter queue, every state machine
 * and every Lambda function of the synthesised app has its alarms in the observability stack. The
 * watched resources are read from the synthesised templates (not from the stack's own lists), so a
 * queue, machine or function added without its alarm fails here.
 */

type Json = Record<string, unknown>;
interface StackJson {
  readonly name: string;
  readonly json: { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown }> };
}

const synth = (context: Record<string, unknown> = {}) => {
  const { stacks, allStacks } = buildTestApp(context);
  const templates: StackJson[] = allStacks.map((s) => ({
    name: s.stackName,
    json: Template.fromStack(s).toJSON() as StackJson['json'],
  }));
  const observability = Template.fromStack(stacks.observability);
  const alarms = resourcesOf(observability, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  return { stacks, allStacks, templates, observability, alarms };
};

/**
 * What a template value names: a literal string as is; `Ref`/`Fn::GetAtt` of a resource as
 * `<stack>/<logical id>`; a weak cross-stack reference (Fn::GetStackOutput) as what the producing
 * stack's output refers to; an `Fn::Join` joined, pseudo parameters kept as `${…}`.
 */
const resolve = (templates: readonly StackJson[], stack: string, value: unknown): string => {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if ('Ref' in v) {
    const ref = v.Ref as string;
    return ref.startsWith('AWS::') ? `\${${ref}}` : `${stack}/${ref}`;
  }
  if ('Fn::GetAtt' in v) return `${stack}/${(v['Fn::GetAtt'] as string[])[0]}`;
  if ('Fn::GetStackOutput' in v) {
    const { StackName, OutputName } = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string };
    const producer = templates.find((t) => t.name === StackName);
    const output = producer?.json.Outputs?.[OutputName];
    expect(output, `output ${OutputName} of ${StackName}`).toBeDefined();
    return resolve(templates, StackName, output!.Value);
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(templates, stack, p)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
};

const resourcesOfType = (templates: readonly StackJson[], type: string) =>
  templates.flatMap((t) =>
    Object.entries(t.json.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => ({ stack: t.name, id, r })),
  );

/** The alarms on `namespace`/`metricName`, as the resolved value of their `dimension`. */
const alarmedBy = (
  s: ReturnType<typeof synth>,
  namespace: string,
  metricName: string,
  dimension: string,
): string[] =>
  s.alarms
    .filter((a) => a.Namespace === namespace && a.MetricName === metricName)
    .map((a) => {
      const d = (a.Dimensions as { Name: string; Value: unknown }[]).find((x) => x.Name === dimension);
      expect(d, `${metricName} alarm ${String(a.AlarmName)} has dimension ${dimension}`).toBeDefined();
      return resolve(s.templates, s.stacks.observability.stackName, d!.Value);
    });

/** A queue is a DLQ when something sends what it could not deliver or process there. */
const deadLetterQueuesOf = (templates: readonly StackJson[]): string[] => {
  const found = new Set<string>();
  const add = (stack: string, arn: unknown) => {
    if (arn !== undefined) found.add(resolve(templates, stack, arn));
  };
  for (const { stack, r } of resourcesOfType(templates, 'AWS::Events::Rule')) {
    for (const target of (r.Properties.Targets as Json[] | undefined) ?? []) {
      add(stack, (target.DeadLetterConfig as Json | undefined)?.Arn);
    }
  }
  for (const type of ['AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::EventSourceMapping']) {
    for (const { stack, r } of resourcesOfType(templates, type)) {
      const onFailure = (r.Properties.DestinationConfig as { OnFailure?: Json } | undefined)?.OnFailure;
      add(stack, onFailure?.Destination);
    }
  }
  for (const { stack, r } of resourcesOfType(templates, 'AWS::SQS::Queue')) {
    const redrive = r.Properties.RedrivePolicy as Json | undefined;
    add(stack, redrive?.deadLetterTargetArn);
  }
  return [...found].sort();
};

/**
 * CDK's own deployment-time handlers: custom resource providers (S3 auto-delete of the dev buckets,
 * the data and console buckets) and the console config's BucketDeployment handler.
 */
const isCdkProvider = (id: string) =>
  /^Custom[A-Za-z0-9]*CustomResourceProvider/.test(id) || /^CustomCDKBucketDeployment[0-9A-F]{32}/.test(id);

const RUNBOOK_LINK = /Runbook: (docs\/runbooks\/[\w-]+\.md)$/;

describe.each(['dev', 'prod'])('observability stack, stage %s', (stage) => {
  const s = synth({ stage, alarmEmails: 'ops@example.com, oncall@example.com' });

  it('is one more stack of the app, deployed after the six it watches', () => {
    expect(s.stacks.observability.stackName).toBe(`Lcm-${stage}-Observability`);
    expect(s.stacks.observability.dependencies.map((d) => d.stackName).sort()).toEqual(
      ['Api', 'Data', 'Events', 'Fleet', 'WebSocket', 'Workflows'].map((c) => `Lcm-${stage}-${c}`),
    );
  });

  it('every dead-letter queue of the app has a depth alarm', () => {
    const dlqs = deadLetterQueuesOf(s.templates);
    expect(dlqs.length).toBeGreaterThan(0);
    const alarmed = alarmedBy(s, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName');
    for (const q of dlqs) expect(alarmed, `depth alarm of ${q}`).toContain(q);
    // and each such alarm fires on the first message
    for (const a of s.alarms.filter((x) => x.Namespace === 'AWS/SQS')) {
      expect(a.Threshold).toBe(ALARM_THRESHOLDS.queueDepth);
      expect(a.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    }
  });

  it('the stream failure queues are among them, named as such', () => {
    const mappings = resourcesOfType(s.templates, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(0);
    for (const { r } of mappings) {
      expect(
        (r.Properties.DestinationConfig as Json | undefined)?.OnFailure,
        'on-failure queue',
      ).toBeDefined();
    }
    const streamAlarms = s.alarms.filter((a) =>
      /^lcm-.+-Stream.+FailureQueueDepth$/.test(String(a.AlarmName)),
    );
    expect(streamAlarms).toHaveLength(mappings.length);
  });

  it('every state machine has failed, timed-out and aborted alarms', () => {
    const machines = resourcesOfType(s.templates, 'AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThan(0);
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      const arns = alarmedBy(s, 'AWS/States', metric, 'StateMachineArn');
      for (const { r } of machines) {
        const name = r.Properties.StateMachineName as string;
        expect(
          arns.filter((arn) => arn.endsWith(`:stateMachine:${name}`)),
          `${metric} alarm of ${name}`,
        ).toHaveLength(1);
      }
    }
  });

  it('every Lambda function has an errors and a throttles alarm', () => {
    const functions = resourcesOfType(s.templates, 'AWS::Lambda::Function');
    const watched = functions.filter((f) => !isCdkProvider(f.id));
    // The only functions left out are CDK's deployment-time providers: they run while
    // CloudFormation deploys (a failure fails the stack operation itself).
    // dev: the data and console buckets' auto-delete and the console config's deployment; prod: the deployment.
    expect(functions.filter((f) => isCdkProvider(f.id)).length).toBe(stage === 'dev' ? 3 : 1);
    expect(watched.length).toBeGreaterThan(0);
    const identity = (f: (typeof functions)[number]) =>
      typeof f.r.Properties.FunctionName === 'string' ? f.r.Properties.FunctionName : `${f.stack}/${f.id}`;
    for (const metric of ['Errors', 'Throttles']) {
      const alarmed = alarmedBy(s, 'AWS/Lambda', metric, 'FunctionName');
      for (const f of watched) expect(alarmed, `${metric} alarm of ${identity(f)}`).toContain(identity(f));
    }
  });

  it('every stream consumer has an IteratorAge alarm', () => {
    const alarmed = alarmedBy(s, 'AWS/Lambda', 'IteratorAge', 'FunctionName');
    const mappings = resourcesOfType(s.templates, 'AWS::Lambda::EventSourceMapping');
    for (const { stack, r } of mappings) {
      const fnRef = resolve(s.templates, stack, r.Properties.FunctionName);
      const [fnStack, fnId] = fnRef.split('/');
      const fn = s.templates.find((t) => t.name === fnStack)!.json.Resources[fnId!]!;
      expect(alarmed).toContain(fn.Properties.FunctionName);
    }
  });

  it('the API has a 5xx-rate and a p99-latency alarm on its id', () => {
    const [api] = resourcesOfType(s.templates, 'AWS::ApiGatewayV2::Api');
    const apiId = `${api!.stack}/${api!.id}`;
    const rate = s.alarms.find((a) => String(a.AlarmName).endsWith('-Api5xxRate'))!;
    const metrics = rate.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: Json } }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toContain('100 * errors / requests');
    const used = metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric);
    expect(used.map((m) => m.MetricName).sort()).toEqual(['5xx', 'Count']);
    for (const m of used) {
      const dim = (m.Dimensions as { Name: string; Value: unknown }[]).find((d) => d.Name === 'ApiId')!;
      expect(resolve(s.templates, s.stacks.observability.stackName, dim.Value)).toBe(apiId);
    }
    expect(alarmedBy(s, 'AWS/ApiGateway', 'Latency', 'ApiId')).toEqual([apiId]);
    const latency = s.alarms.find((a) => a.MetricName === 'Latency')!;
    expect(latency.ExtendedStatistic).toBe('p99');
  });

  it('the business alarms query the shared metric names of this stage', () => {
    const expressions = s.alarms.flatMap((a) =>
      ((a.Metrics as { Expression?: string }[] | undefined) ?? []).flatMap((m) => m.Expression ?? []),
    );
    for (const key of [
      'sessionReadyLate',
      'sessionsNoCapacity',
      'workersFailed',
      'teardownFailures',
      'inboundRejected',
    ] as const) {
      const name = BUSINESS_METRICS[key].name;
      expect(
        expressions.filter((e) => e.includes(`(${name}) FROM LCM WHERE stage = '${stage}'`)),
        name,
      ).toHaveLength(1);
    }
  });

  it('the fleet cost alarm: the maximum FleetCostPerHourUsd of this stage above the default threshold for 15 minutes', () => {
    const cost = s.alarms.find((a) => a.AlarmName === `lcm-${stage}-FleetCostPerHour`)!;
    expect(cost).toBeDefined();
    expect(cost.Threshold).toBe(50);
    expect(cost.EvaluationPeriods).toBe(3);
    expect(cost.ComparisonOperator).toBe('GreaterThanThreshold');
    const [query] = cost.Metrics as { Expression: string; Period: number }[];
    expect(query).toMatchObject({
      Expression: `SELECT MAX(${BUSINESS_METRICS.fleetCostPerHourUsd.name}) FROM LCM WHERE stage = '${stage}'`,
      Period: 300,
    });
    expect(String(cost.AlarmDescription)).toContain(`settings.${stage}.alarms.fleetCostPerHourUsd`);
  });

  it('every alarm notifies the alarm topic and links an existing runbook', () => {
    const topicId = Object.keys(s.observability.findResources('AWS::SNS::Topic'))[0];
    const linked = new Set<string>();
    for (const a of s.alarms) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.OKActions).toEqual([{ Ref: topicId }]);
      expect(a.TreatMissingData).toBe('notBreaching');
      const link = RUNBOOK_LINK.exec(String(a.AlarmDescription));
      expect(link, `runbook link in ${String(a.AlarmName)}`).not.toBeNull();
      expect(existsSync(join(REPO_ROOT, link![1]!)), link![1]).toBe(true);
      linked.add(link![1]!);
    }
    // and every runbook is some alarm's
    const files = readdirSync(join(REPO_ROOT, 'docs', 'runbooks'))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .map((f) => `docs/runbooks/${f}`);
    expect([...linked].sort()).toEqual(files.sort());
    expect(Object.values(RUNBOOKS).sort()).toEqual(files.sort());
  });

  it('the alarm topic is encrypted with a rotated key CloudWatch may use, and mails the context addresses', () => {
    s.observability.hasResourceProperties('AWS::SNS::Topic', { TopicName: `lcm-${stage}-alarms` });
    s.observability.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keyPolicy = JSON.stringify(
      resourcesOf(s.observability, 'AWS::KMS::Key')[0]![1].Properties.KeyPolicy,
    );
    expect(keyPolicy).toContain('cloudwatch.amazonaws.com');
    const subscriptions = resourcesOf(s.observability, 'AWS::SNS::Subscription').map(([, r]) => r.Properties);
    expect(subscriptions.map((p) => [p.Protocol, p.Endpoint]).sort()).toEqual([
      ['email', 'oncall@example.com'],
      ['email', 'ops@example.com'],
    ]);
  });

  it('has one operations dashboard with the sessions, fleet, cost, partners and errors sections', () => {
    const dashboards = resourcesOfType(s.templates, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.r.Properties.DashboardBody);
    for (const section of ['## Sessions', '## Fleet', '## Cost', '## Partners', '## Errors'])
      expect(body).toContain(section);
    for (const key of ['sessionsBooked', 'sessionsReady', 'launches', 'inboundAccepted'] as const) {
      expect(body).toContain(BUSINESS_METRICS[key].name);
    }
    // The fleet gauges, as maxima of this stage (one point per scale-up run, never summed).
    const gauge = (name: string, rest: string) =>
      `SELECT MAX(${name}) FROM LCM WHERE stage = '${stage}'${rest}`;
    const { fleetWorkers, fleetBillableWorkers, fleetCostPerHourUsd, fleetTemplateCostPerHourUsd } =
      BUSINESS_METRICS;
    expect(body).toContain(gauge(fleetWorkers.name, ' GROUP BY status'));
    expect(body).toContain(gauge(fleetBillableWorkers.name, ' GROUP BY template'));
    expect(body).toContain(gauge(fleetTemplateCostPerHourUsd.name, ' GROUP BY template'));
    expect(body).toContain(gauge(fleetCostPerHourUsd.name, ''));
    for (const resource of ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes']) {
      for (const m of [BUSINESS_METRICS.fleetCapacityDeclared, BUSINESS_METRICS.fleetCapacityAllocated])
        expect(body).toContain(gauge(m.name, ` AND resource = '${resource}'`));
    }
  });

  it('passes cdk-nag', () => {
    expectNagClean(s.stacks.observability);
  });
});

describe('observability context', () => {
  it('the fleet cost alarm takes its threshold from the stage settings (alarms.fleetCostPerHourUsd)', () => {
    const { alarms } = synth({
      stage: 'prod',
      settings: { prod: { alarms: { fleetCostPerHourUsd: 120.5 } } },
    });
    expect(alarms.find((a) => a.AlarmName === 'lcm-prod-FleetCostPerHour')?.Threshold).toBe(120.5);
  });

  it('subscribes nobody without alarmEmails', () => {
    const { stacks } = buildTestApp({});
    expect(Template.fromStack(stacks.observability).findResources('AWS::SNS::Subscription')).toEqual({});
  });

  it.each(['ops', 'ops@example', 'a@b.c,not an address'])('rejects alarmEmails %j', (alarmEmails) => {
    expect(() => buildTestApp({ alarmEmails })).toThrow(/alarmEmails/);
  });
});
