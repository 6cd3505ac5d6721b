import { marshall } from '@aws-sdk/util-dynamodb';
import {
  CONTENT_SYNC_FILTER,
  DEFINITION_SYNC_FAILED_EVENT_TYPE,
  definitionSyncEvents,
  matchesAnyPattern,
  OBSERVATION_REQUEST_FILTER,
  TRIGGERS_CONSUMER,
  triggeredTask,
  validatePattern,
} from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';

/** Which stream records start which task, and the sync-failed CloudEvent. */

const latest = (sync?: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  PK: 'DEF#lab',
  SK: 'LATEST',
  entity: 'LabletDefinition',
  id: 'lab',
  version: 3,
  contentUri: 's3://lcm-content/lab.zip',
  createdAt: '2030-01-01T08:00:00.000Z',
  ...(sync ? { sync } : {}),
  ...over,
});
const session = (observationRequest?: Record<string, unknown>) => ({
  PK: 'SESSION#s-1',
  SK: 'SESSION',
  entity: 'LabletSession',
  id: 's-1',
  status: 'RUNNING',
  ...(observationRequest ? { observationRequest } : {}),
});

/** A Lambda DynamoDB stream record (what the filter criteria are evaluated on). */
const streamRecord = (eventName: string, newImage?: object, oldImage?: object) => ({
  eventName,
  dynamodb: {
    ...(newImage ? { NewImage: marshall(newImage, { removeUndefinedValues: true }) } : {}),
    ...(oldImage ? { OldImage: marshall(oldImage, { removeUndefinedValues: true }) } : {}),
  },
});

describe('the triggers consumer', () => {
  it('has valid Lambda filter patterns', () => {
    for (const f of TRIGGERS_CONSUMER.filters) expect(validatePattern(f)).toEqual([]);
    expect(TRIGGERS_CONSUMER.filters).toEqual([CONTENT_SYNC_FILTER, OBSERVATION_REQUEST_FILTER]);
    expect(TRIGGERS_CONSUMER.module).toBe('functions/streams/triggers.ts');
  });

  const pending = { status: 'PENDING', at: '2030-01-01T08:00:00.000Z' };
  const request = { status: 'PENDING', requestedBy: 'admin-user', requestedAt: '2030-01-01T08:00:00.000Z' };
  it.each([
    [
      'a definition created with a contentUri (INSERT, sync PENDING)',
      streamRecord('INSERT', latest(pending)),
      true,
    ],
    ['a sync requested (MODIFY, sync PENDING)', streamRecord('MODIFY', latest(pending)), true],
    ['a sync claimed (SYNCING)', streamRecord('MODIFY', latest({ ...pending, status: 'SYNCING' })), false],
    [
      'a sync finished (SUCCEEDED)',
      streamRecord('MODIFY', latest({ ...pending, status: 'SUCCEEDED' })),
      false,
    ],
    ['a definition without sync', streamRecord('MODIFY', latest()), false],
    [
      'a version item with sync PENDING (only LATEST triggers)',
      streamRecord('INSERT', latest(pending, { SK: 'V#00000003', entity: 'LabletDefinitionVersion' })),
      false,
    ],
    ['an observation request (MODIFY)', streamRecord('MODIFY', session(request)), true],
    [
      'a failed observation request',
      streamRecord('MODIFY', session({ ...request, status: 'FAILED' })),
      false,
    ],
    ['a session without request', streamRecord('MODIFY', session()), false],
    ['a removed definition', streamRecord('REMOVE', undefined, latest(pending)), false],
  ])('%s → %s', (_name, record, delivered) => {
    expect(matchesAnyPattern(TRIGGERS_CONSUMER.filters, record)).toBe(delivered);
  });

  it('maps delivered records to their task', () => {
    const pendingSync = { status: 'PENDING', at: 'x' };
    expect(triggeredTask({ eventName: 'INSERT', keys: {}, newImage: latest(pendingSync) })).toEqual({
      kind: 'content-sync',
      definitionId: 'lab',
    });
    expect(
      triggeredTask({
        eventName: 'MODIFY',
        keys: {},
        newImage: session({ status: 'PENDING', requestedBy: 'u' }),
      }),
    ).toEqual({ kind: 'observe', sessionId: 's-1' });
    expect(
      triggeredTask({ eventName: 'MODIFY', keys: {}, newImage: latest({ status: 'FAILED' }) }),
    ).toBeUndefined();
    expect(triggeredTask({ eventName: 'REMOVE', keys: {}, oldImage: latest(pendingSync) })).toBeUndefined();
  });
});

describe('definitionSyncEvents (sync-failed CloudEvent)', () => {
  const failed = {
    status: 'FAILED',
    at: '2030-01-01T08:05:00.000Z',
    contentHash: 'sha256:abc',
    diagnostic: 'INVALID_TOPOLOGY cml.yaml: link l0: n2 references unknown node n9',
  };

  it('is emitted when the LATEST item’s sync becomes FAILED', () => {
    const events = definitionSyncEvents({
      eventName: 'MODIFY',
      oldImage: latest({ status: 'SYNCING', at: '2030-01-01T08:04:00.000Z' }),
      newImage: latest(failed),
    });
    expect(events).toEqual([
      {
        specversion: '1.0',
        id: 'definitions/lab/sync-2030-01-01T08:05:00.000Z/sync-failed',
        source: 'lcm.control-plane',
        type: DEFINITION_SYNC_FAILED_EVENT_TYPE,
        time: '2030-01-01T08:05:00.000Z',
        subject: 'definitions/lab',
        datacontenttype: 'application/json',
        data: {
          definitionId: 'lab',
          version: 3,
          contentUri: 's3://lcm-content/lab.zip',
          contentHash: 'sha256:abc',
          diagnostic: failed.diagnostic,
          at: failed.at,
        },
      },
    ]);
    expect(DEFINITION_SYNC_FAILED_EVENT_TYPE).toBe('io.lablet.lcm.definition.sync-failed.v1');
  });

  it('is not emitted again when the same failure is copied onto a new LATEST, nor for other changes', () => {
    expect(
      definitionSyncEvents({
        eventName: 'MODIFY',
        oldImage: latest(failed),
        newImage: latest(failed, { version: 4 }),
      }),
    ).toEqual([]);
    expect(
      definitionSyncEvents({
        eventName: 'MODIFY',
        oldImage: latest(failed),
        newImage: latest({ status: 'PENDING' }),
      }),
    ).toEqual([]);
    expect(
      definitionSyncEvents({
        eventName: 'INSERT',
        newImage: latest(failed, { SK: 'V#00000003', entity: 'LabletDefinitionVersion' }),
      }),
    ).toEqual([]);
    expect(definitionSyncEvents({ eventName: 'REMOVE', oldImage: latest(failed) })).toEqual([]);
  });

  it('a new failure after an earlier one is a new event', () => {
    const again = { ...failed, at: '2030-01-02T08:00:00.000Z' };
    const [event] = definitionSyncEvents({
      eventName: 'MODIFY',
      oldImage: latest(failed),
      newImage: latest(again),
    });
    expect(event?.id).toBe('definitions/lab/sync-2030-01-02T08:00:00.000Z/sync-failed');
  });
});
