import type { SessionStatus, WorkerStatus } from './enums.ts';
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
