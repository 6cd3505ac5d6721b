import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import type { Capacity, LabletSession, PortLease, Worker, WorkerStatus } from '../kernel/index.ts';
import {
  assertWorkerTransition,
  CAPACITY_DIMENSIONS,
  ConflictError,
  DuplicateError,
  freeCapacity,
  InvalidTransitionError,
  newWorkerFromTemplate,
} from '../kernel/index.ts';
import {
  allPages,
  type Page,
  type PageRequest,
  type RetryOptions,
  retryOnConflict,
} from '../platform/index.ts';
import type { FleetSessionQueries } from './deps.ts';
import type { PortLeaseStore } from './stores/port-lease-store.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';

/**
 * Worker commands and queries (DESIGN §4 Worker). Framework-free: stores + input + actor in,
 * entities out, domain errors thrown. Status changes go only through the store's transition(),
 * which validates them against WORKER_TRANSITIONS and conditions the write on the status (and
 * here also the version) that was read.
 */

// ---------------------------------------------------------------------------------------------
// Listing helpers shared by the worker, template and fleet queries

/** An API list reply: a page of items and, when there may be more, the cursor of the next. */
export interface ListPage<T> {
  items: T[];
  nextCursor?: string;
}

export const toListPage = <T>(page: Page<T>): ListPage<T> =>
  page.cursor === undefined ? { items: page.items } : { items: page.items, nextCursor: page.cursor };

/** The whole fleet, every status (fleet view, template-in-use checks). */
export const allWorkers = (workers: Pick<WorkerStore, 'listAll'>): Promise<Worker[]> =>
  allPages((p) => workers.listAll(p));

/** Bounded re-read-and-retry when another writer changed the worker between read and write. */
const RETRY: RetryOptions = { maxAttempts: 5 };

// ---------------------------------------------------------------------------------------------
// Queries

export interface WorkerQueryDeps {
  workers: Pick<WorkerStore, 'get' | 'listAll' | 'listByStatus'>;
  sessions: Pick<FleetSessionQueries, 'listActiveOnWorker'>;
  leases: Pick<PortLeaseStore, 'listByWorker'>;
}

export interface ListWorkersInput extends PageRequest {
  status?: WorkerStatus | undefined;
}

export async function listWorkers(
  deps: Pick<WorkerQueryDeps, 'workers'>,
  input: ListWorkersInput,
): Promise<ListPage<Worker>> {
  const page = { limit: input.limit, cursor: input.cursor };
  return toListPage(
    input.status === undefined
      ? await deps.workers.listAll(page)
      : await deps.workers.listByStatus(input.status, page),
  );
}

export function getWorker(deps: Pick<WorkerQueryDeps, 'workers'>, id: string): Promise<Worker> {
  return deps.workers.get(id);
}

export interface WorkerCapacity {
  declared: Capacity;
  allocated: Capacity;
  free: Capacity;
}

export const capacityOf = (w: Pick<Worker, 'declaredCapacity' | 'allocatedCapacity'>): WorkerCapacity => ({
  declared: { ...w.declaredCapacity },
  allocated: { ...w.allocatedCapacity },
  free: freeCapacity(w.declaredCapacity, w.allocatedCapacity),
});

export async function getWorkerCapacity(
  deps: Pick<WorkerQueryDeps, 'workers'>,
  id: string,
): Promise<WorkerCapacity> {
  return capacityOf(await deps.workers.get(id));
}

/**
 * Sessions holding a placement on the worker (all of them: bounded by the worker's capacity).
 * Unknown worker → NotFoundError.
 */
export async function listWorkerSessions(
  deps: Pick<WorkerQueryDeps, 'workers' | 'sessions'>,
  id: string,
): Promise<ListPage<LabletSession>> {
  await deps.workers.get(id);
  return { items: await allPages((p) => deps.sessions.listActiveOnWorker(id, p)) };
}

/** Port leases on the worker, ordered by port. Unknown worker → NotFoundError. */
export async function listWorkerPorts(
  deps: Pick<WorkerQueryDeps, 'workers' | 'leases'>,
  id: string,
): Promise<ListPage<PortLease>> {
  await deps.workers.get(id);
  return { items: await deps.leases.listByWorker(id) };
}

// ---------------------------------------------------------------------------------------------
// Create

export interface CreateWorkerDeps {
  templates: Pick<WorkerTemplateStore, 'get'>;
  workers: Pick<WorkerStore, 'create' | 'get'>;
  clock?: () => Date;
}

export interface CreateWorkerInput {
  templateName: string;
  /** A caller-derived id makes the create idempotent (see workerIdForRequest); default a ULID. */
  id?: string | undefined;
}

/**
 * The worker id of a create request carrying an Idempotency-Key: the same caller and key always
 * name the same worker, so a retried create finds the worker it already made.
 */
export function workerIdForRequest(callerSub: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${callerSub}\n${idempotencyKey}`).digest('hex');
  return `w-${digest.slice(0, 26)}`;
}

/**
 * A PENDING worker from an enabled template, desired RUNNING: a later fleet task provisions
 * it. Unknown template → NotFoundError (404); disabled → ConflictError (409). With a given id
 * that already exists: the same request replayed returns that worker, a different one is a 409.
 */
export async function createWorker(deps: CreateWorkerDeps, input: CreateWorkerInput): Promise<Worker> {
  const template = await deps.templates.get(input.templateName);
  const now = (deps.clock ? deps.clock() : new Date()).toISOString();
  const id = input.id ?? `w-${ulid().toLowerCase()}`;
  const worker: Worker = { ...newWorkerFromTemplate(template, id, now), desiredStatus: 'RUNNING' };
  try {
    return await deps.workers.create(worker);
  } catch (e) {
    if (!(e instanceof DuplicateError) || input.id === undefined) throw e;
    const existing = await deps.workers.get(id);
    if (existing.templateName === input.templateName) return existing;
    throw new ConflictError(`worker ${id} was created by an earlier request with other input`, {
      workerId: id,
      templateName: existing.templateName,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Actions: start, stop, drain, terminate

export const WORKER_ACTIONS = ['start', 'stop', 'drain', 'terminate'] as const;
export type WorkerAction = (typeof WORKER_ACTIONS)[number];

/** What an action does to a worker: a transition, or (target reached / on its way) none. */
export type WorkerActionPlan =
  | { kind: 'transition'; to: WorkerStatus; desired: WorkerStatus }
  | { kind: 'none'; desired: WorkerStatus };

/**
 * The mapping of each action to (desiredStatus, transition), given the current status; `idle`
 * says the worker holds no session (only consulted by stop on a DRAINING worker).
 *
 * | action    | desired    | from → to                                   | no change (202, idempotent)            |
 * |-----------|------------|---------------------------------------------|----------------------------------------|
 * | start     | RUNNING    | STOPPED → STARTING; DRAINING → RUNNING      | PENDING, PROVISIONING, STARTING,       |
 * |           |            | (cancels a drain or a pending stop)         | RUNNING (already there or on its way)  |
 * | stop      | STOPPED    | RUNNING → DRAINING (the drain workflow stops| DRAINING with sessions (waits for the  |
 * |           |            | it when empty); DRAINING → STOPPING if idle | drain); STOPPING, STOPPED              |
 * | drain     | DRAINING   | RUNNING → DRAINING (no new placements; the  | DRAINING (a pending stop keeps its     |
 * |           |            | worker stays up until start or stop)        | desired STOPPED)                       |
 * | terminate | TERMINATED | any live status → SHUTTING_DOWN             | SHUTTING_DOWN, TERMINATED              |
 *
 * Everything else is an InvalidTransitionError (409), e.g. start on STOPPING or FAILED, stop or
 * drain on PENDING/PROVISIONING/STARTING, any action but terminate on FAILED.
 */
export function planWorkerAction(
  action: WorkerAction,
  worker: Pick<Worker, 'status' | 'desiredStatus'>,
  idle = false,
): WorkerActionPlan {
  const from = worker.status;
  const go = (to: WorkerStatus, desired: WorkerStatus): WorkerActionPlan => {
    assertWorkerTransition(from, to);
    return { kind: 'transition', to, desired };
  };
  const refuse = (to: WorkerStatus): never => {
    throw new InvalidTransitionError('Worker', from, to);
  };
  switch (action) {
    case 'start':
      if (from === 'STOPPED') return go('STARTING', 'RUNNING');
      if (from === 'DRAINING') return go('RUNNING', 'RUNNING');
      if (from === 'PENDING' || from === 'PROVISIONING' || from === 'STARTING' || from === 'RUNNING') {
        return { kind: 'none', desired: 'RUNNING' };
      }
      return refuse('STARTING');
    case 'stop':
      if (from === 'RUNNING') return go('DRAINING', 'STOPPED');
      if (from === 'DRAINING') return idle ? go('STOPPING', 'STOPPED') : { kind: 'none', desired: 'STOPPED' };
      if (from === 'STOPPING' || from === 'STOPPED') return { kind: 'none', desired: 'STOPPED' };
      return refuse('STOPPING');
    case 'drain':
      if (from === 'RUNNING') return go('DRAINING', 'DRAINING');
      if (from === 'DRAINING') {
        return { kind: 'none', desired: worker.desiredStatus === 'STOPPED' ? 'STOPPED' : 'DRAINING' };
      }
      return refuse('DRAINING');
    case 'terminate':
      if (from === 'SHUTTING_DOWN' || from === 'TERMINATED') return { kind: 'none', desired: 'TERMINATED' };
      return go('SHUTTING_DOWN', 'TERMINATED');
  }
}

/** True when the worker holds no capacity, no port and no placed session. */
async function isIdle(deps: Pick<WorkerActionDeps, 'sessions'>, worker: Worker): Promise<boolean> {
  if (worker.leasedPortCount > 0) return false;
  if (CAPACITY_DIMENSIONS.some((d) => worker.allocatedCapacity[d] > 0)) return false;
  const page = await deps.sessions.listActiveOnWorker(worker.id, { limit: 1 });
  return page.items.length === 0;
}

export interface WorkerActionDeps {
  workers: Pick<WorkerStore, 'get' | 'update' | 'transition'>;
  sessions: Pick<FleetSessionQueries, 'listActiveOnWorker'>;
}

/**
 * Applies an action (see planWorkerAction): records the desired status and, when the plan says
 * so, makes the transition in the same conditional write (status and version as read). A lost
 * race re-reads and re-plans (bounded); a plan with no transition writes only a changed desired
 * status and otherwise returns the worker as it is.
 */
export async function requestWorkerAction(
  deps: WorkerActionDeps,
  id: string,
  action: WorkerAction,
  by: string,
  reason?: string,
): Promise<Worker> {
  const { value } = await retryOnConflict(async () => {
    const worker = await deps.workers.get(id);
    const idle = action === 'stop' && worker.status === 'DRAINING' ? await isIdle(deps, worker) : false;
    const plan = planWorkerAction(action, worker, idle);
    if (plan.kind === 'transition') {
      return deps.workers.transition(id, worker.status, plan.to, by, reason ?? `${action} requested`, {
        expectedVersion: worker.version,
        patch: { desiredStatus: plan.desired },
      });
    }
    if (worker.desiredStatus === plan.desired) return worker;
    return deps.workers.update(id, { desiredStatus: plan.desired }, worker.version);
  }, RETRY);
  return value;
}
