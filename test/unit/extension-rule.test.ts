import { ConflictError, ExtensionNotAllowedError } from '@lcm/shared/kernel';
import { planExtension } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/** rules/extension.ts (issue 15, item 1): what an extension may do before the capacity book is asked. */

const NOW = new Date('2030-01-01T10:30:00.000Z');
const running = {
  id: 's-1',
  status: 'RUNNING' as const,
  timeslot: { start: '2030-01-01T10:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
};
const def = { maxDurationMinutes: 120, maxExtensionMinutes: 45 };

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('not refused');
};

describe('planExtension', () => {
  it('moves the end and counts the minutes extended in all', () => {
    const first = planExtension(running, def, 30, NOW);
    expect(first).toEqual({
      timeslot: { start: running.timeslot.start, end: '2030-01-01T11:30:00.000Z' },
      extendedMinutes: 30,
      lengthMinutes: 90,
    });
    const second = planExtension({ ...running, ...first }, def, 15, NOW);
    expect(second.timeslot.end).toBe('2030-01-01T11:45:00.000Z');
    expect(second.extendedMinutes).toBe(45);
  });

  it('extensions off (maxExtensionMinutes 0, the default): extension-not-allowed', () => {
    const e = refusal(() =>
      planExtension(running, { maxDurationMinutes: 120, maxExtensionMinutes: 0 }, 5, NOW),
    );
    expect(e).toBeInstanceOf(ExtensionNotAllowedError);
    expect((e as ExtensionNotAllowedError).details).toMatchObject({ limit: 'maxExtensionMinutes' });
  });

  it('past maxExtensionMinutes in all, or past maxDurationMinutes: extension-not-allowed naming the limit', () => {
    const over = refusal(() => planExtension({ ...running, extendedMinutes: 30 }, def, 20, NOW));
    expect((over as ExtensionNotAllowedError).details).toMatchObject({
      limit: 'maxExtensionMinutes',
      extendedMinutes: 30,
    });
    const long = refusal(() =>
      planExtension(running, { maxDurationMinutes: 80, maxExtensionMinutes: 60 }, 30, NOW),
    );
    expect(long).toBeInstanceOf(ExtensionNotAllowedError);
    expect((long as ExtensionNotAllowedError).details).toMatchObject({
      limit: 'maxDurationMinutes',
      lengthMinutes: 90,
    });
  });

  it('only READY or RUNNING, not being finished or terminated, before the end: else a 409 naming the status', () => {
    const collecting = refusal(() => planExtension({ ...running, status: 'COLLECTING' }, def, 5, NOW));
    expect(collecting).toBeInstanceOf(ConflictError);
    expect((collecting as ConflictError).details).toMatchObject({ status: 'COLLECTING' });
    expect((collecting as Error).message).toMatch(/COLLECTING/);
    expect(planExtension({ ...running, status: 'READY' }, def, 5, NOW).extendedMinutes).toBe(5);
    expect(
      refusal(() => planExtension({ ...running, finishRequestedAt: NOW.toISOString() }, def, 5, NOW)),
    ).toBeInstanceOf(ConflictError);
    expect(
      refusal(() => planExtension(running, def, 5, new Date('2030-01-01T11:00:00.000Z'))),
    ).toBeInstanceOf(ConflictError);
  });
});
