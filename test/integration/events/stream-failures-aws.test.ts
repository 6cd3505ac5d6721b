import {
  type _Record,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { setStreamFailuresOverride } from '@lcm/shared/app';
import {
  failureIdOf,
  failureOfMessage,
  pageOfStreamFailures,
  type StreamFailure,
  StreamFailureSchema,
} from '@lcm/shared/events';
import { ENTITY } from '@lcm/shared/platform';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/streams.ts';
import { call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';

/**
 * Issue 11, item 5, the AWS failure destination behind GET /v1/stream-failures and the replay
 * (events/stream-failures-aws.ts), through the API handler as deployed (LCM_STREAM_FAILURE_CONSUMERS
 * set as CDK sets it): the table is DynamoDB Local; SQS (the on-failure queues), DynamoDB Streams
 * and Lambda cannot run here and are mocked at the SDK boundary. The messages are Lambda's
 * on-failure records for DynamoDB stream batches, the records GetRecords' shape.
 */

const sqs = mockClient(SQSClient);
const streams = mockClient(DynamoDBStreamsClient);
const lambda = mockClient(LambdaClient);

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/lcm-test/stream/2030-01-01T00:00:00.000';
const SHARD = 'shardId-00000001893456000000-4c7d21aa';
const OUTBOX_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Lcm-test-Events-OutboxConsumerDlq';
const TRIGGERS_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Lcm-test-Events-TriggersConsumerDlq';
const CONSUMERS = {
  outbox: { queueUrl: OUTBOX_QUEUE, functionName: 'lcm-test-stream-outbox' },
  triggers: { queueUrl: TRIGGERS_QUEUE, functionName: 'lcm-test-stream-triggers' },
};

/** What Lambda writes to an on-failure queue for a DynamoDB stream batch (AWS documentation's shape). */
const onFailureBody = (start: string, end: string, batchSize: number) =>
  JSON.stringify({
    requestContext: {
      requestId: '316aa6d0-8154-xmpl-9af7-85d5f4a6bc81',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:lcm-test-stream-outbox',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2030-03-02T08:14:03.717Z',
    DDBStreamBatchInfo: {
      shardId: SHARD,
      startSequenceNumber: start,
      endSequenceNumber: end,
      approximateArrivalOfFirstRecord: '2030-03-02T08:13:40Z',
      approximateArrivalOfLastRecord: '2030-03-02T08:13:41Z',
      batchSize,
      streamArn: STREAM_ARN,
    },
  });

/** A stream record as GetRecords returns it through the SDK (ApproximateCreationDateTime a Date). */
const streamRecord = (seq: string, entity: string, id: string): _Record => ({
  eventID: `ev-${seq}`,
  eventName: 'INSERT',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: {
    ApproximateCreationDateTime: new Date('2030-03-02T08:13:40.000Z'),
    Keys: { PK: { S: `SESSION#${id}` }, SK: { S: 'SESSION' } },
    NewImage: { PK: { S: `SESSION#${id}` }, SK: { S: 'SESSION' }, entity: { S: entity }, id: { S: id } },
    SequenceNumber: seq,
    SizeBytes: 120,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
});

let t: TestTable;

/** A Lambda response payload (the SDK's is a Uint8Array with helpers the code does not use). */
const payload = (text: string) => new TextEncoder().encode(text) as unknown as InvokeCommandOutput['Payload'];

beforeAll(async () => {
  t = await createTestTable('stream-failures-aws');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  process.env.LCM_STREAM_FAILURE_CONSUMERS = JSON.stringify(CONSUMERS);
  setStreamFailuresOverride(undefined);
});
afterAll(async () => {
  delete process.env.LCM_STREAM_FAILURE_CONSUMERS;
  sqs.restore();
  streams.restore();
  lambda.restore();
  await t.cleanup();
});
beforeEach(() => {
  sqs.reset();
  streams.reset();
  lambda.reset();
  sqs.on(ReceiveMessageCommand).resolves({});
  sqs.on(DeleteMessageCommand).resolves({});
});

const list = (query?: Record<string, string>) =>
  call(handler, 'listStreamFailures', { role: 'operator', ...(query ? { query } : {}) });
const replay = (id: string) => call(handler, 'replayStreamFailure', { role: 'operator', params: { id } });

describe('the AWS failure destination', () => {
  let poisoned: StreamFailure;
  let old: StreamFailure;

  it('moves the on-failure messages into the table (once each), deletes them, keeps what it cannot read', async () => {
    const poisonedMessage = {
      MessageId: 'm-poisoned',
      ReceiptHandle: 'rh-poisoned',
      Body: onFailureBody('4312000000000000000000200', '4312000000000000000000300', 2),
      Attributes: { SentTimestamp: String(Date.parse('2030-03-02T08:14:04.000Z')) },
    };
    const oldMessage = {
      MessageId: 'm-old',
      ReceiptHandle: 'rh-old',
      Body: onFailureBody('4312000000000000000000050', '4312000000000000000000050', 1),
      Attributes: { SentTimestamp: String(Date.parse('2030-03-01T08:00:00.000Z')) },
    };
    const junk = { MessageId: 'm-junk', ReceiptHandle: 'rh-junk', Body: '{"not":"lambda"}' };
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: OUTBOX_QUEUE })
      .resolvesOnce({ Messages: [poisonedMessage, junk] })
      // Delivered again (its deletion was lost, say): still one failure.
      .resolvesOnce({ Messages: [oldMessage, poisonedMessage] })
      .resolves({});

    const res = await list();
    expect(res.status).toBe(200);
    const items = res.body.items.map((i: unknown) => StreamFailureSchema.strict().parse(i));
    // Oldest first; the ids are time-ordered (the message's SentTimestamp) and stable per message.
    expect(items.map((f: StreamFailure) => f.id)).toEqual([
      failureIdOf('m-old', Date.parse('2030-03-01T08:00:00.000Z')),
      failureIdOf('m-poisoned', Date.parse('2030-03-02T08:14:04.000Z')),
    ]);
    [old, poisoned] = items as [StreamFailure, StreamFailure];
    expect(poisoned).toEqual({
      id: poisoned.id,
      consumer: 'outbox',
      shardId: SHARD,
      startSequenceNumber: '4312000000000000000000200',
      endSequenceNumber: '4312000000000000000000300',
      attempts: 11,
      error: 'RetryAttemptsExhausted (function error: Unhandled)',
      failedAt: '2030-03-02T08:14:03.717Z',
      status: 'PENDING',
      recordCount: 2,
      replays: [],
    });
    // Both queues were read; every readable message deleted after its item was written; the junk kept.
    const receivedFrom = sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.QueueUrl);
    expect(new Set(receivedFrom)).toEqual(new Set([OUTBOX_QUEUE, TRIGGERS_QUEUE]));
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual([
      'rh-poisoned',
      'rh-old',
      'rh-poisoned',
    ]);
    // The records themselves stay in the stream: none were read to list.
    expect(streams.calls()).toHaveLength(0);
  });

  it('replays: reads the range back from the stream, filters it as the mapping does, invokes the consumer', async () => {
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({
        Records: [
          streamRecord('4312000000000000000000200', ENTITY.session, 's-poisoned'),
          // In the range, but no outbox entity: the mapping's filter never delivered it.
          streamRecord('4312000000000000000000250', ENTITY.portLease, 'w-1'),
        ],
        NextShardIterator: 'it-2',
      })
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({
        Records: [
          streamRecord('4312000000000000000000300', ENTITY.session, 's-next'),
          // Past the range: not replayed.
          streamRecord('4312000000000000000000301', ENTITY.session, 's-later'),
        ],
        NextShardIterator: 'it-3',
      });
    // The consumer fails one record again, then handles both.
    lambda
      .on(InvokeCommand)
      .resolvesOnce({
        StatusCode: 200,
        Payload: payload(
          JSON.stringify({ batchItemFailures: [{ itemIdentifier: '4312000000000000000000200' }] }),
        ),
      })
      .resolves({ StatusCode: 200, Payload: payload('{"batchItemFailures":[]}') });

    const again = await replay(poisoned.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      status: 'PENDING',
      replays: [{ by: 'operator-user', outcome: 'FAILED', error: expect.stringContaining('1 of 2') }],
    });

    const iterator = streams.commandCalls(GetShardIteratorCommand)[0]!.args[0].input;
    expect(iterator).toEqual({
      StreamArn: STREAM_ARN,
      ShardId: SHARD,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '4312000000000000000000200',
    });
    const invoke = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(invoke.FunctionName).toBe('lcm-test-stream-outbox');
    expect(invoke.InvocationType).toBe('RequestResponse');
    const event = JSON.parse(new TextDecoder().decode(invoke.Payload as Uint8Array)) as DynamoDBStreamEvent;
    expect(event.Records.map((r) => r.dynamodb?.SequenceNumber)).toEqual([
      '4312000000000000000000200',
      '4312000000000000000000300',
    ]);
    // As Lambda delivers them: the stream's ARN, the creation time in epoch seconds.
    expect(event.Records[0]).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventSourceARN: STREAM_ARN,
      dynamodb: { ApproximateCreationDateTime: Date.parse('2030-03-02T08:13:40.000Z') / 1000 },
    });

    const handled = await replay(poisoned.id);
    expect(handled.status).toBe(200);
    expect(handled.body).toMatchObject({
      id: poisoned.id,
      status: 'REPLAYED',
      replays: [{ outcome: 'FAILED' }, { outcome: 'HANDLED', by: 'operator-user' }],
    });
    expect((await list({ status: 'REPLAYED' })).body.items.map((f: StreamFailure) => f.id)).toEqual([
      poisoned.id,
    ]);
    expect((await list({ status: 'PENDING' })).body.items.map((f: StreamFailure) => f.id)).toEqual([old.id]);
  });

  it('a consumer function that errors leaves the failure PENDING with the error', async () => {
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-old' });
    streams.on(GetRecordsCommand).resolves({
      Records: [streamRecord('4312000000000000000000050', ENTITY.session, 's-old')],
      NextShardIterator: 'it-old-2',
    });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload('{"errorType":"Error","errorMessage":"bus down"}'),
    });
    const res = await replay(old.id);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('PENDING');
    expect(res.body.replays.at(-1)).toMatchObject({
      outcome: 'FAILED',
      error: expect.stringContaining('bus down'),
    });
  });

  it('records older than the stream keeps them (24 h): 410, the attempt recorded', async () => {
    const trimmed = Object.assign(
      new Error('The operation attempted to read past the oldest stream record'),
      {
        name: 'TrimmedDataAccessException',
      },
    );
    streams.on(GetShardIteratorCommand).rejects(trimmed);
    const res = await replay(old.id);
    expect(res.status).toBe(410);
    expect(res.body.title).toBe('Gone');
    expect(res.body.detail).toContain('24 hours');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    const [listed] = (await list({ status: 'PENDING' })).body.items as StreamFailure[];
    expect(listed!.replays.at(-1)).toMatchObject({
      outcome: 'FAILED',
      error: expect.stringContaining('TrimmedDataAccessException'),
    });
  });

  it('an unknown failure is a 404; nothing is invoked', async () => {
    const res = await replay(failureIdOf('m-never', Date.parse('2030-03-02T00:00:00.000Z')));
    expect(res.status).toBe(404);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('pages with the table cursor', async () => {
    const first = await list({ limit: '1' });
    expect(first.body.items.map((f: StreamFailure) => f.id)).toEqual([old.id]);
    const second = await list({ limit: '1', cursor: first.body.nextCursor });
    expect(second.body.items.map((f: StreamFailure) => f.id)).toEqual([poisoned.id]);
    const bad = await list({ cursor: first.body.nextCursor, status: 'PENDING' });
    expect(bad.status).toBe(400);
  });
});

describe('pure parts', () => {
  it('a message that is not an on-failure record is not a failure', () => {
    expect(failureOfMessage('outbox', { MessageId: 'x', Body: 'not json' })).toBeUndefined();
    expect(failureOfMessage('outbox', { MessageId: 'x', Body: '{"DDBStreamBatchInfo":{}}' })).toBeUndefined();
  });

  it('the local listing pages by id after the cursor, filtered by status', () => {
    const f = (id: string, status: 'PENDING' | 'REPLAYED'): StreamFailure => ({
      id,
      consumer: 'outbox',
      shardId: SHARD,
      startSequenceNumber: '1',
      endSequenceNumber: '1',
      attempts: 1,
      error: 'x',
      failedAt: '2030-03-02T08:00:00.000Z',
      status,
      recordCount: 1,
      replays: [],
    });
    const all = [
      f('01J8Z6Q4M0NQ3R5T7V9X1Z3B51', 'PENDING'),
      f('01J8Z6Q4M0NQ3R5T7V9X1Z3B52', 'REPLAYED'),
      f('01J8Z6Q4M0NQ3R5T7V9X1Z3B53', 'PENDING'),
      f('01J8Z6Q4M0NQ3R5T7V9X1Z3B54', 'PENDING'),
    ];
    const one = pageOfStreamFailures(all, { status: 'PENDING', limit: 2 });
    expect(one.items.map((x) => x.id.slice(-1))).toEqual(['1', '3']);
    const two = pageOfStreamFailures(all, { status: 'PENDING', limit: 2, cursor: one.nextCursor });
    expect(two).toEqual({ items: [all[3]] });
    expect(() => pageOfStreamFailures(all, { cursor: 'bm9wZQ' })).toThrow(/cursor/);
  });
});
