import {
  EVENT_RULE_TARGETS,
  EVENT_RULES,
  eventPatternJson,
  filterCriteriaOf,
  STREAM_CONSUMERS,
} from '@lcm/shared/events';
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  RULE_TARGETS,
  type RuleTargetFunctionSpec,
  STREAM_FUNCTIONS,
  type StreamConsumerFunctionSpec,
} from '../../functions/catalogue.ts';
import type { LcmConfig, LcmStackProps } from './config.ts';
import type { NeedResources } from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { eventBusNameFor, pascal } from './names.ts';
import { IntegrationSecretsConstruct } from './secrets.ts';

export interface EventsStackProps extends LcmStackProps {
  /** The single table (data stack): the rule targets' and stream consumers' TABLE_NAME; its stream. */
  readonly table: ITableV2;
  /**
   * The evidence bucket (data stack), for the `topology-read` and `topology-write` needs: the
   * triggers consumer stores the topologies of content syncs and manual observations by hash.
   */
  readonly evidenceBucket: IBucket;
}

/** Delivery of a rule's event to its target: EventBridge retries, then the target's DLQ. */
export const RULE_TARGET_RETRY = { retryAttempts: 8, maxEventAge: Duration.hours(2) } as const;
/** Lambda's own retries of a target invocation that failed (async invoke), then the same DLQ. */
export const TARGET_ASYNC_RETRY = { retryAttempts: 2, maxEventAge: Duration.hours(2) } as const;
/** Dead-letter messages are kept as long as SQS allows, for inspection and redrive. */
export const DLQ_RETENTION = Duration.days(14);

/** The dead-letter queues createDeadLetterQueue made, with what each one collects. */
const DEAD_LETTER_QUEUES = new WeakMap<sqs.IQueue, string>();

/** What a dead-letter queue of createDeadLetterQueue collects; undefined for any other queue. */
export const deadLetterQueueUse = (queue: sqs.IQueue): string | undefined => DEAD_LETTER_QUEUES.get(queue);

/**
 * An encrypted (SQS-managed SSE), TLS-only dead-letter queue, kept 14 days (the observability
 * stack finds it through deadLetterQueueUse and alarms on its depth). cdk-nag's SQS3 asks
 * every queue without a redrive policy to be some queue's DLQ; it only recognises queue and
 * function DLQs, not EventBridge target or event-source-mapping destinations, hence the reason.
 */
export const createDeadLetterQueue = (
  scope: Construct,
  id: string,
  config: LcmConfig,
  usedBy: string,
): sqs.Queue => {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DLQ_RETENTION,
    removalPolicy: config.removalPolicy,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself a dead-letter queue (${usedBy}); a DLQ of a DLQ would only move the same messages once more.`,
  });
  DEAD_LETTER_QUEUES.set(queue, usedBy);
  return queue;
};

/**
 * The event side of LCM (DESIGN §7): the bus `lcm-<stage>` with an archive for replay, one rule
 * per entry of EVENT_RULES (packages/shared/src/events/rules.ts) with the raw pattern of
 * `eventPatternJson`, targeting the function of its target module (the catalogue's rule targets,
 * functions/catalogue.ts) with a retry policy and a DLQ, the table-stream consumers of the
 * catalogue with the settings of STREAM_CONSUMERS (outbox publisher, triggers) and the
 * integration secrets (partners, CML, LDS, grading). Functions get exactly their needs (grants.ts).
 *
 * Stack order (no cycles): Data → Events → Workflows → Fleet → Api. This stack is created before
 * the workflows stack because the workflows' tasks read the secrets it owns, so its rule targets
 * name the session state machine by its deterministic name (names.ts), not by reference. The api
 * stack comes after and receives `bus` and `secrets.eventPartners` for the ingest route.
 */
export class EventsStack extends Stack {
  public readonly bus: events.EventBus;
  public readonly archive: events.CfnArchive;
  public readonly secrets: IntegrationSecretsConstruct;
  /** The function of each rule target module. */
  public readonly targetFunctions: ReadonlyMap<string, LcmFunction>;
  /** The dead-letter queue of each rule target module. */
  public readonly targetDlqs: ReadonlyMap<string, sqs.Queue>;
  /** The rule of each EVENT_RULES entry, by rule name. */
  public readonly rules: ReadonlyMap<string, events.Rule>;
  /** The function and on-failure queue of each stream consumer, by consumer name. */
  public readonly streamConsumers: ReadonlyMap<string, { fn: LcmFunction; dlq: sqs.Queue }>;

  constructor(scope: Construct, id: string, props: EventsStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: eventBusNameFor(config.stage),
      description: `Lablet Cloud Manager (${config.stage}): CloudEvents in and out`,
    });
    // No event pattern: every event on the bus is archived and can be replayed.
    this.archive = new events.CfnArchive(this, 'Archive', {
      archiveName: `lcm-${config.stage}-all`,
      sourceArn: this.bus.eventBusArn,
      description: `Every event of ${eventBusNameFor(config.stage)}, for replay`,
      retentionDays: config.events.archiveRetentionDays,
    });

    this.secrets = new IntegrationSecretsConstruct(this, 'Secrets', { config });
    const resources: NeedResources = {
      table: props.table,
      evidenceBucket: props.evidenceBucket,
      secrets: this.secrets,
      bus: this.bus,
    };

    // One function and one DLQ per rule target module.
    sameModules(
      'rule targets',
      EVENT_RULE_TARGETS.map((t) => t.module),
      RULE_TARGETS.map((t) => t.entry),
    );
    const targetFunctions = new Map<string, LcmFunction>();
    const targetDlqs = new Map<string, sqs.Queue>();
    for (const target of RULE_TARGETS) {
      const { fn, dlq } = this.createRuleTarget(target, config, resources);
      targetFunctions.set(target.entry, fn);
      targetDlqs.set(target.entry, dlq);
    }
    this.targetFunctions = targetFunctions;
    this.targetDlqs = targetDlqs;

    const rules = new Map<string, events.Rule>();
    for (const rule of EVENT_RULES) {
      const fn = targetFunctions.get(rule.target.module)!;
      const created = new events.Rule(this, `${pascal(rule.name)}Rule`, {
        eventBus: this.bus,
        ruleName: `lcm-${config.stage}-${rule.name}`,
        description: rule.description,
        // The pattern exactly as defined once in rules.ts (the local bus routes by the same JSON).
        eventPattern: JSON.parse(eventPatternJson(rule)) as events.EventPattern,
        targets: [
          new targets.LambdaFunction(fn.fn, {
            deadLetterQueue: targetDlqs.get(rule.target.module)!,
            ...RULE_TARGET_RETRY,
          }),
        ],
      });
      rules.set(rule.name, created);
    }
    this.rules = rules;

    sameModules(
      'stream consumers',
      STREAM_CONSUMERS.map((c) => c.module),
      STREAM_FUNCTIONS.map((c) => c.entry),
    );
    const consumers = new Map<string, { fn: LcmFunction; dlq: sqs.Queue }>();
    for (const consumer of STREAM_FUNCTIONS)
      consumers.set(consumer.name, this.createStreamConsumer(consumer, props, resources));
    this.streamConsumers = consumers;

    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName, description: 'The LCM event bus' });
    new CfnOutput(this, 'EventBusArn', { value: this.bus.eventBusArn, description: 'The LCM event bus' });
    new CfnOutput(this, 'EventArchiveName', {
      value: this.archive.ref,
      description: 'Archive of every event on the bus (replay)',
    });
    for (const [key, secret] of Object.entries({
      EventPartnersSecretName: this.secrets.eventPartners,
      CmlCredentialsSecretName: this.secrets.cmlCredentials,
      CmlLicenseSecretName: this.secrets.cmlLicense,
      LdsApiKeySecretName: this.secrets.ldsApiKey,
      GradingApiKeySecretName: this.secrets.gradingApiKey,
    })) {
      new CfnOutput(this, key, {
        value: secret.secretName,
        description: 'Put the real value in after deploying',
      });
    }
  }

  /**
   * A rule target (functions/events/*.ts): resolves session waits (its needs: the table and the
   * session workflow's task tokens). EventBridge delivers with RULE_TARGET_RETRY, Lambda retries
   * a failed invocation with TARGET_ASYNC_RETRY; what is still undelivered or failing lands in
   * the DLQ.
   */
  private createRuleTarget(
    spec: RuleTargetFunctionSpec,
    config: LcmConfig,
    resources: NeedResources,
  ): { fn: LcmFunction; dlq: sqs.Queue } {
    const id = pascal(spec.name);
    const fn = new LcmFunction(this, `${id}Target`, { config, spec, resources });
    const dlq = createDeadLetterQueue(
      this,
      `${id}Dlq`,
      config,
      `events of ${spec.name} that EventBridge could not deliver or that failed after Lambda's retries`,
    );
    fn.fn.configureAsyncInvoke({ ...TARGET_ASYNC_RETRY, onFailure: new SqsDestination(dlq) });
    return { fn, dlq };
  }

  /**
   * A table-stream consumer: the event source mapping takes its filters (filterCriteriaOf), batch,
   * retry and bisect settings from the consumer's definition (events/streams.ts); records still
   * failing after the retries are described in the on-failure queue.
   */
  private createStreamConsumer(
    spec: StreamConsumerFunctionSpec,
    { config, table }: EventsStackProps,
    resources: NeedResources,
  ): { fn: LcmFunction; dlq: sqs.Queue } {
    const consumer = spec.stream;
    const id = `${pascal(consumer.name)}Consumer`;
    const fn = new LcmFunction(this, id, { config, spec, resources });
    const dlq = createDeadLetterQueue(
      this,
      `${id}Dlq`,
      config,
      `on-failure destination of the ${consumer.name} stream consumer: stream records that failed after the retries`,
    );
    const { Filters } = filterCriteriaOf(consumer);
    fn.fn.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition[consumer.startingPosition],
        batchSize: consumer.batchSize,
        maxBatchingWindow: Duration.seconds(consumer.maximumBatchingWindowSeconds),
        retryAttempts: consumer.maximumRetryAttempts,
        bisectBatchOnError: consumer.bisectBatchOnError,
        reportBatchItemFailures: consumer.reportBatchItemFailures,
        onFailure: new SqsDlq(dlq),
        filters: Filters.map((f) => ({ pattern: f.Pattern })),
      }),
    );
    return { fn, dlq };
  }
}

/**
 * The modules events/ wires (rule targets, stream consumers) and the catalogue's functions must
 * be the same: a module without a function would be wired to nothing, a function without a
 * module would never be invoked.
 */
const sameModules = (what: string, wired: readonly string[], catalogued: readonly string[]): void => {
  const missing = wired.filter((m) => !catalogued.includes(m));
  const unused = catalogued.filter((m) => !wired.includes(m));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `The ${what} of @lcm/shared/events and functions/catalogue.ts disagree: ${[
        missing.length > 0 ? `not in the catalogue: ${missing.join(', ')}` : '',
        unused.length > 0 ? `not wired: ${unused.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')}`,
    );
  }
};
