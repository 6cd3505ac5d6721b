import { CAPACITY_DIMENSIONS } from '@lcm/shared/kernel';
import {
  BUSINESS_METRICS,
  type BusinessMetricKey,
  METRIC_DIMENSIONS,
  METRIC_NAMESPACE,
} from '@lcm/shared/platform';
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import type { LcmStackProps } from './config.ts';
import { deadLetterQueueUse } from './events-stack.ts';
import { LcmFunction } from './lambda.ts';
import { pascal, stateMachineArnOf } from './names.ts';
import { alarmSettingsOf } from './settings.ts';
import { AslStateMachine } from './state-machines.ts';

/**
 * The runbooks (docs/runbooks/), one per kind of trouble; every alarm's description ends with the
 * path of its runbook (test/infra/observability-stack.test.ts checks that each file exists).
 */
export const RUNBOOKS = {
  sessionsLate: 'docs/runbooks/sessions-late-or-no-capacity.md',
  teardown: 'docs/runbooks/teardown-failed.md',
  deadLetters: 'docs/runbooks/dead-letter-queues.md',
  workerLaunches: 'docs/runbooks/worker-launches-failing.md',
  partnerEvents: 'docs/runbooks/partner-events-rejected.md',
  errors: 'docs/runbooks/function-errors.md',
  fleetCost: 'docs/runbooks/fleet-cost-high.md',
} as const;
export type Runbook = (typeof RUNBOOKS)[keyof typeof RUNBOOKS];

/**
 * When each alarm fires. Every alarm treats missing data as not breaching (no traffic, or a
 * business metric nobody emits yet, is not an incident) and notifies the alarm topic on ALARM
 * and on OK.
 */
export const ALARM_THRESHOLDS = {
  /** Any message in a DLQ or a stream failure queue (maximum over 5 minutes). */
  queueDepth: 1,
  /** Failed, timed-out or aborted executions of a state machine in 5 minutes. */
  executions: 1,
  /** Errors of a function in 5 minutes. */
  functionErrors: 1,
  /** Throttled invocations of a function in 5 minutes. */
  functionThrottles: 1,
  /** Age of the oldest stream record a consumer got, maximum over 5 minutes, 3 periods in a row. */
  iteratorAgeSeconds: 300,
  /** Share of API requests answered 5xx in 5 minutes, percent (with at least one request). */
  api5xxPercent: 1,
  /** p99 API latency over 5 minutes, 3 periods in a row, milliseconds. */
  apiP99LatencyMs: 3000,
  /** Share of the sessions reaching READY in an hour that were late, 0..1. */
  lateReadyShare: 0.05,
  /** Sessions ended NO_CAPACITY in an hour. */
  noCapacity: 1,
  /** Workers marked FAILED in 15 minutes. */
  workersFailed: 1,
  /** Session teardown steps failed for good in 15 minutes. */
  teardownFailures: 1,
  /** Partner events rejected at POST /v1/events in 15 minutes. */
  inboundRejected: 5,
  /**
   * Fleet cost per hour (FleetCostPerHourUsd, maximum over 5 minutes, 3 periods in a row): the
   * stage's `settings.<stage>.alarms.fleetCostPerHourUsd` (infra/lib/settings.ts), default 50.
   */
  fleetCostPerHourPeriods: 3,
} as const;

export interface ObservabilityStackProps extends LcmStackProps {
  /**
   * The stacks whose functions, state machines and dead-letter queues are watched: every
   * LcmFunction, AslStateMachine and queue of createDeadLetterQueue found in their construct
   * trees gets its alarms, so a new one is covered without a line here.
   */
  readonly watched: readonly Stack[];
  /** The table-stream consumers (events stack): IteratorAge and the stream failure queue. */
  readonly streamConsumers: ReadonlyMap<string, { readonly fn: LcmFunction; readonly dlq: sqs.IQueue }>;
  /** The HTTP API (api stack): 5xx rate and p99 latency. */
  readonly httpApi: HttpApi;
}

const FIVE_MINUTES = Duration.minutes(5);

/** What the stack built, by kind, for tests and the closing summary. */
export interface ObservedResources {
  readonly functions: readonly LcmFunction[];
  readonly stateMachines: readonly AslStateMachine[];
  readonly deadLetterQueues: readonly { readonly queue: sqs.IQueue; readonly usedBy: string }[];
}

/** Every construct of `kind` under the given stacks, in tree order. */
const findAll = <T extends IConstruct>(stacks: readonly Stack[], is: (c: IConstruct) => c is T): T[] =>
  stacks.flatMap((s) => s.node.findAll().filter(is));

/**
 * Alarms, the alarm topic and the operations dashboard of one stage (issue 13, item 3).
 *
 * - The topic `lcm-<stage>-alarms` (KMS-encrypted with a key CloudWatch may use, TLS only), with
 *   an e-mail subscription per `alarmEmails` address from context.
 * - Per dead-letter queue (rule targets, schedules): its depth. Per stream consumer: the depth of
 *   its on-failure queue and its IteratorAge.
 * - Per state machine: executions failed, timed out and aborted.
 * - Per function: errors and throttles.
 * - The HTTP API: 5xx share and p99 latency.
 * - Business metrics (packages/shared/src/platform/runtime/metric-names.ts, namespace `LCM`):
 *   late-READY share, NO_CAPACITY sessions, FAILED workers, teardown failures, rejected partner
 *   events, through Metrics Insights queries filtered by `stage`; the fleet cost per hour above the
 *   stage's threshold (`settings.<stage>.alarms.fleetCostPerHourUsd`).
 * - The dashboard: sessions, fleet (workers by status, capacity declared vs allocated), cost,
 *   partners, errors.
 *
 * Everything watched is found in the construct trees of `watched` (and named by its deterministic
 * physical name where it has one), so the alarms follow what the stacks build.
 */
export class ObservabilityStack extends Stack {
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by construct id. */
  public readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  public readonly observed: ObservedResources;

  private readonly alarmMap = new Map<string, cloudwatch.Alarm>();
  private readonly action: SnsAction;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.stage = config.stage;

    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `LCM (${config.stage}): encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: config.removalPolicy,
    });
    // CloudWatch publishes to an encrypted topic only with a key policy that lets it use the key.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `lcm-${config.stage}-alarms`,
      displayName: `LCM ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    for (const email of config.observability.alarmEmails)
      this.topic.addSubscription(new EmailSubscription(email));
    this.action = new SnsAction(this.topic);

    const functions = findAll(props.watched, (c): c is LcmFunction => c instanceof LcmFunction);
    const stateMachines = findAll(props.watched, (c): c is AslStateMachine => c instanceof AslStateMachine);
    const streamQueues = new Set<sqs.IQueue>([...props.streamConsumers.values()].map((c) => c.dlq));
    const deadLetterQueues = props.watched
      .flatMap((s) => s.node.findAll())
      .flatMap((c) => {
        const usedBy = deadLetterQueueUse(c as sqs.IQueue);
        return usedBy === undefined ? [] : [{ queue: c as sqs.IQueue, usedBy }];
      });
    this.observed = { functions, stateMachines, deadLetterQueues };

    for (const { queue, usedBy } of deadLetterQueues) {
      if (streamQueues.has(queue)) continue;
      const concern = Stack.of(queue).stackName.replace(`Lcm-${config.stage}-`, '');
      this.queueDepthAlarm(queue, `${pascal(concern)}${pascal(queue.node.id)}Depth`, usedBy);
    }
    for (const [name, consumer] of props.streamConsumers) this.streamAlarms(name, consumer);
    for (const machine of stateMachines) this.stateMachineAlarms(machine);
    for (const fn of functions) this.functionAlarms(fn);
    this.apiAlarms(props.httpApi);
    this.businessAlarms();
    this.fleetCostAlarm(alarmSettingsOf(config.settings).fleetCostPerHourUsd);
    this.alarms = this.alarmMap;

    this.dashboard = this.operationsDashboard(props, functions, stateMachines, deadLetterQueues);

    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.topic.topicArn,
      description: 'Where every alarm goes',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.dashboard.dashboardName,
      description: 'The operations dashboard',
    });
  }

  // --- alarms ------------------------------------------------------------------------------------

  private alarm(
    id: string,
    props: {
      metric: cloudwatch.IMetric;
      threshold: number;
      what: string;
      runbook: Runbook;
      evaluationPeriods?: number;
      comparison?: cloudwatch.ComparisonOperator;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `lcm-${this.stage}-${id}`,
      alarmDescription: `LCM (${this.stage}): ${props.what}. Runbook: ${props.runbook}`.slice(0, 1024),
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator:
        props.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarmMap.set(id, alarm);
    return alarm;
  }

  private queueDepthAlarm(
    queue: sqs.IQueue,
    id: string,
    usedBy: string,
    runbook: Runbook = RUNBOOKS.deadLetters,
  ) {
    return this.alarm(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      threshold: ALARM_THRESHOLDS.queueDepth,
      what: `messages in a dead-letter queue: ${usedBy}`,
      runbook,
    });
  }

  private streamAlarms(name: string, consumer: { readonly fn: LcmFunction; readonly dlq: sqs.IQueue }) {
    const id = pascal(name);
    this.queueDepthAlarm(
      consumer.dlq,
      `Stream${id}FailureQueueDepth`,
      `the stream failure queue of ${consumer.fn.functionName}: table-stream records it failed on after its retries`,
    );
    this.alarm(`Stream${id}IteratorAge`, {
      metric: this.lambdaMetric(consumer.fn, 'IteratorAge', 'Maximum'),
      threshold: ALARM_THRESHOLDS.iteratorAgeSeconds * 1000,
      evaluationPeriods: 3,
      what: `${consumer.fn.functionName} is behind the table stream (IteratorAge over ${ALARM_THRESHOLDS.iteratorAgeSeconds} s for 15 minutes)`,
      runbook: RUNBOOKS.deadLetters,
    });
  }

  private stateMachineAlarms(machine: AslStateMachine) {
    const name = machine.stateMachineName;
    const runbook = name.endsWith('worker-provisioning') ? RUNBOOKS.workerLaunches : RUNBOOKS.errors;
    for (const [metricName, what] of [
      ['ExecutionsFailed', 'failed'],
      ['ExecutionsTimedOut', 'timed out'],
      ['ExecutionsAborted', 'aborted'],
    ] as const) {
      this.alarm(`${pascal(name.replace(`lcm-${this.stage}-`, ''))}${metricName}`, {
        metric: new cloudwatch.Metric({
          namespace: 'AWS/States',
          metricName,
          dimensionsMap: { StateMachineArn: stateMachineArnOf(this, name) },
          statistic: 'Sum',
          period: FIVE_MINUTES,
        }),
        threshold: ALARM_THRESHOLDS.executions,
        what: `executions of ${name} ${what}`,
        runbook,
      });
    }
  }

  /** A metric of an LcmFunction by its deterministic name (no cross-stack reference). */
  private lambdaMetric(fn: LcmFunction, metricName: string, statistic: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { FunctionName: fn.functionName },
      statistic,
      period: FIVE_MINUTES,
    });
  }

  private functionAlarms(fn: LcmFunction) {
    const id = pascal(fn.functionName.replace(`lcm-${this.stage}-`, ''));
    this.alarm(`${id}Errors`, {
      metric: this.lambdaMetric(fn, 'Errors', 'Sum'),
      threshold: ALARM_THRESHOLDS.functionErrors,
      what: `${fn.functionName} failed (errors, timeouts, out of memory)`,
      runbook: RUNBOOKS.errors,
    });
    this.alarm(`${id}Throttles`, {
      metric: this.lambdaMetric(fn, 'Throttles', 'Sum'),
      threshold: ALARM_THRESHOLDS.functionThrottles,
      what: `${fn.functionName} was throttled (account concurrency, or its reserved concurrency)`,
      runbook: RUNBOOKS.errors,
    });
  }

  private apiAlarms(api: HttpApi) {
    const requests = api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' });
    const errors = api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    this.alarm('Api5xxRate', {
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: { requests, errors },
        period: FIVE_MINUTES,
        label: '5xx %',
      }),
      threshold: ALARM_THRESHOLDS.api5xxPercent,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      what: `over ${ALARM_THRESHOLDS.api5xxPercent} % of the API's requests answered 5xx in 5 minutes`,
      runbook: RUNBOOKS.errors,
    });
    this.alarm('ApiP99Latency', {
      metric: api.metricLatency({ period: FIVE_MINUTES, statistic: 'p99' }),
      threshold: ALARM_THRESHOLDS.apiP99LatencyMs,
      evaluationPeriods: 3,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      what: `the API's p99 latency was over ${ALARM_THRESHOLDS.apiP99LatencyMs} ms for 15 minutes`,
      runbook: RUNBOOKS.errors,
    });
  }

  /** A business metric of this stage, summed (or averaged) over every service that emits it. */
  private business(key: BusinessMetricKey, fn: 'SUM' | 'AVG', period: Duration, label?: string) {
    return new cloudwatch.MathExpression({
      expression: `SELECT ${fn}(${BUSINESS_METRICS[key].name}) FROM ${METRIC_NAMESPACE} WHERE ${METRIC_DIMENSIONS.stage} = '${this.stage}'`,
      usingMetrics: {},
      period,
      label: label ?? BUSINESS_METRICS[key].name,
    });
  }

  private businessAlarms() {
    const hour = Duration.hours(1);
    const quarter = Duration.minutes(15);
    this.alarm('SessionsLateReadyShare', {
      metric: this.business('sessionReadyLate', 'AVG', hour, 'late-READY share'),
      threshold: ALARM_THRESHOLDS.lateReadyShare,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      what: `over ${ALARM_THRESHOLDS.lateReadyShare * 100} % of the sessions that reached READY in the last hour were late (${BUSINESS_METRICS.sessionReadyLate.name})`,
      runbook: RUNBOOKS.sessionsLate,
    });
    this.alarm('SessionsNoCapacity', {
      metric: this.business('sessionsNoCapacity', 'SUM', hour),
      threshold: ALARM_THRESHOLDS.noCapacity,
      what: `sessions ended NO_CAPACITY in the last hour (${BUSINESS_METRICS.sessionsNoCapacity.name})`,
      runbook: RUNBOOKS.sessionsLate,
    });
    this.alarm('WorkersFailed', {
      metric: this.business('workersFailed', 'SUM', quarter),
      threshold: ALARM_THRESHOLDS.workersFailed,
      what: `workers were marked FAILED in the last 15 minutes (${BUSINESS_METRICS.workersFailed.name})`,
      runbook: RUNBOOKS.workerLaunches,
    });
    this.alarm('TeardownFailures', {
      metric: this.business('teardownFailures', 'SUM', quarter),
      threshold: ALARM_THRESHOLDS.teardownFailures,
      what: `session teardowns failed in the last 15 minutes (${BUSINESS_METRICS.teardownFailures.name})`,
      runbook: RUNBOOKS.teardown,
    });
    this.alarm('InboundEventsRejected', {
      metric: this.business('inboundRejected', 'SUM', quarter),
      threshold: ALARM_THRESHOLDS.inboundRejected,
      what: `${ALARM_THRESHOLDS.inboundRejected} or more partner events were rejected at POST /v1/events in 15 minutes (${BUSINESS_METRICS.inboundRejected.name})`,
      runbook: RUNBOOKS.partnerEvents,
    });
  }

  /**
   * A gauge of this stage (the Fleet* metrics, one data point per scale-up run): its maximum over
   * the period, per value of `groupBy` when given, or the series whose `where` dimension has a value.
   */
  private gauge(
    key: BusinessMetricKey,
    period: Duration,
    opts: { label?: string; groupBy?: string; where?: Record<string, string> } = {},
  ) {
    const where = [
      `${METRIC_DIMENSIONS.stage} = '${this.stage}'`,
      ...Object.entries(opts.where ?? {}).map(([d, v]) => `${d} = '${v}'`),
    ].join(' AND ');
    return new cloudwatch.MathExpression({
      expression: `SELECT MAX(${BUSINESS_METRICS[key].name}) FROM ${METRIC_NAMESPACE} WHERE ${where}${opts.groupBy ? ` GROUP BY ${opts.groupBy}` : ''}`,
      usingMetrics: {},
      period,
      label: opts.label ?? (opts.groupBy ? '' : BUSINESS_METRICS[key].name),
    });
  }

  private fleetCostAlarm(thresholdUsd: number) {
    this.alarm('FleetCostPerHour', {
      metric: this.gauge('fleetCostPerHourUsd', FIVE_MINUTES, { label: 'fleet USD per hour' }),
      threshold: thresholdUsd,
      evaluationPeriods: ALARM_THRESHOLDS.fleetCostPerHourPeriods,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      what: `the billable workers cost over ${thresholdUsd} USD per hour for 15 minutes (${BUSINESS_METRICS.fleetCostPerHourUsd.name}; threshold: settings.${this.stage}.alarms.fleetCostPerHourUsd)`,
      runbook: RUNBOOKS.fleetCost,
    });
  }

  // --- dashboard ---------------------------------------------------------------------------------

  private operationsDashboard(
    props: ObservabilityStackProps,
    functions: readonly LcmFunction[],
    stateMachines: readonly AslStateMachine[],
    deadLetterQueues: ObservedResources['deadLetterQueues'],
  ): cloudwatch.Dashboard {
    const period = FIVE_MINUTES;
    const sum = (key: BusinessMetricKey) => this.business(key, 'SUM', period);
    const isSession = (m: AslStateMachine) => m.stateMachineName.endsWith('session-lifecycle');
    const executions = (metricName: string, machines: readonly AslStateMachine[]) =>
      machines.map(
        (m) =>
          new cloudwatch.Metric({
            namespace: 'AWS/States',
            metricName,
            dimensionsMap: { StateMachineArn: stateMachineArnOf(this, m.stateMachineName) },
            statistic: 'Sum',
            period,
            label: `${m.stateMachineName} ${metricName}`,
          }),
      );
    const heading = (text: string) =>
      new cloudwatch.TextWidget({ markdown: `## ${text}`, width: 24, height: 1 });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      right: cloudwatch.IMetric[] = [],
      leftAnnotations?: cloudwatch.HorizontalAnnotation[],
    ) => new cloudwatch.GraphWidget({ title, left, right, leftAnnotations, width: 12, height: 6 });
    const byKind = new Map<string, LcmFunction[]>();
    for (const fn of functions) byKind.set(fn.spec.kind, [...(byKind.get(fn.spec.kind) ?? []), fn]);

    const dashboard = new cloudwatch.Dashboard(this, 'OperationsDashboard', {
      dashboardName: `lcm-${this.stage}-operations`,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(heading(`Sessions (LCM ${this.stage})`));
    dashboard.addWidgets(
      graph(
        'Sessions booked, READY, NO_CAPACITY',
        [sum('sessionsBooked'), sum('sessionsReady'), sum('sessionsNoCapacity')],
        [this.business('sessionReadyLate', 'AVG', period, 'late-READY share')],
      ),
      graph(
        'Session workflow executions',
        ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed'].flatMap((m) =>
          executions(m, stateMachines.filter(isSession)),
        ),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Teardown failures and lateness',
        [sum('teardownFailures')],
        [this.business('sessionLatenessSeconds', 'AVG', period, 'mean lateness (s)')],
      ),
    );
    dashboard.addWidgets(heading('Fleet'));
    dashboard.addWidgets(
      graph('Launches, failed launches, FAILED workers, drains', [
        sum('launches'),
        sum('launchesFailed'),
        sum('workersFailed'),
        sum('drains'),
      ]),
      graph(
        'Worker workflow executions: started and failed',
        ['ExecutionsStarted', 'ExecutionsFailed'].flatMap((m) =>
          executions(
            m,
            stateMachines.filter((sm) => !isSession(sm)),
          ),
        ),
      ),
    );
    dashboard.addWidgets(
      graph('Workers by status', [this.gauge('fleetWorkers', period, { groupBy: METRIC_DIMENSIONS.status })]),
      graph('Billable workers by template', [
        this.gauge('fleetBillableWorkers', period, { groupBy: METRIC_DIMENSIONS.template }),
      ]),
    );
    dashboard.addWidgets(
      ...CAPACITY_DIMENSIONS.map(
        (resource) =>
          new cloudwatch.GraphWidget({
            title: `Capacity ${resource}: declared vs allocated (live workers)`,
            left: [
              this.gauge('fleetCapacityDeclared', period, { label: 'declared', where: { resource } }),
              this.gauge('fleetCapacityAllocated', period, { label: 'allocated', where: { resource } }),
            ],
            width: 6,
            height: 6,
          }),
      ),
    );
    dashboard.addWidgets(heading('Cost'));
    dashboard.addWidgets(
      graph(
        'Fleet cost per hour (USD)',
        [this.gauge('fleetCostPerHourUsd', period, { label: 'fleet USD per hour' })],
        [],
        [
          {
            value: alarmSettingsOf(props.config.settings).fleetCostPerHourUsd,
            label: 'alarm FleetCostPerHour',
            color: cloudwatch.Color.RED,
          },
        ],
      ),
      graph('Cost per hour by template (USD)', [
        this.gauge('fleetTemplateCostPerHourUsd', period, { groupBy: METRIC_DIMENSIONS.template }),
      ]),
    );
    dashboard.addWidgets(heading('Partners'));
    dashboard.addWidgets(
      graph('Partner events accepted and rejected', [sum('inboundAccepted'), sum('inboundRejected')]),
      graph(
        'Rule targets and stream consumers: errors',
        [...(byKind.get('rule-target') ?? []), ...(byKind.get('stream-consumer') ?? [])].map((fn) =>
          this.lambdaMetric(fn, 'Errors', 'Sum').with({ label: fn.functionName }),
        ),
      ),
    );
    dashboard.addWidgets(heading('Errors'));
    dashboard.addWidgets(
      graph(
        'API requests and 5xx',
        [props.httpApi.metricCount({ period, statistic: 'Sum' })],
        [props.httpApi.metricServerError({ period, statistic: 'Sum' })],
      ),
      graph('API latency p99 (ms)', [props.httpApi.metricLatency({ period, statistic: 'p99' })]),
    );
    dashboard.addWidgets(
      graph(
        'Dead-letter and stream failure queues: messages',
        deadLetterQueues.map(({ queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        ),
      ),
      graph(
        'Stream consumers: IteratorAge (ms)',
        [...props.streamConsumers.values()].map(({ fn }) =>
          this.lambdaMetric(fn, 'IteratorAge', 'Maximum').with({ label: fn.functionName }),
        ),
      ),
    );
    const errorGraphs = [...byKind].map(([kind, fns]) =>
      graph(
        `Function errors: ${kind}`,
        fns.map((fn) => this.lambdaMetric(fn, 'Errors', 'Sum').with({ label: fn.functionName })),
      ),
    );
    for (let i = 0; i < errorGraphs.length; i += 2) dashboard.addWidgets(...errorGraphs.slice(i, i + 2));
    return dashboard;
  }
}
