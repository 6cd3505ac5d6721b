import type { DefinitionStore } from '../../catalogue/index.ts';
import type { PortLeaseStore, WorkerStore } from '../../fleet/index.ts';
import type { LabletSession, SessionStatus, Worker } from '../../kernel/index.ts';
import { InvalidTransitionError } from '../../kernel/index.ts';
import type { CmlApi, EvidenceStore, GradingApi, LdsApi, WorkflowEngine } from '../../platform/index.ts';
import type { PlacementStore } from '../placement-store.ts';
import type { PoolStore } from '../pool-store.ts';
import type { SessionPatch, SessionStore } from '../session-store.ts';
import { terminatedError } from './errors.ts';

/**
 * What the session workflow's task commands need (one command per task, DESIGN §6). Handlers
 * build it from the environment (env.ts); tests pass their own.
 */
export interface SessionStepDeps {
  stores: {
    sessions: SessionStore;
    workers: WorkerStore;
    definitions: DefinitionStore;
    leases: PortLeaseStore;
    placement: PlacementStore;
    /** The hot-start pools (issue 15, item 3): absent, a booking is never served from a pool. */
    pools?: PoolStore | undefined;
  };
  engine: Pick<WorkflowEngine, 'sendTaskSuccess' | 'sendTaskFailure'>;
  /** The CML client of a worker (base URL: the worker's cmlBaseUrl, else https://<ip>/api/v0). */
  cml: (worker: Worker) => CmlApi;
  lds: LdsApi;
  grading: GradingApi;
  evidence: EvidenceStore;
  config: LifecycleConfig;
  clock?: () => Date;
}

export interface LifecycleConfig {
  /**
   * How long before the timeslot starts the session is placed (default 900 s): until then it holds
   * no capacity and its workflow sleeps (late placement). Never less than instantiateLeadSeconds.
   */
  placementLeadSeconds: number;
  /** How long before the timeslot starts the lab is imported and started (default 600 s). */
  instantiateLeadSeconds: number;
  /** How long a started lab may take to converge (default 900 s). */
  labBootTimeoutSeconds: number;
  /** How long the Grading Engine gets before grading is FAULTED with GRADING_TIMEOUT (default 1800 s). */
  gradingTimeoutSeconds: number;
  /** Placement retry backoff while no worker fits: first delay and ceiling (default 30 s, 300 s). */
  placementRetryBaseSeconds: number;
  placementRetryMaxSeconds: number;
  /**
   * How long a teardown may keep failing (from BeginTeardown) before it gives up with
   * TEARDOWN_FAILED, leaving what it could not release for an operator's force-release (default 1800 s).
   */
  teardownTimeoutSeconds: number;
  /**
   * A learner not logged in this long after the timeslot start is a no-show: the session ends
   * NO_SHOW and its capacity is released then, not at the timeslot end (default 1800 s; 0 = wait
   * until the timeslot end). sessions/rules/no-show.ts.
   */
  noShowAfterSeconds: number;
}

export const DEFAULT_LIFECYCLE_CONFIG: LifecycleConfig = {
  placementLeadSeconds: 900,
  instantiateLeadSeconds: 600,
  labBootTimeoutSeconds: 900,
  gradingTimeoutSeconds: 1800,
  placementRetryBaseSeconds: 30,
  placementRetryMaxSeconds: 300,
  teardownTimeoutSeconds: 1800,
  noShowAfterSeconds: 1800,
};

/** When the session's placement window opens: timeslot start minus the placement lead (at least the instantiate lead). */
export function placementWindowOpensAt(timeslotStart: string, config: LifecycleConfig): number {
  const lead = Math.max(config.placementLeadSeconds, config.instantiateLeadSeconds);
  return Date.parse(timeslotStart) - lead * 1000;
}

/** Who the workflow's own transitions are attributed to in the session history. */
export const WORKFLOW_ACTOR = 'workflow:session-lifecycle';

/** The session's CML lab title: deterministic, so a retried import can find its lab. */
export const labTitleOf = (sessionId: string): string => `lcm-${sessionId}`;

/** Whole seconds from now until `iso`, at least `min` (Step Functions timeouts need >= 1). */
export function secondsUntil(iso: string, now: Date, min = 1): number {
  return Math.max(min, Math.ceil((Date.parse(iso) - now.getTime()) / 1000));
}

/** An RFC 3339 timestamp without fractional seconds (what Wait's TimestampPath accepts everywhere). */
export const waitTimestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Every working step calls this first: a termination request is "seen by the next step". */
export function assertNotTerminated(session: LabletSession): void {
  if (session.terminationRequestedAt || session.status === 'TERMINATED') {
    throw terminatedError(session.id, session.terminationReason);
  }
}

/**
 * Moves the session `from` → `to` unless it is already at `to` (a retried task), with the patch
 * applied in the same write. Any other status is an InvalidTransitionError.
 */
export async function advance(
  deps: Pick<SessionStepDeps, 'stores'>,
  session: LabletSession,
  from: SessionStatus,
  to: SessionStatus,
  by: string,
  reason: string,
  patch: SessionPatch = {},
): Promise<LabletSession> {
  if (session.status === to) {
    return Object.keys(patch).length > 0
      ? deps.stores.sessions.update(session.id, patch, session.version)
      : session;
  }
  if (session.status !== from) throw new InvalidTransitionError('LabletSession', session.status, to);
  return deps.stores.sessions.transition(session.id, from, to, by, reason, patch, {
    expectedVersion: session.version,
  });
}
