import {
  GRADING_STATUSES,
  type GradingStatus,
  SESSION_STATUSES,
  type SessionStatus,
  WORKER_STATUSES,
  type WorkerStatus,
} from './enums.ts';
import { InvalidTransitionError } from './errors.ts';

/**
 * Transition tables: the single source of truth for status changes (DESIGN §4).
 * Persistence conditions every status write on the expected current status, so a
 * transition validated here and written there can never skip a step.
 */
export const WORKER_TRANSITIONS: Readonly<Record<WorkerStatus, readonly WorkerStatus[]>> = {
  PENDING: ['PROVISIONING', 'SHUTTING_DOWN', 'FAILED'],
  PROVISIONING: ['STARTING', 'SHUTTING_DOWN', 'FAILED'],
  STARTING: ['RUNNING', 'SHUTTING_DOWN', 'FAILED'],
  RUNNING: ['DRAINING', 'SHUTTING_DOWN', 'FAILED'],
  DRAINING: ['RUNNING', 'STOPPING', 'SHUTTING_DOWN', 'FAILED'],
  STOPPING: ['STOPPED', 'SHUTTING_DOWN', 'FAILED'],
  STOPPED: ['STARTING', 'SHUTTING_DOWN'],
  SHUTTING_DOWN: ['TERMINATED'],
  FAILED: ['SHUTTING_DOWN'],
  TERMINATED: [],
};

/**
 * Session lifecycle. The happy path is linear; RUNNING/COLLECTING may skip to STOPPING
 * when there is nothing to grade; every non-terminal status may go to TERMINATED, which
 * the workflow only does from its teardown branch after releasing capacity, ports, the
 * CML lab and the LDS session.
 */
export const SESSION_TRANSITIONS: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  PENDING: ['SCHEDULED', 'TERMINATED'],
  SCHEDULED: ['INSTANTIATING', 'TERMINATED'],
  INSTANTIATING: ['READY', 'TERMINATED'],
  READY: ['RUNNING', 'TERMINATED'],
  RUNNING: ['COLLECTING', 'STOPPING', 'TERMINATED'],
  COLLECTING: ['GRADING', 'STOPPING', 'TERMINATED'],
  GRADING: ['STOPPING', 'TERMINATED'],
  STOPPING: ['STOPPED', 'TERMINATED'],
  STOPPED: ['ARCHIVED', 'TERMINATED'],
  ARCHIVED: ['TERMINATED'],
  TERMINATED: [],
};

/**
 * A session's GradingSession record: PENDING (about to submit) → SUBMITTED → COMPLETED | FAULTED;
 * a result may arrive before SUBMITTED is written (a fast engine). COMPLETED and FAULTED are
 * final. PENDING and SUBMITTED may be written again (a retried step repeats its write). The
 * store writes a grading only from a status listed here for it (a conditional put), so a late or
 * duplicate write never replaces a newer or final one; the loser gets InvalidTransitionError.
 */
export const GRADING_TRANSITIONS: Readonly<Record<GradingStatus, readonly GradingStatus[]>> = {
  PENDING: ['PENDING', 'SUBMITTED', 'COMPLETED', 'FAULTED'],
  SUBMITTED: ['SUBMITTED', 'COMPLETED', 'FAULTED'],
  COMPLETED: [],
  FAULTED: [],
};

/** The grading statuses a record may have for `to` to be written over it. */
export const gradingWritableFrom = (to: GradingStatus): readonly GradingStatus[] =>
  GRADING_STATUSES.filter((from) => GRADING_TRANSITIONS[from].includes(to));

export const isFinalGrading = (s: GradingStatus): boolean => GRADING_TRANSITIONS[s].length === 0;

export const canTransitionWorker = (from: WorkerStatus, to: WorkerStatus): boolean =>
  WORKER_TRANSITIONS[from].includes(to);

export const canTransitionSession = (from: SessionStatus, to: SessionStatus): boolean =>
  SESSION_TRANSITIONS[from].includes(to);

export function assertWorkerTransition(from: WorkerStatus, to: WorkerStatus): void {
  if (!canTransitionWorker(from, to)) throw new InvalidTransitionError('Worker', from, to);
}

export function assertSessionTransition(from: SessionStatus, to: SessionStatus): void {
  if (!canTransitionSession(from, to)) throw new InvalidTransitionError('LabletSession', from, to);
}

/** One entry of an entity's state history. */
export interface StateTransition<S extends string> {
  from: S;
  to: S;
  at: string;
  by: string;
  reason?: string | undefined;
}

/** Validates and builds a history entry; the caller persists it with the status change. */
export function sessionTransition(
  from: SessionStatus,
  to: SessionStatus,
  by: string,
  at: string,
  reason?: string,
): StateTransition<SessionStatus> {
  assertSessionTransition(from, to);
  return { from, to, at, by, ...(reason ? { reason } : {}) };
}

export function workerTransition(
  from: WorkerStatus,
  to: WorkerStatus,
  by: string,
  at: string,
  reason?: string,
): StateTransition<WorkerStatus> {
  assertWorkerTransition(from, to);
  return { from, to, at, by, ...(reason ? { reason } : {}) };
}

export const isTerminalSession = (s: SessionStatus): boolean => SESSION_TRANSITIONS[s].length === 0;
export const isTerminalWorker = (s: WorkerStatus): boolean => WORKER_TRANSITIONS[s].length === 0;

// ---------------------------------------------------------------------------------------------
// Named status groups: the one place a "which statuses" question is answered. Each is a list in
// lifecycle order; test/unit/transitions.test.ts spells every group out and checks it.

/** The statuses from `from` to `to` (both included) in the order of SESSION_STATUSES, the happy path. */
const sessionPath = (from: SessionStatus, to: SessionStatus): readonly SessionStatus[] =>
  SESSION_STATUSES.slice(SESSION_STATUSES.indexOf(from), SESSION_STATUSES.indexOf(to) + 1);

/** Sessions that are over: nothing leaves these (TERMINATED). */
export const TERMINAL_SESSION_STATUSES: readonly SessionStatus[] = SESSION_STATUSES.filter(isTerminalSession);
/** Sessions whose workflow may still act on them: every status but the terminal ones. */
export const NON_TERMINAL_SESSION_STATUSES: readonly SessionStatus[] = SESSION_STATUSES.filter(
  (s) => !isTerminalSession(s),
);
/**
 * Sessions that hold (or are about to hold) a placement on a worker: capacity and port leases
 * from placement (SCHEDULED) until the teardown releases them (STOPPING is the last).
 */
export const ACTIVE_SESSION_STATUSES: readonly SessionStatus[] = sessionPath('SCHEDULED', 'STOPPING');
/** Booked but the lab is not ready for the learner yet (a finish request is too early). */
export const PRE_READY_SESSION_STATUSES: readonly SessionStatus[] = ['PENDING', 'SCHEDULED', 'INSTANTIATING'];
/** The learner has the lab: login, pause and finish apply. */
export const LEARNER_SESSION_STATUSES: readonly SessionStatus[] = ['READY', 'RUNNING'];
/** The lab runs with the learner's work on it, so it can be observed. */
export const OBSERVABLE_SESSION_STATUSES: readonly SessionStatus[] = ['RUNNING', 'COLLECTING'];
/** Evidence is being collected or graded: a grading result applies. */
export const GRADING_SESSION_STATUSES: readonly SessionStatus[] = ['COLLECTING', 'GRADING'];

/** Workers that are gone: nothing leaves these (TERMINATED). */
export const TERMINAL_WORKER_STATUSES: readonly WorkerStatus[] = WORKER_STATUSES.filter(isTerminalWorker);
/** On the way to RUNNING: the provisioning workflow is in flight (and may still fail). */
export const BOOTING_WORKER_STATUSES: readonly WorkerStatus[] = ['PENDING', 'PROVISIONING', 'STARTING'];
/** Will serve new sessions: RUNNING, or booting towards it. */
export const SERVING_WORKER_STATUSES: readonly WorkerStatus[] = [...BOOTING_WORKER_STATUSES, 'RUNNING'];
/** CML is up and sessions may run on it: the health sweep probes these. */
export const LIVE_WORKER_STATUSES: readonly WorkerStatus[] = ['RUNNING', 'DRAINING'];
/** The drain workflow is moving the worker out of service (towards STOPPED or SHUTTING_DOWN). */
export const DRAINING_WORKER_STATUSES: readonly WorkerStatus[] = ['DRAINING', 'STOPPING'];
/** Leaving service: draining, stopping, or shutting down (the drain workflow's statuses). */
export const RETIRING_WORKER_STATUSES: readonly WorkerStatus[] = [
  ...DRAINING_WORKER_STATUSES,
  'SHUTTING_DOWN',
];
/**
 * Hold (or are about to hold) a running instance, the compute that is billed: serving, draining
 * or stopping. The scaler's fleet size (what maxWorkers caps); a STOPPED worker keeps only its
 * volumes and is not counted, nor is one shutting down or FAILED.
 */
export const BILLABLE_WORKER_STATUSES: readonly WorkerStatus[] = [
  ...SERVING_WORKER_STATUSES,
  ...DRAINING_WORKER_STATUSES,
];
/** Hold (or held) an EC2 instance that must exist: every status from PROVISIONING on, but TERMINATED. */
export const INSTANCE_WORKER_STATUSES: readonly WorkerStatus[] = WORKER_STATUSES.filter(
  (s) => s !== 'PENDING' && !isTerminalWorker(s),
);
