import { OUTBOUND_EVENT_TYPES, outboxEventsFor } from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';
import { modify, session } from './records.ts';

/** session.teardown-failed (issue 12, item 4): once, when failureReason becomes TEARDOWN_FAILED. */

const FAILURE = {
  at: '2030-01-01T11:31:00.000Z',
  previousReason: 'TERMINATED',
  step: 'DeleteLab',
  error: 'IntegrationError: CML DELETE /labs/lab-1: HTTP 500',
  workerId: 'w-1',
  cmlLabId: 'lab-1',
  capacityHeld: { cpuCores: 2, memoryGb: 4, storageGb: 10, maxNodes: 2 },
  portsHeld: [5000, 5001],
};

describe('outboxEventsFor: session.teardown-failed', () => {
  const stopping = session({ status: 'STOPPING', workerId: 'w-1', cmlLabId: 'lab-1', version: 7 });
  const failed = session({
    status: 'STOPPING',
    workerId: 'w-1',
    cmlLabId: 'lab-1',
    version: 8,
    failureReason: 'TEARDOWN_FAILED',
    teardownFailure: FAILURE,
  });

  it('failureReason → TEARDOWN_FAILED without a status change: one event with what was left', () => {
    const events = outboxEventsFor(modify(stopping, failed));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'sessions/s-1/v8/teardown-failed',
      type: OUTBOUND_EVENT_TYPES.sessionTeardownFailed,
      time: FAILURE.at,
      subject: 'sessions/s-1',
      data: {
        sessionId: 's-1',
        status: 'STOPPING',
        workerId: 'w-1',
        cmlLabId: 'lab-1',
        previousReason: 'TERMINATED',
        step: 'DeleteLab',
        error: FAILURE.error,
        capacityHeld: FAILURE.capacityHeld,
        portsHeld: [5000, 5001],
      },
    });
  });

  it('not again on later changes (force-release to TERMINATED: only the status change)', () => {
    const released = session({ ...failed, status: 'TERMINATED', version: 9 });
    const events = outboxEventsFor(modify(failed, released));
    expect(events.map((e) => e.type)).toEqual([OUTBOUND_EVENT_TYPES.sessionStatusChanged]);
    expect(events[0]?.data).toMatchObject({
      from: 'STOPPING',
      to: 'TERMINATED',
      failureReason: 'TEARDOWN_FAILED',
    });
  });

  it('with a status change in the same write: both events', () => {
    const both = session({ ...failed, status: 'STOPPED', version: 8 });
    expect(outboxEventsFor(modify(stopping, both)).map((e) => e.type)).toEqual([
      OUTBOUND_EVENT_TYPES.sessionStatusChanged,
      OUTBOUND_EVENT_TYPES.sessionTeardownFailed,
    ]);
  });
});
