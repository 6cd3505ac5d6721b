import { marshall } from '@aws-sdk/util-dynamodb';
import {
  changeRecordOf,
  digestOf,
  type Item,
  LCM_EVENT_SOURCE,
  matchesPattern,
  OUTBOUND_EVENT_TYPES,
  OUTBOX_STREAM_FILTER,
  outboxEventsFor,
} from '@lcm/shared/events';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

import { insert, modify, session, T, worker } from './records.ts';

describe('outboxEventsFor: sessions', () => {
  it('INSERT → session.created, from the image, with a deterministic id and the creation time', () => {
    const events = outboxEventsFor(insert(session()));
    expect(events).toEqual([
      {
        specversion: '1.0',
        id: 'sessions/s-1/v1/created',
        source: LCM_EVENT_SOURCE,
        type: OUTBOUND_EVENT_TYPES.sessionCreated,
        time: T,
        subject: 'sessions/s-1',
        datacontenttype: 'application/json',
        data: {
          sessionId: 's-1',
          reservationId: 'r-1',
          definitionId: 'ccna-ospf',
          definitionVersion: 3,
          status: 'PENDING',
          timeslot: { start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
          userId: 'u-1',
          createdAt: T,
        },
      },
    ]);
  });

  it('never publishes internals (task tokens, keys)', () => {
    const text = JSON.stringify([
      ...outboxEventsFor(insert(session())),
      ...outboxEventsFor(modify(session(), session({ status: 'SCHEDULED', version: 2 }))),
    ]);
    expect(text).not.toContain('secret-token');
    expect(text).not.toContain('GSI1PK');
    expect(text).not.toContain('learner@example.com');
  });

  it('MODIFY with a status change → session.status-changed', () => {
    const updatedAt = '2030-01-01T08:05:00.000Z';
    const [event, ...rest] = outboxEventsFor(
      modify(session(), session({ status: 'SCHEDULED', workerId: 'w-1', version: 2, updatedAt })),
    );
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      id: 'sessions/s-1/v2/status-changed',
      type: OUTBOUND_EVENT_TYPES.sessionStatusChanged,
      time: updatedAt,
      subject: 'sessions/s-1',
      data: {
        sessionId: 's-1',
        reservationId: 'r-1',
        from: 'PENDING',
        to: 'SCHEDULED',
        version: 2,
        workerId: 'w-1',
      },
    });
  });

  it('MODIFY → TERMINATED carries the failure and termination reasons', () => {
    const [event] = outboxEventsFor(
      modify(
        session({ status: 'RUNNING', version: 6 }),
        session({
          status: 'TERMINATED',
          version: 7,
          failureReason: 'NO_CAPACITY',
          terminationReason: 'operator',
        }),
      ),
    );
    expect(event?.data).toMatchObject({
      from: 'RUNNING',
      to: 'TERMINATED',
      failureReason: 'NO_CAPACITY',
      terminationReason: 'operator',
    });
  });

  it('MODIFY without a status change → nothing', () => {
    expect(outboxEventsFor(modify(session(), session({ pendingWait: undefined, version: 2 })))).toEqual([]);
  });

  it('MODIFY → READY: status-changed and session.ready, which carries no login URL (least privilege)', () => {
    const events = outboxEventsFor(
      modify(
        session({ status: 'INSTANTIATING', version: 4 }),
        session({ status: 'READY', version: 5, workerId: 'w-1' }),
      ),
    );
    expect(events.map((e) => [e.type, e.id])).toEqual([
      [OUTBOUND_EVENT_TYPES.sessionStatusChanged, 'sessions/s-1/v5/status-changed'],
      [OUTBOUND_EVENT_TYPES.sessionReady, 'sessions/s-1/v5/ready'],
    ]);
    expect(events[1]?.data).toMatchObject({ sessionId: 's-1', workerId: 'w-1' });
    expect(Object.keys(events[1]?.data as object)).not.toContain('loginUrl');
    expect(JSON.stringify(events)).not.toMatch(/login/i);
  });

  it('REMOVE and unrelated entities → nothing', () => {
    expect(outboxEventsFor({ eventName: 'REMOVE', keys: {}, oldImage: session() })).toEqual([]);
    expect(outboxEventsFor(insert({ PK: 'EVENT#a#b', SK: 'EVENT', entity: 'ProcessedEvent' }))).toEqual([]);
    expect(outboxEventsFor(insert({ PK: 'SESSION#s-1', SK: 'HIST#x', entity: 'SessionHistory' }))).toEqual(
      [],
    );
  });
});

describe('outboxEventsFor: scores and drift', () => {
  const score = (over: Item = {}): Item => ({
    PK: 'SESSION#s-1',
    SK: 'SCORE',
    entity: 'ScoreReport',
    sessionId: 's-1',
    score: 42,
    maxScore: 50,
    passed: true,
    sections: [{ name: 'OSPF', score: 42, maxScore: 50, checks: [] }],
    reportedAt: '2030-01-01T11:30:00.000Z',
    ...over,
  });

  it('a new score report → session.scored; the same report again → nothing; a changed one → a new id', () => {
    const [event] = outboxEventsFor(insert(score()));
    expect(event).toMatchObject({
      type: OUTBOUND_EVENT_TYPES.sessionScored,
      time: '2030-01-01T11:30:00.000Z',
      subject: 'sessions/s-1',
      data: { sessionId: 's-1', score: 42, maxScore: 50, passed: true, sections: [{ name: 'OSPF' }] },
    });
    expect(event?.id).toBe(outboxEventsFor(insert(score()))[0]?.id);
    expect(outboxEventsFor(modify(score(), score()))).toEqual([]);
    const [regraded] = outboxEventsFor(modify(score(), score({ score: 45 })));
    expect(regraded?.id).not.toBe(event?.id);
  });

  it('leaves out huge sections (EventBridge takes 256 KiB per event)', () => {
    const sections = Array.from({ length: 400 }, (_, i) => ({
      name: `section-${i}`,
      score: 1,
      maxScore: 1,
      checks: [{ name: 'x'.repeat(200), passed: true }],
    }));
    const [event] = outboxEventsFor(insert(score({ sections })));
    expect(event?.data).toMatchObject({ sectionsOmitted: true });
    expect(event?.data).not.toHaveProperty('sections');
  });

  const observation = (drift: Item | undefined): Item => ({
    PK: 'SESSION#s-1',
    SK: 'OBS#2030-01-01T10:00:00.000Z',
    entity: 'ResourceObservation',
    sessionId: 's-1',
    definitionId: 'ccna-ospf',
    definitionVersion: 3,
    workerId: 'w-1',
    observedAt: '2030-01-01T10:00:00.000Z',
    observer: 'collector',
    ...(drift ? { drift } : {}),
  });

  it('an observation with port drift → session.port-drift-detected; without drift → nothing', () => {
    const drift = {
      added: [],
      removed: [],
      changed: [{ name: 'R1_ssh', allocated: 2001, observed: 2201 }],
      hasDrift: true,
      conflicts: [],
    };
    const [event] = outboxEventsFor(insert(observation(drift)));
    expect(event).toMatchObject({
      id: 'sessions/s-1/obs-2030-01-01T10:00:00.000Z/port-drift-detected',
      type: OUTBOUND_EVENT_TYPES.sessionPortDriftDetected,
      data: { sessionId: 's-1', workerId: 'w-1', drift },
    });
    expect(outboxEventsFor(insert(observation({ ...drift, changed: [], hasDrift: false })))).toEqual([]);
    expect(outboxEventsFor(insert(observation(undefined)))).toEqual([]);
  });
});

describe('outboxEventsFor: workers, definitions, scaling', () => {
  it('worker INSERT and status changes → worker.status-changed; other changes → nothing', () => {
    const [created] = outboxEventsFor(insert(worker()));
    expect(created).toMatchObject({
      id: 'workers/w-1/v1/status-changed',
      type: OUTBOUND_EVENT_TYPES.workerStatusChanged,
      data: { workerId: 'w-1', from: null, to: 'PENDING' },
    });
    const [changed] = outboxEventsFor(
      modify(worker(), worker({ status: 'PROVISIONING', version: 2, ec2InstanceId: 'i-1' })),
    );
    expect(changed).toMatchObject({
      id: 'workers/w-1/v2/status-changed',
      data: { from: 'PENDING', to: 'PROVISIONING', ec2InstanceId: 'i-1' },
    });
    expect(outboxEventsFor(modify(worker(), worker({ version: 2, ipAddress: '10.0.0.1' })))).toEqual([]);
  });

  it('a new definition version → definition.version-created (events/content-events.ts)', () => {
    const item = {
      PK: 'DEF#ccna-ospf',
      SK: 'V#00000003',
      entity: 'LabletDefinitionVersion',
      id: 'ccna-ospf',
      version: 3,
      name: 'CCNA OSPF',
      status: 'ACTIVE',
      createdAt: T,
      createdBy: 'op',
    };
    const events = outboxEventsFor(insert(item));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: OUTBOUND_EVENT_TYPES.definitionVersionCreated,
      source: LCM_EVENT_SOURCE,
      subject: 'definitions/ccna-ospf',
      data: { definitionId: 'ccna-ospf', version: 3 },
    });
    expect(events[0]?.id).toBe('definitions/ccna-ospf/v3/version-created');
    expect(outboxEventsFor(modify(item, { ...item, status: 'DEPRECATED' }))).toEqual([]);
  });

  it('a content sync that failed → definition.sync-failed (events/content-events.ts)', () => {
    const latest = (sync: Item): Item => ({
      PK: 'DEF#ccna-ospf',
      SK: 'LATEST',
      entity: 'LabletDefinition',
      id: 'ccna-ospf',
      version: 3,
      createdAt: T,
      sync,
    });
    const failed = { status: 'FAILED', at: '2030-01-01T08:10:00.000Z', diagnostic: 'bad zip' };
    const [event, ...rest] = outboxEventsFor(modify(latest({ status: 'SYNCING' }), latest(failed)));
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      type: 'io.lablet.lcm.definition.sync-failed.v1',
      source: LCM_EVENT_SOURCE,
      data: { definitionId: 'ccna-ospf', diagnostic: 'bad zip' },
    });
    expect(outboxEventsFor(modify(latest({ status: 'PENDING' }), latest({ status: 'SYNCING' })))).toEqual([]);
  });

  it('scale-up and drain decisions → scaling events; other decisions → nothing', () => {
    const decision = (kind: string): Item => ({
      PK: 'SCALING',
      SK: `DECISION#${T}#d-${kind}`,
      entity: 'ScalingDecision',
      id: `d-${kind}`,
      at: T,
      kind,
      templateName: 'm5-metal',
      workerId: 'w-1',
      reason: 'demand',
      inputs: {},
    });
    expect(outboxEventsFor(insert(decision('SCALE_UP')))[0]).toMatchObject({
      type: OUTBOUND_EVENT_TYPES.scalingScaleUpDecided,
      id: 'scaling/decisions/d-SCALE_UP/v1/scale-up-decided',
      data: { decisionId: 'd-SCALE_UP', kind: 'SCALE_UP', reason: 'demand' },
    });
    expect(outboxEventsFor(insert(decision('START_STOPPED')))[0]?.type).toBe(
      OUTBOUND_EVENT_TYPES.scalingScaleUpDecided,
    );
    expect(outboxEventsFor(insert(decision('DRAIN')))[0]?.type).toBe(
      OUTBOUND_EVENT_TYPES.scalingDrainDecided,
    );
    expect(outboxEventsFor(insert(decision('NONE')))).toEqual([]);
  });
});

describe('stream records', () => {
  const record = (eventName: 'INSERT' | 'MODIFY', newImage: Item, oldImage?: Item): DynamoDBRecord => ({
    eventID: '1',
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: Date.parse(T) / 1000,
      Keys: marshall({ PK: newImage.PK, SK: newImage.SK }) as never,
      NewImage: marshall(newImage, { removeUndefinedValues: true }) as never,
      ...(oldImage ? { OldImage: marshall(oldImage, { removeUndefinedValues: true }) as never } : {}),
      SequenceNumber: '100',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  });

  it('changeRecordOf unmarshalls the images and the creation time', () => {
    const change = changeRecordOf(record('MODIFY', session({ status: 'SCHEDULED' }), session()));
    expect(change).toMatchObject({
      eventName: 'MODIFY',
      keys: { PK: 'SESSION#s-1', SK: 'SESSION' },
      newImage: { status: 'SCHEDULED', owner: { userId: 'u-1' } },
      oldImage: { status: 'PENDING' },
      approximateCreationTime: T,
    });
  });

  it('the stream filter lets through exactly the entities the outbox maps', () => {
    expect(matchesPattern(OUTBOX_STREAM_FILTER, record('INSERT', session()))).toBe(true);
    expect(matchesPattern(OUTBOX_STREAM_FILTER, record('MODIFY', worker(), worker()))).toBe(true);
    expect(
      matchesPattern(
        OUTBOX_STREAM_FILTER,
        record('INSERT', { PK: 'EVENT#a', SK: 'EVENT', entity: 'ProcessedEvent' }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        OUTBOX_STREAM_FILTER,
        record('INSERT', { PK: 'WORKER#w', SK: 'PORT#01', entity: 'PortLease' }),
      ),
    ).toBe(false);
    const removal = { ...record('INSERT', session()), eventName: 'REMOVE' as const };
    expect(matchesPattern(OUTBOX_STREAM_FILTER, removal)).toBe(false);
  });

  it('digestOf ignores key order', () => {
    expect(digestOf({ a: 1, b: { c: 2, d: 3 } })).toBe(digestOf({ b: { d: 3, c: 2 }, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });
});
