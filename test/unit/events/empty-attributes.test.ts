import { awsImage } from '@lcm/sandbox/streams/client';
import {
  changeRecordOf,
  matchesPattern,
  OUTBOUND_EVENT_TYPES,
  OUTBOX_STREAM_FILTER,
  outboxEventsFor,
} from '@lcm/shared/events';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

/**
 * Issue 11, item 5: empty maps and lists in stream records. `aws` is a record exactly as Lambda
 * delivers it from DynamoDB Streams (AttributeValue JSON, `{"M":{}}` and `{"L":[]}` for the empty
 * ones, creation time in epoch seconds); `local` is the same change as DynamoDB Local's Streams API
 * writes it (the empty map as `{}`, no type key), which the local poller repairs (awsImage).
 */

const awsImageOf = (status: string) => ({
  PK: { S: 'SESSION#portless' },
  SK: { S: 'SESSION' },
  entity: { S: 'LabletSession' },
  id: { S: 'portless' },
  reservationId: { S: 'r-portless' },
  definitionId: { S: 'community-ospf' },
  definitionVersion: { N: '1' },
  status: { S: status },
  workerId: { S: 'w-1' },
  owner: { M: { userId: { S: 'u-1' } } },
  timeslot: { M: { start: { S: '2030-01-01T09:00:00.000Z' }, end: { S: '2030-01-01T11:00:00.000Z' } } },
  allocatedPorts: { M: {} },
  portTemplate: { L: [] },
  requirements: {
    M: {
      cpuCores: { N: '2' },
      memoryGb: { N: '4' },
      storageGb: { N: '10' },
      nodeCount: { N: '2' },
      extras: { M: { empty: { M: {} }, none: { L: [] }, nested: { L: [{ M: {} }, { L: [] }] } } },
    },
  },
  version: { N: status === 'SCHEDULED' ? '2' : '3' },
  createdAt: { S: '2030-01-01T08:00:00.000Z' },
  updatedAt: { S: '2030-01-01T08:01:00.000Z' },
});

const aws: DynamoDBRecord = {
  eventID: 'c4ca4238a0b923820dcc509a6f75849b',
  eventName: 'MODIFY',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: {
    ApproximateCreationDateTime: 1893488460,
    Keys: { PK: { S: 'SESSION#portless' }, SK: { S: 'SESSION' } },
    NewImage: awsImageOf('INSTANTIATING') as never,
    OldImage: awsImageOf('SCHEDULED') as never,
    SequenceNumber: '4421584500000000017450439091',
    SizeBytes: 512,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
  eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/lcm-dev/stream/2030-01-01T00:00:00.000',
};

/** DynamoDB Local's rendering of an image: every empty map without its type key. */
function asDynamoDbLocal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDynamoDbLocal);
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  if (v.M && typeof v.M === 'object' && Object.keys(v.M).length === 0 && Object.keys(v).length === 1)
    return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asDynamoDbLocal(x)]));
}

describe('empty maps and lists in stream records', () => {
  it('the shape AWS sends unmarshalls: {} and [] at any depth, and the outbox maps the change', () => {
    const change = changeRecordOf(aws);
    expect(change.newImage).toMatchObject({
      allocatedPorts: {},
      portTemplate: [],
      requirements: { extras: { empty: {}, none: [], nested: [{}, []] } },
    });
    expect(change.oldImage).toMatchObject({ allocatedPorts: {}, status: 'SCHEDULED' });
    expect(matchesPattern(OUTBOX_STREAM_FILTER, aws)).toBe(true);
    const events = outboxEventsFor(change);
    expect(events.map((e) => e.type)).toEqual([OUTBOUND_EVENT_TYPES.sessionStatusChanged]);
    expect(events[0]!.data).toMatchObject({ sessionId: 'portless', from: 'SCHEDULED', to: 'INSTANTIATING' });
  });

  it("DynamoDB Local's typeless empty map fails unmarshall as it comes, and is repaired into AWS's shape", () => {
    const local = asDynamoDbLocal(aws.dynamodb!.NewImage) as Record<string, unknown>;
    expect(local.allocatedPorts).toEqual({});
    expect(() => changeRecordOf({ ...aws, dynamodb: { ...aws.dynamodb, NewImage: local as never } })).toThrow(
      /No value defined/,
    );
    expect(awsImage(local)).toEqual(aws.dynamodb!.NewImage);
  });

  it('the repair leaves every other attribute value as it is', () => {
    const image = {
      s: { S: '' },
      n: { N: '0' },
      b: { BOOL: false },
      nul: { NULL: true },
      ss: { SS: ['a'] },
      l: { L: [{ S: 'x' }, {}, { M: { k: {} } }] },
    };
    expect(awsImage(image)).toEqual({
      ...image,
      l: { L: [{ S: 'x' }, { M: {} }, { M: { k: { M: {} } } }] },
    });
  });
});
