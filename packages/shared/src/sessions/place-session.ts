import { allocatePorts } from '../catalogue/index.ts';
import type { PortLeaseStore, WorkerStore } from '../fleet/index.ts';
import { choosePlacement, type PlacementRequest, type RejectionCategory } from '../fleet/index.ts';
import type { LabletSession, PortAllocations, Worker } from '../kernel/index.ts';
import {
  ACTIVE_SESSION_STATUSES,
  DomainError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../kernel/index.ts';
import { type RetryOptions, recordMetric, retryOnConflict } from '../platform/index.ts';
import { MAX_PORTS_PER_SESSION, type PlacementStore } from './placement-store.ts';
import type { SessionStore } from './session-store.ts';

export interface PlaceSessionDeps {
  sessions: Pick<SessionStore, 'getSession' | 'update'>;
  workers: Pick<WorkerStore, 'get' | 'listAllByStatus'>;
  leases: Pick<PortLeaseStore, 'listByWorker'>;
  placement: Pick<PlacementStore, 'place'>;
  clock?: () => Date;
}

export interface PlaceSessionOptions extends RetryOptions {
  /** Who places (history `by`); default "placement". */
  by?: string;
  /** Store the rejection summary on the session when nothing fits (default true). */
  recordRejections?: boolean;
}

export type PlaceSessionResult =
  | { placed: true; workerId: string; ports: PortAllocations; attempts: number }
  | { placed: false; rejections: Record<RejectionCategory, number>; considered: number; attempts: number };

/**
 * Places a PENDING session: reads the RUNNING workers, lets the pure placement rules choose,
 * re-reads the chosen worker and its leases (strongly consistent), allocates ports and runs
 * the placement transaction. A lost race re-reads and retries with jittered backoff (bounded);
 * "no worker fits" is an answer, not an error. A session that is already placed returns its
 * placement (idempotent). Each decision records `PlacementAttempts` {reason PLACED | NO_FIT}, and
 * a NO_FIT the workers it rejected as `PlacementRejections` {reason: category}.
 */
export async function placeSession(
  deps: PlaceSessionDeps,
  sessionId: string,
  opts: PlaceSessionOptions = {},
): Promise<PlaceSessionResult> {
  const by = opts.by ?? 'placement';
  // The session is re-read only when it was the item that changed; worker-side races (the
  // common case under contention) re-read only the workers and leases.
  let cached: LabletSession | undefined;
  const { value, attempts } = await retryOnConflict(async () => {
    const session = cached ?? (await deps.sessions.getSession(sessionId));
    cached = session;
    if (session.status !== 'PENDING') {
      if (session.workerId && ACTIVE_SESSION_STATUSES.includes(session.status)) {
        return { placed: true as const, workerId: session.workerId, ports: session.allocatedPorts ?? {} };
      }
      throw new InvalidTransitionError('LabletSession', session.status, 'SCHEDULED');
    }
    if (session.portTemplate.length > MAX_PORTS_PER_SESSION) {
      throw new ValidationError(
        'portTemplate',
        `at most ${MAX_PORTS_PER_SESSION} ports per session, got ${session.portTemplate.length}`,
      );
    }
    const request: PlacementRequest = {
      requirements: session.requirements,
      licenseAffinity: session.licenseAffinity,
      podType: session.podType,
      amiRequirement: session.amiRequirement,
      portsNeeded: session.portTemplate.length,
      // End-time alignment: prefer workers whose sessions end with this one (fleet/rules/placement.ts).
      sessionEnd: session.timeslot.end,
      // A worker whose CML lacks a node or image definition the lab uses is rejected (issue 11, item 3).
      nodeDefinitions: session.nodeDefinitions,
      imageDefinitions: session.imageDefinitions,
    };

    const choice = await chooseWorkerAndPorts(deps, request, session.portTemplate);
    if (!choice.placed) {
      recordPlacement(choice.rejections);
      if (opts.recordRejections ?? true)
        await recordRejections(deps, sessionId, choice.rejections, session.version);
      return { placed: false as const, rejections: choice.rejections, considered: choice.considered };
    }
    const { worker, ports } = choice;

    try {
      await deps.placement.place({ session, worker, ports, by });
    } catch (e) {
      if (
        e instanceof VersionConflictError &&
        e.details.entity !== 'Worker' &&
        e.details.entity !== 'PortLease'
      ) {
        cached = undefined;
      }
      throw e;
    }
    recordPlacement();
    return { placed: true as const, workerId: worker.id, ports };
  }, opts);
  return { ...value, attempts };
}

export type WorkerChoice =
  | { placed: true; worker: Worker; ports: PortAllocations }
  | { placed: false; rejections: Record<RejectionCategory, number>; considered: number };

/**
 * The placement choice of a session or a pooled lab (pools.ts): the pure rules choose among the
 * RUNNING workers, the chosen worker is re-read (strongly consistent) and confirmed, its leases
 * read and the ports allocated. A worker or its ports changed since the index was read is a
 * VersionConflictError (re-read and retry); "nothing fits" is an answer.
 */
export async function chooseWorkerAndPorts(
  deps: Pick<PlaceSessionDeps, 'workers' | 'leases'>,
  request: PlacementRequest,
  portTemplate: LabletSession['portTemplate'],
): Promise<WorkerChoice> {
  // The status index is eventually consistent: choose from it, then confirm on the item.
  const choice = choosePlacement(request, await deps.workers.listAllByStatus('RUNNING'));
  if (!choice.placed) return { placed: false, rejections: choice.rejections, considered: choice.considered };
  const worker = await deps.workers.get(choice.workerId);
  if (!choosePlacement(request, [worker]).placed) {
    throw new VersionConflictError('Worker', worker.id, 'no longer fits after a fresh read');
  }
  const leases = await deps.leases.listByWorker(worker.id);
  try {
    const ports = allocatePorts(
      portTemplate,
      worker.portRange,
      leases.map((l) => l.port),
    );
    return { placed: true, worker, ports };
  } catch (e) {
    // Leases read after the worker: a placement landed in between. Re-read everything.
    if (e instanceof DomainError && e.code === 'NO_CAPACITY') {
      throw new VersionConflictError('Worker', worker.id, 'ports taken since the worker was read');
    }
    throw e;
  }
}

/** The placement's metrics: placed (no rejections given) or nothing fits, by category. */
function recordPlacement(rejections?: Record<RejectionCategory, number>): void {
  recordMetric('placementAttempts', 1, { reason: rejections ? 'NO_FIT' : 'PLACED' });
  for (const [category, count] of Object.entries(rejections ?? {})) {
    if (count > 0) recordMetric('placementRejections', count, { reason: category });
  }
}

async function recordRejections(
  deps: PlaceSessionDeps,
  sessionId: string,
  rejections: Record<RejectionCategory, number>,
  version: number,
): Promise<void> {
  try {
    await deps.sessions.update(sessionId, { placementRejections: rejections }, version);
  } catch (e) {
    // Best effort: a concurrent change (or placement) makes this summary stale anyway.
    if (!(e instanceof VersionConflictError) && !(e instanceof NotFoundError)) throw e;
  }
}
