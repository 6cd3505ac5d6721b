import { createHash } from 'node:crypto';
import {
  type _Record,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { encodeTime } from 'ulid';
import * as z from 'zod';
import { NotFoundError } from '../kernel/index.ts';
import {
  checkLimit,
  ENTITY,
  isConditionFailed,
  keys,
  logger,
  parseItem,
  queryPage,
  type StoreConfig,
  TABLE,
} from '../platform/index.ts';
import { matchesAnyPattern } from './pattern.ts';
import {
  type ConsumerReply,
  replayStreamFailure,
  STREAM_FAILURE_PAGE_DEFAULT,
  type StoredStreamFailure,
  type StreamFailure,
  type StreamFailureLedger,
  type StreamFailureListQuery,
  type StreamFailureOperations,
  type StreamFailurePage,
  StreamFailureReplaySchema,
  StreamFailureSchema,
  StreamRecordsExpiredError,
  streamFailureView,
} from './stream-failures.ts';
import { STREAM_CONSUMERS, type StreamConsumer } from './streams.ts';

/**
 * The failure destination in AWS (issue 11, item 5). Each stream consumer's event source mapping
 * sends what it gave up on to its own SQS on-failure queue (infra/lib/events-stack.ts): not the
 * records, but a description of the batch (Lambda's "DDBStreamBatchInfo": stream, shard, first and
 * last sequence number, how many records, why). Operators list and replay them through the API:
 *
 * - **a table item per failure.** SQS cannot be listed: ReceiveMessage samples a subset, hides what
 *   it returns for the visibility timeout (a second operator would see a different list) and a
 *   message carries no status. So the API first moves what the queues hold into the table, one
 *   `StreamFailure` item each (an id made from the message id, so a message received twice is one
 *   item), and deletes the message only after the item is written. The table item holds the
 *   status (PENDING, REPLAYED) and every replay. Consequence: the queue depth alarm
 *   (`Stream<Consumer>FailureQueueDepth`) says "failures nobody has listed yet"; once listed they
 *   are PENDING items (the alarm clears).
 * - **replay reads the records back from the stream** (GetShardIterator AT_SEQUENCE_NUMBER, then
 *   GetRecords up to the last sequence number), keeps those the consumer's filters deliver, and
 *   invokes the consumer function with them as a DynamoDBStreamEvent (RequestResponse: its
 *   `batchItemFailures` or error decide the outcome). DynamoDB Streams keeps records 24 hours:
 *   older ones are gone, and the replay says so (StreamRecordsExpiredError → 410).
 */

/** Lambda's on-failure record for a DynamoDB stream batch (what the on-failure queue receives). */
export const OnFailureRecordSchema = z.object({
  requestContext: z
    .object({
      condition: z.string().optional(),
      approximateInvokeCount: z.number().int().nonnegative().optional(),
      functionArn: z.string().optional(),
    })
    .optional(),
  responseContext: z.object({ functionError: z.string().optional() }).optional(),
  timestamp: z.string().optional(),
  DDBStreamBatchInfo: z.object({
    shardId: z.string().min(1),
    startSequenceNumber: z.string().regex(/^\d+$/),
    endSequenceNumber: z.string().regex(/^\d+$/),
    batchSize: z.number().int().nonnegative().optional(),
    streamArn: z.string().min(1),
  }),
});
export type OnFailureRecord = z.infer<typeof OnFailureRecordSchema>;

/** A failure as kept in the table: the public fields and the stream to read its records from. */
const StoredFailureSchema = StreamFailureSchema.extend({
  streamArn: z.string().optional(),
  /** The on-failure message it came from (SQS MessageId). */
  messageId: z.string().optional(),
});
type AwsStoredFailure = z.infer<typeof StoredFailureSchema>;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A time-ordered failure id (a ULID) that is the same for the same message: the time of the
 * message (SentTimestamp), then 80 bits of the SHA-256 of its MessageId.
 */
export function failureIdOf(messageId: string, sentAtMs: number): string {
  const hash = createHash('sha256').update(messageId).digest();
  let bits = '';
  for (const byte of hash.subarray(0, 10)) bits += byte.toString(2).padStart(8, '0');
  let random = '';
  for (let i = 0; i < 80; i += 5) random += CROCKFORD[Number.parseInt(bits.slice(i, i + 5), 2)];
  return `${encodeTime(sentAtMs, 10)}${random}`;
}

/** Access pattern 15: stream failures, oldest first; by status on GSI1. */
export class DynamoStreamFailureLedger implements StreamFailureLedger {
  constructor(private readonly cfg: StoreConfig) {}

  private item(failure: AwsStoredFailure) {
    return {
      ...keys.streamFailure(failure.id),
      ...keys.streamFailureByStatus(failure.status, failure.id),
      [TABLE.entityAttribute]: ENTITY.streamFailure,
      ...failure,
    };
  }

  /** Adds a failure; false when one with its id is there already (the same message again). */
  async add(failure: AwsStoredFailure): Promise<boolean> {
    try {
      await this.cfg.client.send(
        new PutCommand({
          TableName: this.cfg.tableName,
          Item: this.item(StoredFailureSchema.parse(failure)),
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async get(id: string): Promise<(StoredStreamFailure & { streamArn?: string }) | undefined> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: keys.streamFailure(id), ConsistentRead: true }),
    );
    return out.Item ? parseItem(StoredFailureSchema, out.Item) : undefined;
  }

  async recordReplay(
    id: string,
    replay: z.infer<typeof StreamFailureReplaySchema>,
  ): Promise<StoredStreamFailure> {
    const entry = StreamFailureReplaySchema.parse(replay);
    const handled = entry.outcome === 'HANDLED';
    try {
      const out = await this.cfg.client.send(
        new UpdateCommand({
          TableName: this.cfg.tableName,
          Key: keys.streamFailure(id),
          UpdateExpression: handled
            ? 'SET replays = list_append(replays, :r), #status = :s, GSI1PK = :g'
            : 'SET replays = list_append(replays, :r)',
          ConditionExpression: 'attribute_exists(PK)',
          ...(handled ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ExpressionAttributeValues: {
            ':r': [entry],
            ...(handled ? { ':s': 'REPLAYED', ':g': keys.streamFailureByStatus('REPLAYED', id).GSI1PK } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(StoredFailureSchema, out.Attributes ?? {});
    } catch (e) {
      if (isConditionFailed(e)) throw new NotFoundError(ENTITY.streamFailure, id);
      throw e;
    }
  }

  async list(query: StreamFailureListQuery): Promise<StreamFailurePage> {
    const limit = checkLimit(query.limit, STREAM_FAILURE_PAGE_DEFAULT);
    const out =
      query.status === undefined
        ? await queryPage(this.cfg.client, this.cfg.tableName, {
            pk: keys.streamFailurePartition,
            limit,
            cursor: query.cursor,
          })
        : await queryPage(this.cfg.client, this.cfg.tableName, {
            index: 'GSI1',
            pk: keys.streamFailureStatusPartition(query.status),
            limit,
            cursor: query.cursor,
          });
    return {
      items: out.items.map((i) => publicFailure(parseItem(StoredFailureSchema, i))),
      ...(out.cursor ? { nextCursor: out.cursor } : {}),
    };
  }
}

const publicFailure = ({ streamArn: _a, messageId: _m, ...failure }: AwsStoredFailure): StreamFailure =>
  streamFailureView(failure);

/** Per consumer (events/streams.ts name): its on-failure queue and the function to hand records to. */
export const StreamFailureConsumersSchema = z.record(
  z.string(),
  z.object({ queueUrl: z.string().min(1), functionName: z.string().min(1) }),
);
export type StreamFailureConsumers = z.infer<typeof StreamFailureConsumersSchema>;

export interface AwsStreamFailureDeps {
  ledger: DynamoStreamFailureLedger;
  sqs: SQSClient;
  streams: DynamoDBStreamsClient;
  lambda: LambdaClient;
  consumers: StreamFailureConsumers;
  /** The stream consumers' definitions (filters), default STREAM_CONSUMERS. */
  definitions?: readonly StreamConsumer[];
  clock?: () => Date;
  /** Receive rounds per queue and call (10 messages each), so one list stays within the API timeout. */
  maxRounds?: number;
}

const errorName = (e: unknown) => (e as { name?: string } | undefined)?.name ?? '';

/** A message of an on-failure queue as a failure; undefined when the body is not Lambda's record. */
export function failureOfMessage(consumer: string, message: Message): AwsStoredFailure | undefined {
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? '');
  } catch {
    return undefined;
  }
  const parsed = OnFailureRecordSchema.safeParse(body);
  if (!parsed.success || !message.MessageId) return undefined;
  const record = parsed.data;
  const info = record.DDBStreamBatchInfo;
  const sentAt = Number(message.Attributes?.SentTimestamp ?? Date.parse(record.timestamp ?? ''));
  const at = Number.isFinite(sentAt) ? sentAt : Date.now();
  const condition = record.requestContext?.condition ?? 'failed';
  const functionError = record.responseContext?.functionError;
  return {
    id: failureIdOf(message.MessageId, at),
    consumer,
    shardId: info.shardId,
    startSequenceNumber: info.startSequenceNumber,
    endSequenceNumber: info.endSequenceNumber,
    attempts: record.requestContext?.approximateInvokeCount ?? 0,
    // Lambda does not pass the handler's error message on; the consumer's log has it.
    error: `${condition}${functionError ? ` (function error: ${functionError})` : ''}`,
    failedAt: record.timestamp ?? new Date(at).toISOString(),
    status: 'PENDING',
    recordCount: info.batchSize ?? 0,
    replays: [],
    streamArn: info.streamArn,
    messageId: message.MessageId,
  };
}

/** The AWS operations: the on-failure queues drained into the table, the stream, the consumer functions. */
export function awsStreamFailureOperations(deps: AwsStreamFailureDeps): StreamFailureOperations & {
  /** Moves what the on-failure queues hold into the table; how many new failures. */
  collect(): Promise<number>;
} {
  const definitions = deps.definitions ?? STREAM_CONSUMERS;
  const maxRounds = deps.maxRounds ?? 10;

  async function collect(): Promise<number> {
    let added = 0;
    for (const [consumer, { queueUrl }] of Object.entries(deps.consumers)) {
      for (let round = 0; round < maxRounds; round++) {
        const out = await deps.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 30,
            MessageSystemAttributeNames: ['SentTimestamp'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) break;
        for (const message of messages) {
          const failure = failureOfMessage(consumer, message);
          if (!failure) {
            // Left in the queue (it reappears, the depth alarm stays) rather than dropped.
            logger.error('stream failure queue: a message that is not a stream batch description', {
              consumer,
              messageId: message.MessageId,
            });
            continue;
          }
          if (await deps.ledger.add(failure)) added++;
          await deps.sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
      }
    }
    return added;
  }

  async function readRecords(
    failure: StoredStreamFailure & { streamArn?: string },
  ): Promise<DynamoDBRecord[]> {
    const expired = (why: string) =>
      new StreamRecordsExpiredError(
        failure,
        `the stream no longer holds records ${failure.startSequenceNumber}..${failure.endSequenceNumber} of ${failure.shardId} (DynamoDB Streams keeps records 24 hours; they failed at ${failure.failedAt}): ${why}`,
      );
    if (!failure.streamArn) throw new Error('the failure names no stream');
    const definition = definitions.find((c) => c.name === failure.consumer);
    if (!definition) throw new Error(`no stream consumer ${failure.consumer}`);
    const end = BigInt(failure.endSequenceNumber);
    const records: _Record[] = [];
    try {
      let iterator = (
        await deps.streams.send(
          new GetShardIteratorCommand({
            StreamArn: failure.streamArn,
            ShardId: failure.shardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            SequenceNumber: failure.startSequenceNumber,
          }),
        )
      ).ShardIterator;
      let empty = 0;
      let done = false;
      while (iterator && !done && empty < 5) {
        const out = await deps.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        const page = out.Records ?? [];
        if (page.length === 0) empty++;
        for (const r of page) {
          const seq = BigInt(r.dynamodb?.SequenceNumber ?? '0');
          if (seq > end) {
            done = true;
            break;
          }
          records.push(r);
          if (seq === end) done = true;
        }
        iterator = out.NextShardIterator;
      }
    } catch (e) {
      const name = errorName(e);
      if (name === 'TrimmedDataAccessException' || name === 'ResourceNotFoundException') {
        throw expired(`${name}: ${(e as Error).message}`);
      }
      throw e;
    }
    if (records.length === 0) throw expired('no record of the range is left');
    return records
      .map((r) => lambdaRecordOf(r, failure.streamArn!))
      .filter((r) => matchesAnyPattern(definition.filters, r));
  }

  async function invoke(
    consumer: string,
    event: { Records: DynamoDBRecord[] },
  ): Promise<ConsumerReply | undefined> {
    const target = deps.consumers[consumer];
    if (!target) throw new Error(`no function for stream consumer ${consumer}`);
    const out = await deps.lambda.send(
      new InvokeCommand({
        FunctionName: target.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) throw new Error(`${target.functionName} failed (${out.FunctionError}): ${text}`);
    return text ? ((JSON.parse(text) as ConsumerReply | null) ?? undefined) : undefined;
  }

  return {
    collect,
    async list(query) {
      await collect();
      return deps.ledger.list(query);
    },
    async replay(id, by) {
      await collect();
      const replayed = await replayStreamFailure(
        { queue: deps.ledger, readRecords, invoke, ...(deps.clock ? { clock: deps.clock } : {}) },
        id,
        by,
      );
      return publicFailure(StoredFailureSchema.parse(replayed));
    },
  };
}

/**
 * A record as the Streams API returns it (through the SDK) → as Lambda delivers it: the creation
 * time in epoch seconds, binary attributes base64, the stream's ARN.
 */
function lambdaRecordOf(record: _Record, streamArn: string): DynamoDBRecord {
  const plain = JSON.parse(
    JSON.stringify(record, function (this: Record<string, unknown>, key: string, value: unknown) {
      // `value` is after toJSON (a Date is a string by then); the holder has the original.
      const raw = this[key];
      if (raw instanceof Date) return Math.floor(raw.getTime() / 1000);
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return value;
    }),
  ) as DynamoDBRecord;
  return { ...plain, eventSource: plain.eventSource ?? 'aws:dynamodb', eventSourceARN: streamArn };
}
