import type { FailureReason, SessionStatus } from '@lcm/shared/kernel';
import { SESSION_STATUSES } from '@lcm/shared/kernel';
import { forceReleaseRefusal, REGRADABLE_REASONS, regradeRefusal } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/** Operator recovery rules (issue 12, items 4 and 5): pure, by status, reason and grading. */

const s = (status: SessionStatus, failureReason?: FailureReason) => ({ id: 's-1', status, failureReason });

describe('forceReleaseRefusal', () => {
  it('applies to every non-terminal TEARDOWN_FAILED session, and to nothing else', () => {
    for (const status of SESSION_STATUSES) {
      const refusal = forceReleaseRefusal(s(status, 'TEARDOWN_FAILED'));
      if (status === 'TERMINATED') expect(refusal).toMatch(/holds nothing to release/);
      else expect(refusal, status).toBeUndefined();
      expect(forceReleaseRefusal(s(status, 'TERMINATED'))).toMatch(/TERMINATED|TEARDOWN_FAILED/);
      expect(forceReleaseRefusal(s(status))).toBeDefined();
    }
  });
});

describe('regradeRefusal', () => {
  const faulted = { status: 'FAULTED' as const, evidenceUri: 's3://b/sessions/s-1/manifest.json' };

  it('GRADING_FAILED or GRADING_TIMEOUT with a FAULTED grading and its evidence: applies', () => {
    expect(REGRADABLE_REASONS).toEqual(['GRADING_FAILED', 'GRADING_TIMEOUT']);
    for (const reason of REGRADABLE_REASONS) {
      expect(regradeRefusal(s('TERMINATED', reason), faulted)).toBeUndefined();
      expect(regradeRefusal(s('STOPPING', reason), faulted)).toBeUndefined();
    }
  });

  it('refused: other reasons, no reason, a grading not FAULTED or missing, no evidence', () => {
    expect(regradeRefusal(s('TERMINATED', 'GRADING_UNAVAILABLE'), faulted)).toMatch(/failed or timed out/);
    expect(regradeRefusal(s('TERMINATED'), faulted)).toMatch(/failed or timed out/);
    for (const status of ['PENDING', 'SUBMITTED', 'COMPLETED'] as const) {
      expect(regradeRefusal(s('TERMINATED', 'GRADING_FAILED'), { ...faulted, status })).toMatch(
        new RegExp(`grading is ${status}`),
      );
    }
    expect(regradeRefusal(s('TERMINATED', 'GRADING_FAILED'), undefined)).toMatch(/grading is missing/);
    expect(regradeRefusal(s('TERMINATED', 'GRADING_TIMEOUT'), { status: 'FAULTED' })).toMatch(/no evidence/);
  });
});
