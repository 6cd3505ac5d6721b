import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';

/**
 * The three DynamoDB Streams calls the local poller makes (DescribeStream, GetShardIterator,
 * GetRecords), on the AWS SDK's Streams client pointed at DynamoDB Local, with records in the
 * shape a Lambda stream event carries (creation time in epoch seconds, images as attribute maps).
 */

export interface StreamsClientOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  timeoutMs?: number;
}

export class StreamsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'StreamsApiError';
  }
}

export interface StreamShard {
  ShardId: string;
  ParentShardId?: string;
  SequenceNumberRange?: { StartingSequenceNumber?: string; EndingSequenceNumber?: string };
}

export interface StreamRecord {
  eventID?: string;
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: Record<string, unknown>;
    NewImage?: Record<string, unknown>;
    OldImage?: Record<string, unknown>;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
}

export type ShardIteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER';

export class DynamoDbStreamsClient {
  private readonly sdk: DynamoDBStreamsClient;

  constructor(opts: StreamsClientOptions) {
    this.sdk = new DynamoDBStreamsClient({
      endpoint: opts.endpoint,
      region: opts.region,
      credentials: opts.credentials,
      maxAttempts: 1, // the poller retries on its own schedule
    });
  }

  /** SDK errors become StreamsApiError with the exception name as `code`. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      throw new StreamsApiError(
        err.name ?? 'UnknownError',
        err.message ?? String(e),
        err.$metadata?.httpStatusCode ?? 0,
      );
    }
  }

  async describeStream(streamArn: string, exclusiveStartShardId?: string) {
    const out = await this.call(() =>
      this.sdk.send(
        new DescribeStreamCommand({
          StreamArn: streamArn,
          ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
        }),
      ),
    );
    const d = out.StreamDescription;
    return {
      StreamDescription: {
        StreamArn: d?.StreamArn ?? streamArn,
        StreamStatus: d?.StreamStatus,
        Shards: (d?.Shards ?? []) as StreamShard[],
        LastEvaluatedShardId: d?.LastEvaluatedShardId,
      },
    };
  }

  async getShardIterator(
    streamArn: string,
    shardId: string,
    type: ShardIteratorType,
    sequenceNumber?: string,
  ) {
    const out = await this.call(() =>
      this.sdk.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
        }),
      ),
    );
    return { ShardIterator: out.ShardIterator };
  }

  async getRecords(shardIterator: string, limit: number) {
    const out = await this.call(() =>
      this.sdk.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit })),
    );
    const Records: StreamRecord[] = (out.Records ?? []).map((r) => {
      const created = r.dynamodb?.ApproximateCreationDateTime;
      return {
        ...(r as unknown as StreamRecord),
        dynamodb: {
          ...(r.dynamodb as StreamRecord['dynamodb']),
          // Lambda delivers epoch seconds; the SDK parses the wire number into a Date.
          ...(created instanceof Date ? { ApproximateCreationDateTime: created.getTime() / 1000 } : {}),
        },
      };
    });
    return { Records, NextShardIterator: out.NextShardIterator ?? null };
  }
}
