import { OUTBOUND_EVENT_TYPES, outboxEventsFor } from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';
import { modify, session } from './records.ts';

/** session.extended (issue 15, item 1): once per move of the timeslot end, with the end before and after. */

describe('outboxEventsFor: session.extended', () => {
  const running = session({ status: 'RUNNING', workerId: 'w-1', version: 7 });
  const extended = session({
    status: 'RUNNING',
    workerId: 'w-1',
    version: 8,
    timeslot: { start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T11:30:00.000Z' },
    extendedMinutes: 30,
    updatedAt: '2030-01-01T10:50:00.000Z',
  });

  it('timeslot.end moved without a status change: one event naming the previous and the new end', () => {
    const events = outboxEventsFor(modify(running, extended));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'sessions/s-1/v8/extended',
      type: OUTBOUND_EVENT_TYPES.sessionExtended,
      time: '2030-01-01T10:50:00.000Z',
      subject: 'sessions/s-1',
      data: {
        sessionId: 's-1',
        reservationId: 'r-1',
        userId: 'u-1',
        status: 'RUNNING',
        previousEnd: '2030-01-01T11:00:00.000Z',
        end: '2030-01-01T11:30:00.000Z',
        extendedMinutes: 30,
      },
    });
    expect(events[0]?.type).toBe('io.lablet.lcm.session.extended.v1');
  });

  it('not on a change that leaves the end where it was (the next status change: only that)', () => {
    const collecting = session({ ...extended, status: 'COLLECTING', version: 9 });
    const events = outboxEventsFor(modify(extended, collecting));
    expect(events.map((e) => e.type)).toEqual([OUTBOUND_EVENT_TYPES.sessionStatusChanged]);
  });
});
