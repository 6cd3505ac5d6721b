import { type IdleSession, idleAction, idleFinishAt } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const iso = (minutes: number) => at(minutes).toISOString();
const base: IdleSession = {
  status: 'RUNNING',
  pausedAt: iso(0),
  idlePolicy: { limitMinutes: 20, graceMinutes: 5 },
};

describe('idleAction (issue 15, item 2)', () => {
  it('is off without a policy, outside RUNNING, unpaused, or with a finish/terminate already asked', () => {
    expect(idleAction({ ...base, idlePolicy: undefined }, at(600))).toEqual({ kind: 'none' });
    for (const status of ['READY', 'COLLECTING', 'TERMINATED'] as const)
      expect(idleAction({ ...base, status }, at(600))).toEqual({ kind: 'none' });
    expect(idleAction({ ...base, pausedAt: undefined }, at(600))).toEqual({ kind: 'none' });
    expect(idleAction({ ...base, finishRequestedAt: iso(1) }, at(600))).toEqual({ kind: 'none' });
    expect(idleAction({ ...base, terminationRequestedAt: iso(1) }, at(600))).toEqual({ kind: 'none' });
  });

  it('warns at the limit, not a minute before, and says when it will finish', () => {
    expect(idleAction(base, at(19))).toEqual({ kind: 'none' });
    expect(idleAction(base, at(20))).toEqual({ kind: 'warn', finishAt: iso(25) });
  });

  it('finishes a grace after the warning, not before; a grace of 0 finishes on the next run', () => {
    const warned = { ...base, idleWarnedAt: iso(21) };
    expect(idleAction(warned, at(25))).toEqual({ kind: 'none' });
    expect(idleAction(warned, at(26))).toEqual({ kind: 'finish', pausedAt: iso(0), warnedAt: iso(21) });
    expect(idleFinishAt(warned)).toBe(iso(26));
    const noGrace = { ...base, idlePolicy: { limitMinutes: 20, graceMinutes: 0 }, idleWarnedAt: iso(20) };
    expect(idleAction(noGrace, at(20)).kind).toBe('finish');
  });
});
