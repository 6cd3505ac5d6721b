import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';

/**
 * DynamoDB Local's Streams API writes an empty map attribute as `{}` (no type key) where DynamoDB
 * Streams (and Lambda's stream event) send `{"M":{}}`: `{"allocatedPorts":{}}` in a NewImage
 * instead of `{"allocatedPorts":{"M":{}}}`, which `unmarshall` refuses ("No value defined: {}").
 * Empty lists come through as `{"L":[]}`. The table item itself is right (GetItem returns
 * `{"M":{}}`); only the stream record is wrong, so the local poller repairs the record into the
 * shape AWS sends, at any depth: an attribute value without a type key can only be an empty map.
 */
export function awsAttributeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (Object.keys(v).length === 0) return { M: {} };
  if (v.M && typeof v.M === 'object') return { ...v, M: awsImage(v.M as Record<string, unknown>) };
  if (Array.isArray(v.L)) return { ...v, L: v.L.map(awsAttributeValue) };
  return v;
}

/** An image (or Keys) of a stream record with every attribute value in the shape AWS sends. */
export function awsImage(image: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, awsAttributeValue(v)]));
}

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
      const images = r.dynamodb as StreamRecord['dynamodb'];
      return {
        ...(r as unknown as StreamRecord),
        dynamodb: {
          ...images,
          // DynamoDB Local's empty maps (`{}`) in AWS's shape (`{"M":{}}`): see awsAttributeValue.
          ...(images?.Keys ? { Keys: awsImage(images.Keys) } : {}),
          ...(images?.NewImage ? { NewImage: awsImage(images.NewImage) } : {}),
          ...(images?.OldImage ? { OldImage: awsImage(images.OldImage) } : {}),
          // Lambda delivers epoch seconds; the SDK parses the wire number into a Date.
          ...(created instanceof Date ? { ApproximateCreationDateTime: created.getTime() / 1000 } : {}),
        },
      };
    });
    return { Records, NextShardIterator: out.NextShardIterator ?? null };
  }
}
