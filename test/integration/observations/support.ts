import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** Stream records built from the items really stored, as DynamoDB Streams would deliver them. */

let seq = 0;

export async function streamRecordOf(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, string>,
  eventName: 'INSERT' | 'MODIFY' = 'MODIFY',
): Promise<DynamoDBRecord> {
  const out = await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  if (!out.Item) throw new Error(`no item ${key.PK} / ${key.SK}`);
  seq++;
  return {
    eventID: String(seq),
    eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${tableName}/stream/test`,
    dynamodb: {
      Keys: marshall(key) as never,
      NewImage: marshall(out.Item, { removeUndefinedValues: true }) as never,
      SequenceNumber: String(seq).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
