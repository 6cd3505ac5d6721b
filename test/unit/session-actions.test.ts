import { SESSION_STATUSES, type SessionStatus } from '@lcm/shared/kernel';
import { type FinishDecision, finishDecision, terminateDecision } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/**
 * The terminate and finish decisions for every session status (sessions/rules/actions.ts),
 * written out here as the oracle.
 */

const TERMINATE: Record<SessionStatus, 'terminated' | 'requested' | 'noop'> = {
  PENDING: 'terminated', // not placed: nothing to tear down
  SCHEDULED: 'requested',
  INSTANTIATING: 'requested',
  READY: 'requested',
  RUNNING: 'requested',
  COLLECTING: 'requested',
  GRADING: 'requested',
  STOPPING: 'requested',
  STOPPED: 'requested',
  ARCHIVED: 'requested',
  TERMINATED: 'noop',
};

const FINISH: Record<SessionStatus, FinishDecision> = {
  PENDING: 'not-ready',
  SCHEDULED: 'not-ready',
  INSTANTIATING: 'not-ready',
  READY: 'requested',
  RUNNING: 'requested',
  COLLECTING: 'noop',
  GRADING: 'noop',
  STOPPING: 'noop',
  STOPPED: 'noop',
  ARCHIVED: 'noop',
  TERMINATED: 'noop',
};

describe('terminateDecision', () => {
  it.each(SESSION_STATUSES.map((s) => [s, TERMINATE[s]] as const))('%s → %s', (status, expected) => {
    expect(terminateDecision({ status })).toBe(expected);
  });

  it('a PENDING session that already has a worker is torn down by its workflow', () => {
    expect(terminateDecision({ status: 'PENDING', workerId: 'w-1' })).toBe('requested');
  });
});

describe('finishDecision', () => {
  it.each(SESSION_STATUSES.map((s) => [s, FINISH[s]] as const))('%s → %s', (status, expected) => {
    expect(finishDecision({ status })).toBe(expected);
  });

  it('is a no-op while a termination is under way', () => {
    for (const status of ['READY', 'RUNNING'] as const) {
      expect(finishDecision({ status, terminationRequestedAt: '2030-03-02T09:00:00.000Z' })).toBe('noop');
    }
  });

  it('is still too early before READY, even when terminating', () => {
    expect(finishDecision({ status: 'SCHEDULED', terminationRequestedAt: '2030-03-02T09:00:00.000Z' })).toBe(
      'not-ready',
    );
  });
});
