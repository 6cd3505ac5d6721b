import { createHash, createHmac } from 'node:crypto';

/**
 * A minimal DynamoDB Streams client (JSON 1.0 protocol, SigV4-signed) for DynamoDB Local's
 * Streams API, which it serves on its DynamoDB endpoint. `@aws-sdk/client-dynamodb-streams` is
 * not installed in this workspace; this covers the three calls the poller makes
 * (DescribeStream, GetShardIterator, GetRecords) and nothing else. Local use only.
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

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** SigV4 headers for a POST of `body` to `url` (service `dynamodb`). */
export function signRequest(
  url: URL,
  headers: Record<string, string>,
  body: string,
  opts: Pick<StreamsClientOptions, 'region' | 'credentials'>,
  now = new Date(),
): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const all: Record<string, string> = { ...headers, host: url.host, 'x-amz-date': amzDate };
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    'POST',
    url.pathname || '/',
    '',
    canonicalHeaders,
    signedHeaders,
    sha256(body),
  ].join('\n');
  const scope = `${date}/${opts.region}/dynamodb/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${opts.credentials.secretAccessKey}`, date);
  const kSigning = hmac(hmac(hmac(kDate, opts.region), 'dynamodb'), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

export class DynamoDbStreamsClient {
  constructor(private readonly opts: StreamsClientOptions) {}

  private async call<T>(operation: string, input: unknown): Promise<T> {
    const url = new URL(this.opts.endpoint);
    const body = JSON.stringify(input);
    const headers = signRequest(
      url,
      {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDBStreams_20120810.${operation}`,
      },
      body,
      this.opts,
    );
    delete headers.host; // fetch sets it
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new StreamsApiError('SerializationException', `not JSON: ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok) {
      const type = String(json.__type ?? res.headers.get('x-amzn-errortype') ?? 'UnknownError');
      const code = type.split('#').pop()?.split(':')[0] ?? type;
      throw new StreamsApiError(code, String(json.message ?? json.Message ?? text), res.status);
    }
    return json as T;
  }

  describeStream(streamArn: string, exclusiveStartShardId?: string) {
    return this.call<{
      StreamDescription: {
        StreamArn: string;
        StreamStatus?: string;
        Shards?: StreamShard[];
        LastEvaluatedShardId?: string;
      };
    }>('DescribeStream', {
      StreamArn: streamArn,
      ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
    });
  }

  getShardIterator(streamArn: string, shardId: string, type: ShardIteratorType, sequenceNumber?: string) {
    return this.call<{ ShardIterator?: string }>('GetShardIterator', {
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: type,
      ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
    });
  }

  getRecords(shardIterator: string, limit: number) {
    return this.call<{ Records?: StreamRecord[]; NextShardIterator?: string | null }>('GetRecords', {
      ShardIterator: shardIterator,
      Limit: limit,
    });
  }
}
