import { marshall } from '@aws-sdk/util-dynamodb';
import { type ChangeRecord, type Item, metricsFor, outboxRecordHandler } from '@lcm/shared/events';
import {
  BUSINESS_METRICS,
  discardMetrics,
  METRIC_NAMESPACE,
  publishMetrics,
  recordMetrics,
} from '@lcm/shared/platform';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { captureEmf, type EmfPoint, metricsStageForTests } from '../../support/emf.ts';
import { insert, modify, session, T, worker } from './records.ts';

/** The EMF a change's metrics publish to, as the outbox consumer prints them. */
async function emfOf(...changes: ChangeRecord[]): Promise<EmfPoint[]> {
  return captureEmf(() => {
    for (const c of changes) recordMetrics(metricsFor(c));
    publishMetrics();
  });
}

/** name → [values, dimensions] for assertions that read like the alarm queries. */
const byName = (points: EmfPoint[]) => Object.fromEntries(points.map((p) => [p.name, p]));

describe('business metrics of table changes (events/outbox-metrics.ts), published as EMF', () => {
  metricsStageForTests('test');

  it('a booking: SessionsBooked by definition, in the LCM namespace with service and stage', async () => {
    const points = await emfOf(insert(session()));
    expect(points).toEqual([
      {
        namespace: METRIC_NAMESPACE,
        name: 'SessionsBooked',
        unit: 'Count',
        values: [1],
        dimensions: { service: 'lcm', stage: 'test', definition: 'ccna-ospf' },
      },
    ]);
  });

  it('READY on time: SessionsReady and SessionReadyLate 0, no lateness', async () => {
    const before = session({ status: 'INSTANTIATING', version: 4 });
    const ready = session({ status: 'READY', version: 5, updatedAt: '2030-01-01T08:59:00.000Z' });
    const m = byName(await emfOf(modify(before, ready)));
    expect(Object.keys(m).sort()).toEqual(['SessionReadyLate', 'SessionsReady']);
    expect(m.SessionsReady).toMatchObject({ values: [1], dimensions: { service: 'lcm', stage: 'test' } });
    expect(m.SessionReadyLate).toMatchObject({ unit: 'None', values: [0] });
  });

  it('READY late: SessionReadyLate 1 and SessionLatenessSeconds from the timeslot start', async () => {
    const before = session({ status: 'INSTANTIATING', version: 4 });
    const ready = session({ status: 'READY', version: 5, updatedAt: '2030-01-01T09:02:30.000Z' });
    const m = byName(await emfOf(modify(before, ready)));
    expect(m.SessionReadyLate?.values).toEqual([1]);
    expect(m.SessionLatenessSeconds).toMatchObject({
      unit: 'Seconds',
      values: [150],
      dimensions: { service: 'lcm', stage: 'test' },
    });
  });

  it('TERMINATED: by reason; NO_CAPACITY also SessionsNoCapacity; a grading failure a grading outcome', async () => {
    const stopping = session({ status: 'STOPPING', version: 8 });
    const completed = modify(stopping, session({ status: 'TERMINATED', version: 9 }));
    const noCapacity = modify(
      session({ status: 'PENDING', version: 2, failureReason: 'NO_CAPACITY' }),
      session({ status: 'TERMINATED', version: 3, failureReason: 'NO_CAPACITY' }),
    );
    const gradingTimeout = modify(
      session({ status: 'STOPPING', failureReason: 'GRADING_TIMEOUT' }),
      session({ status: 'TERMINATED', failureReason: 'GRADING_TIMEOUT', version: 2 }),
    );
    const points = await emfOf(completed, noCapacity, gradingTimeout);
    const terminated = points.filter((p) => p.name === 'SessionsTerminated');
    expect(terminated.map((p) => [p.dimensions.reason, p.values])).toEqual([
      ['COMPLETED', [1]],
      ['NO_CAPACITY', [1]],
      ['GRADING_TIMEOUT', [1]],
    ]);
    expect(points.find((p) => p.name === 'SessionsNoCapacity')).toMatchObject({
      values: [1],
      dimensions: { service: 'lcm', stage: 'test' },
    });
    expect(points.find((p) => p.name === 'GradingOutcomes')).toMatchObject({
      values: [1],
      dimensions: { reason: 'GRADING_TIMEOUT' },
    });
  });

  it('a change that does not change the status counts nothing', async () => {
    const a = session({ status: 'RUNNING', version: 6 });
    expect(metricsFor(modify(a, { ...a, version: 7, pausedAt: T }))).toEqual([]);
    expect(await emfOf(modify(a, { ...a, version: 7 }))).toEqual([]);
  });

  it('a score report: GradingOutcomes PASSED or FAILED, once per report', async () => {
    const score = (over: Item): Item => ({
      PK: 'SESSION#s-1',
      SK: 'SCORE',
      entity: 'ScoreReport',
      sessionId: 's-1',
      score: 8,
      maxScore: 10,
      passed: true,
      sections: [],
      reportedAt: T,
      ...over,
    });
    const points = await emfOf(insert(score({})), insert(score({ passed: false, score: 2 })));
    expect(points.map((p) => [p.name, p.dimensions.reason, p.values])).toEqual([
      ['GradingOutcomes', 'PASSED', [1]],
      ['GradingOutcomes', 'FAILED', [1]],
    ]);
    expect(metricsFor(modify(score({}), score({ version: 2 })))).toEqual([]);
  });

  it('a worker: launch, boot seconds from the launch in its history, drain — by template', async () => {
    const launch = { from: 'PENDING', to: 'PROVISIONING', at: '2030-01-01T08:00:00.000Z', by: 'fleet' };
    const starting = { from: 'PROVISIONING', to: 'STARTING', at: '2030-01-01T08:03:00.000Z', by: 'fleet' };
    const running = { from: 'STARTING', to: 'RUNNING', at: '2030-01-01T08:12:00.000Z', by: 'fleet' };
    const points = await emfOf(
      modify(worker(), worker({ status: 'PROVISIONING', version: 2, stateHistory: [launch] })),
      modify(
        worker({ status: 'STARTING', version: 3, stateHistory: [launch, starting] }),
        worker({
          status: 'RUNNING',
          version: 4,
          updatedAt: running.at,
          stateHistory: [launch, starting, running],
        }),
      ),
      modify(worker({ status: 'RUNNING', version: 5 }), worker({ status: 'DRAINING', version: 6 })),
    );
    const m = byName(points);
    expect(m.WorkerLaunches).toMatchObject({
      values: [1],
      dimensions: { service: 'lcm', stage: 'test', template: 'm5-metal' },
    });
    expect(m.WorkerBootSeconds).toMatchObject({
      unit: 'Seconds',
      values: [720],
      dimensions: { template: 'm5-metal' },
    });
    expect(m.WorkerDrains).toMatchObject({ values: [1], dimensions: { service: 'lcm', stage: 'test' } });
  });

  it('a restart is a launch too; a worker failing while booting is a failed launch and a FAILED worker', async () => {
    const start = modify(worker({ status: 'STOPPED' }), worker({ status: 'STARTING', version: 2 }));
    const failed = modify(worker({ status: 'PROVISIONING' }), worker({ status: 'FAILED', version: 2 }));
    const failedRunning = modify(
      worker({ status: 'RUNNING', templateName: 'c5-metal' }),
      worker({ status: 'FAILED', templateName: 'c5-metal', version: 2 }),
    );
    const points = await emfOf(start, failed, failedRunning);
    const summary = points.map((p) => [p.name, p.dimensions.template, p.values]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['WorkerLaunches', 'm5-metal', [1]],
        ['WorkerLaunchesFailed', 'm5-metal', [1]],
      ]),
    );
    const failedWorkers = points.filter((p) => p.name === 'WorkersFailed');
    expect(failedWorkers.map((p) => [p.dimensions.template, p.values]).sort()).toEqual([
      ['c5-metal', [1]],
      ['m5-metal', [1]],
    ]);
    expect(points.filter((p) => p.name === 'WorkerLaunchesFailed')).toHaveLength(1);
  });

  it('every point carries exactly stage, service and the metric’s declared dimensions', async () => {
    const points = await emfOf(
      insert(session()),
      modify(
        session({ status: 'INSTANTIATING' }),
        session({ status: 'READY', updatedAt: '2030-01-01T09:00:01.000Z' }),
      ),
      modify(worker({ status: 'PENDING' }), worker({ status: 'FAILED' })),
    );
    expect(points.length).toBeGreaterThan(3);
    for (const p of points) {
      const declared = Object.values(BUSINESS_METRICS).find((m) => m.name === p.name);
      expect(declared, p.name).toBeDefined();
      expect(Object.keys(p.dimensions).sort(), p.name).toEqual(
        ['service', 'stage', ...declared!.dimensions].sort(),
      );
    }
  });
});

describe('the outbox record handler records a change’s metrics only once its events are published', () => {
  const record = (change: ChangeRecord, seq: string): DynamoDBRecord => ({
    eventName: change.eventName,
    dynamodb: {
      SequenceNumber: seq,
      ApproximateCreationDateTime: Date.parse('2030-01-01T08:00:00.000Z') / 1000,
      Keys: marshall(change.keys) as never,
      NewImage: marshall(change.newImage!, { removeUndefinedValues: true }) as never,
      ...(change.oldImage
        ? { OldImage: marshall(change.oldImage, { removeUndefinedValues: true }) as never }
        : {}),
    },
  });

  beforeEach(() => discardMetrics());

  it('a published booking counts, with its outbox lag; a failed publish counts nothing', async () => {
    let fail = false;
    const handle = outboxRecordHandler({
      publisher: {
        publish: async () => {
          if (fail) throw new Error('bus down');
        },
      },
      clock: () => new Date('2030-01-01T08:00:02.500Z'),
    });
    await handle(record(insert(session()), '1'));
    fail = true;
    await expect(handle(record(insert(session({ id: 's-2', PK: 'SESSION#s-2' })), '2'))).rejects.toThrow(
      'bus down',
    );
    const points = await captureEmf(() => publishMetrics());
    const m = byName(points);
    expect(m.SessionsBooked?.values).toEqual([1]);
    expect(m.OutboxLagSeconds).toMatchObject({ unit: 'Seconds', values: [2.5] });
  });
});
