import { DEFAULT_LIFECYCLE_CONFIG, loginDeadlineMs } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/** Issue 10: a no-show's capacity is released at the login deadline, not at the timeslot end. */

const slot = { start: '2026-01-05T10:00:00.000Z', end: '2026-01-05T12:00:00.000Z' };

describe('loginDeadlineMs', () => {
  it('noShowAfterSeconds after the start (default 30 min)', () => {
    expect(DEFAULT_LIFECYCLE_CONFIG.noShowAfterSeconds).toBe(1800);
    expect(loginDeadlineMs(slot, DEFAULT_LIFECYCLE_CONFIG)).toBe(Date.parse('2026-01-05T10:30:00.000Z'));
  });

  it('never after the timeslot end; 0 waits until the end', () => {
    expect(loginDeadlineMs(slot, { noShowAfterSeconds: 3 * 3600 })).toBe(Date.parse(slot.end));
    expect(loginDeadlineMs(slot, { noShowAfterSeconds: 0 })).toBe(Date.parse(slot.end));
    // An extension moves the end, not the deadline.
    expect(loginDeadlineMs({ ...slot, end: '2026-01-05T13:00:00.000Z' }, { noShowAfterSeconds: 600 })).toBe(
      Date.parse('2026-01-05T10:10:00.000Z'),
    );
  });
});
