import {
  ACTIVE_SESSION_STATUSES,
  assertSessionTransition,
  assertWorkerTransition,
  BILLABLE_WORKER_STATUSES,
  BOOTING_WORKER_STATUSES,
  canTransitionSession,
  canTransitionWorker,
  DRAINING_WORKER_STATUSES,
  GRADING_SESSION_STATUSES,
  INSTANCE_WORKER_STATUSES,
  InvalidTransitionError,
  isTerminalSession,
  isTerminalWorker,
  LEARNER_SESSION_STATUSES,
  LIVE_WORKER_STATUSES,
  NON_TERMINAL_SESSION_STATUSES,
  OBSERVABLE_SESSION_STATUSES,
  PRE_READY_SESSION_STATUSES,
  RETIRING_WORKER_STATUSES,
  SERVING_WORKER_STATUSES,
  SESSION_STATUSES,
  SESSION_TRANSITIONS,
  type SessionStatus,
  sessionTransition,
  TERMINAL_SESSION_STATUSES,
  TERMINAL_WORKER_STATUSES,
  WORKER_STATUSES,
  WORKER_TRANSITIONS,
  type WorkerStatus,
  workerTransition,
} from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

/**
 * The lifecycles of DESIGN §4, written out edge by edge independently of the tables in code,
 * then checked against every (from, to) pair, allowed and forbidden.
 */
const WORKER_LIVE: WorkerStatus[] = [
  'PENDING',
  'PROVISIONING',
  'STARTING',
  'RUNNING',
  'DRAINING',
  'STOPPING',
  'STOPPED',
];
const WORKER_EDGES = new Set<string>([
  'PENDING>PROVISIONING',
  'PROVISIONING>STARTING',
  'STARTING>RUNNING',
  'RUNNING>DRAINING',
  'DRAINING>RUNNING',
  'DRAINING>STOPPING',
  'STOPPING>STOPPED',
  'STOPPED>STARTING',
  // SHUTTING_DOWN → TERMINATED from any live status (and from FAILED, to clean up the instance)
  ...WORKER_LIVE.map((s) => `${s}>SHUTTING_DOWN`),
  'FAILED>SHUTTING_DOWN',
  'SHUTTING_DOWN>TERMINATED',
  // FAILED from any status with work in flight
  ...(['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING', 'DRAINING', 'STOPPING'] as const).map(
    (s) => `${s}>FAILED`,
  ),
]);

const SESSION_PATH: SessionStatus[] = [
  'PENDING',
  'SCHEDULED',
  'INSTANTIATING',
  'READY',
  'RUNNING',
  'COLLECTING',
  'GRADING',
  'STOPPING',
  'STOPPED',
  'ARCHIVED',
  'TERMINATED',
];
const SESSION_EDGES = new Set<string>([
  ...SESSION_PATH.slice(0, -1).map((s, i) => `${s}>${SESSION_PATH[i + 1]}`),
  'RUNNING>STOPPING', // nothing to grade
  'COLLECTING>STOPPING',
  ...SESSION_PATH.slice(0, -2).map((s) => `${s}>TERMINATED`), // teardown from any non-terminal status
]);

const pairs = <S extends string>(statuses: readonly S[]) =>
  statuses.flatMap((from) => statuses.map((to) => [from, to] as const));

describe('worker transitions', () => {
  it.each(pairs(WORKER_STATUSES))('%s → %s matches the design', (from, to) => {
    const allowed = WORKER_EDGES.has(`${from}>${to}`);
    expect(canTransitionWorker(from, to)).toBe(allowed);
    expect(WORKER_TRANSITIONS[from].includes(to)).toBe(allowed);
    if (allowed) {
      expect(() => assertWorkerTransition(from, to)).not.toThrow();
      expect(workerTransition(from, to, 'scaler', '2025-06-01T00:00:00Z')).toEqual({
        from,
        to,
        by: 'scaler',
        at: '2025-06-01T00:00:00Z',
      });
    } else {
      const err = (() => {
        try {
          workerTransition(from, to, 'scaler', '2025-06-01T00:00:00Z');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidTransitionError);
      expect(err).toMatchObject({ code: 'INVALID_TRANSITION', entity: 'Worker', from, to });
    }
  });

  it('has no edge the design does not list', () => {
    const inCode = Object.entries(WORKER_TRANSITIONS).flatMap(([from, tos]) =>
      tos.map((to) => `${from}>${to}`),
    );
    expect(new Set(inCode)).toEqual(WORKER_EDGES);
  });
});

describe('session transitions', () => {
  it.each(pairs(SESSION_STATUSES))('%s → %s matches the design', (from, to) => {
    const allowed = SESSION_EDGES.has(`${from}>${to}`);
    expect(canTransitionSession(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => assertSessionTransition(from, to)).not.toThrow();
    } else {
      expect(() => assertSessionTransition(from, to)).toThrow(InvalidTransitionError);
      expect(() => sessionTransition(from, to, 'workflow', '2025-06-01T00:00:00Z')).toThrow(
        expect.objectContaining({ entity: 'LabletSession', from, to, code: 'INVALID_TRANSITION' }),
      );
    }
  });

  it('has no edge the design does not list', () => {
    const inCode = Object.entries(SESSION_TRANSITIONS).flatMap(([from, tos]) =>
      tos.map((to) => `${from}>${to}`),
    );
    expect(new Set(inCode)).toEqual(SESSION_EDGES);
  });

  it('records a reason only when one is given', () => {
    expect(sessionTransition('RUNNING', 'STOPPING', 'api', '2025-06-01T00:00:00Z', 'no grading')).toEqual({
      from: 'RUNNING',
      to: 'STOPPING',
      by: 'api',
      at: '2025-06-01T00:00:00Z',
      reason: 'no grading',
    });
    expect(sessionTransition('PENDING', 'SCHEDULED', 'api', '2025-06-01T00:00:00Z')).not.toHaveProperty(
      'reason',
    );
  });

  it('has TERMINATED as its only terminal status, reachable from every other', () => {
    expect(SESSION_STATUSES.filter(isTerminalSession)).toEqual(['TERMINATED']);
    for (const s of SESSION_STATUSES.filter((x) => x !== 'TERMINATED')) {
      expect(canTransitionSession(s, 'TERMINATED')).toBe(true);
    }
  });
});

/**
 * The named status groups, spelled out here as oracles (DESIGN §4), plus what each must mean in
 * terms of the transition tables.
 */
describe('session status groups', () => {
  it.each([
    ['TERMINAL_SESSION_STATUSES', TERMINAL_SESSION_STATUSES, ['TERMINATED']],
    ['NON_TERMINAL_SESSION_STATUSES', NON_TERMINAL_SESSION_STATUSES, SESSION_PATH.slice(0, -1)],
    [
      'ACTIVE_SESSION_STATUSES',
      ACTIVE_SESSION_STATUSES,
      ['SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING', 'COLLECTING', 'GRADING', 'STOPPING'],
    ],
    ['PRE_READY_SESSION_STATUSES', PRE_READY_SESSION_STATUSES, ['PENDING', 'SCHEDULED', 'INSTANTIATING']],
    ['LEARNER_SESSION_STATUSES', LEARNER_SESSION_STATUSES, ['READY', 'RUNNING']],
    ['OBSERVABLE_SESSION_STATUSES', OBSERVABLE_SESSION_STATUSES, ['RUNNING', 'COLLECTING']],
    ['GRADING_SESSION_STATUSES', GRADING_SESSION_STATUSES, ['COLLECTING', 'GRADING']],
  ] as const)('%s', (_name, group, expected) => {
    expect(group).toEqual(expected);
  });

  it('partitions the statuses into terminal and non-terminal, by the transition table', () => {
    expect([...NON_TERMINAL_SESSION_STATUSES, ...TERMINAL_SESSION_STATUSES]).toEqual(SESSION_STATUSES);
    for (const s of TERMINAL_SESSION_STATUSES) expect(SESSION_TRANSITIONS[s]).toEqual([]);
  });

  it('active statuses run from placement (PENDING → SCHEDULED) to the last before release (→ STOPPED)', () => {
    const path = ACTIVE_SESSION_STATUSES;
    expect(canTransitionSession('PENDING', path[0]!)).toBe(true);
    expect(canTransitionSession(path[path.length - 1]!, 'STOPPED')).toBe(true);
    for (let i = 1; i < path.length; i++) expect(canTransitionSession(path[i - 1]!, path[i]!)).toBe(true);
  });

  it('pre-ready then learner statuses are the start of the path, in order, without overlap', () => {
    expect([...PRE_READY_SESSION_STATUSES, ...LEARNER_SESSION_STATUSES]).toEqual(SESSION_PATH.slice(0, 5));
  });
});

describe('worker status groups', () => {
  it.each([
    ['TERMINAL_WORKER_STATUSES', TERMINAL_WORKER_STATUSES, ['TERMINATED']],
    ['BOOTING_WORKER_STATUSES', BOOTING_WORKER_STATUSES, ['PENDING', 'PROVISIONING', 'STARTING']],
    ['SERVING_WORKER_STATUSES', SERVING_WORKER_STATUSES, ['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING']],
    ['LIVE_WORKER_STATUSES', LIVE_WORKER_STATUSES, ['RUNNING', 'DRAINING']],
    ['DRAINING_WORKER_STATUSES', DRAINING_WORKER_STATUSES, ['DRAINING', 'STOPPING']],
    ['RETIRING_WORKER_STATUSES', RETIRING_WORKER_STATUSES, ['DRAINING', 'STOPPING', 'SHUTTING_DOWN']],
    [
      'BILLABLE_WORKER_STATUSES',
      BILLABLE_WORKER_STATUSES,
      ['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING', 'DRAINING', 'STOPPING'],
    ],
    [
      'INSTANCE_WORKER_STATUSES',
      INSTANCE_WORKER_STATUSES,
      ['PROVISIONING', 'STARTING', 'RUNNING', 'DRAINING', 'STOPPING', 'STOPPED', 'SHUTTING_DOWN', 'FAILED'],
    ],
  ] as const)('%s', (_name, group, expected) => {
    expect(group).toEqual(expected);
  });

  it('has TERMINATED as the only terminal worker status', () => {
    expect(WORKER_STATUSES.filter(isTerminalWorker)).toEqual(['TERMINATED']);
  });

  it('booting statuses lead to RUNNING and may fail', () => {
    expect(canTransitionWorker('STARTING', 'RUNNING')).toBe(true);
    for (const s of BOOTING_WORKER_STATUSES) expect(canTransitionWorker(s, 'FAILED')).toBe(true);
  });

  it('draining statuses may fail; the retiring ones end in STOPPED or TERMINATED', () => {
    for (const s of DRAINING_WORKER_STATUSES) expect(canTransitionWorker(s, 'FAILED')).toBe(true);
    expect(canTransitionWorker('SHUTTING_DOWN', 'TERMINATED')).toBe(true);
    expect(canTransitionWorker('STOPPING', 'STOPPED')).toBe(true);
  });
});
