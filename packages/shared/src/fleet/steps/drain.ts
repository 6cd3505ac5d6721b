import type {
  LabletSession,
  LicenseDeregistrationOutcome,
  Worker,
  WorkerStatus,
} from '../../kernel/index.ts';
import { DRAINING_WORKER_STATUSES, NotFoundError, ZERO_CAPACITY } from '../../kernel/index.ts';
import type { DrainThen } from '../../platform/index.ts';
import { logger, nowOf, recordMetric, retryOnConflict } from '../../platform/index.ts';
import type { FleetDeps } from '../deps.ts';
import { drainThenOf } from '../workflow-dispatch.ts';
import type { StepError } from './provisioning.ts';

/**
 * The step of the worker-drain workflow (statemachines/worker-drain.asl.json). The workflow is a
 * loop around `drainStep`: each call reads the worker, does at most one thing, and says what to
 * wait for next, so a status changed by the API mid-drain (start cancels, terminate overrides a
 * stop) is honoured at the next step:
 *
 * | status        | what drainStep does                                                    | next            |
 * |---------------|------------------------------------------------------------------------|-----------------|
 * | DRAINING      | active sessions remain (placement already skips the worker)             | WAIT_SESSIONS   |
 * | DRAINING      | none: clears leftover port leases and allocation, then per `then`:     |                 |
 * |               | STOP → STOPPING + StopInstances; TERMINATE → SHUTTING_DOWN + Terminate | WAIT_STOPPED /  |
 * |               | (no `then`: an operator's plain drain, the worker stays DRAINING)       | WAIT_TERMINATED |
 * | STOPPING      | instance stopped → STOPPED; gone → TERMINATED; else StopInstances      | WAIT_STOPPED    |
 * | SHUTTING_DOWN | instance terminated or gone → TERMINATED; else TerminateInstances      | WAIT_TERMINATED |
 * | STOPPED/FAILED| `then` TERMINATE → SHUTTING_DOWN + TerminateInstances                   | WAIT_TERMINATED |
 * | anything else | nothing (drain cancelled, or already done)                              | DONE            |
 *
 * `then` is the worker's desired status when it says STOPPED/TERMINATED, else the scaler's hint.
 *
 * Before an instance whose CML holds a registered licence is stopped or terminated, the licence is
 * deregistered (`deregisterLicence`): best effort, once per shutdown, the outcome recorded on the
 * worker (`license.deregistration`), in the history entry that ends the stop or termination, as
 * the metric LicenseDeregistrations {reason: outcome} and, when it failed, a warning log. A
 * failure never holds the stop.
 */

const BY = 'worker-drain';

export type DrainNext = 'WAIT_SESSIONS' | 'WAIT_STOPPED' | 'WAIT_TERMINATED' | 'DONE';

export interface DrainStepOutput {
  next: DrainNext;
  status: WorkerStatus;
  waitSeconds: number;
  activeSessions?: number | undefined;
  leasesCleared?: number | undefined;
}

type Deps = Pick<
  FleetDeps,
  'workers' | 'sessions' | 'leases' | 'compute' | 'cml' | 'config' | 'clock' | 'failSessionsOn'
>;

const out = (
  deps: Pick<Deps, 'config'>,
  next: DrainNext,
  status: WorkerStatus,
  extra: Partial<DrainStepOutput> = {},
): DrainStepOutput => ({
  next,
  status,
  waitSeconds:
    next === 'WAIT_SESSIONS'
      ? deps.config.drainPollSeconds
      : next === 'DONE'
        ? 0
        : deps.config.instancePollSeconds,
  ...extra,
});

const desiredFor = (then: DrainThen): WorkerStatus => (then === 'STOP' ? 'STOPPED' : 'TERMINATED');

async function activeSessionCount(deps: Pick<Deps, 'sessions'>, workerId: string): Promise<number> {
  const page = await deps.sessions.listActiveOnWorker(workerId, { limit: 100 });
  return page.items.length;
}

/** Longest pause between two checks of a draining worker (keeps the execution history short). */
const MAX_SESSION_WAIT_SECONDS = 900;

/**
 * Seconds until the next check of a draining worker: until the earliest timeslot end among its
 * sessions (when it is likely to empty), at least drainPollSeconds, at most 15 minutes.
 */
export function sessionWaitSeconds(
  sessions: readonly Pick<LabletSession, 'timeslot'>[],
  now: Date,
  pollSeconds: number,
): number {
  const ends = sessions.map((s) => Date.parse(s.timeslot.end)).filter((t) => Number.isFinite(t));
  const untilEnd = ends.length > 0 ? Math.ceil((Math.min(...ends) - now.getTime()) / 1000) : pollSeconds;
  return Math.max(pollSeconds, Math.min(untilEnd, Math.max(pollSeconds, MAX_SESSION_WAIT_SECONDS)));
}

/** What the drain workflow passes: the worker and the execution's request (its `then`). */
export interface DrainStepInput {
  workerId: string;
  then?: DrainThen | null | undefined;
  request?: { then?: DrainThen | null | undefined } | null | undefined;
}

export async function drainStep(deps: Deps, input: DrainStepInput): Promise<DrainStepOutput> {
  let worker: Worker;
  try {
    worker = await deps.workers.get(input.workerId);
  } catch (e) {
    if (e instanceof NotFoundError) return out(deps, 'DONE', 'TERMINATED');
    throw e;
  }
  const hint = input.then ?? input.request?.then ?? undefined;
  const then = drainThenOf(worker, hint === 'STOP' || hint === 'TERMINATE' ? hint : undefined);
  switch (worker.status) {
    case 'DRAINING':
      return drainDraining(deps, worker, then);
    case 'STOPPING':
      return stepStopping(deps, worker);
    case 'SHUTTING_DOWN':
      return stepShuttingDown(deps, worker);
    case 'STOPPED':
    case 'FAILED':
      if (then !== 'TERMINATE') return out(deps, 'DONE', worker.status);
      return beginTermination(deps, worker, `terminate ${worker.status.toLowerCase()} worker`);
    default:
      return out(deps, 'DONE', worker.status);
  }
}

async function drainDraining(
  deps: Deps,
  worker: Worker,
  then: DrainThen | undefined,
): Promise<DrainStepOutput> {
  const active = (await deps.sessions.listActiveOnWorker(worker.id, { limit: 100 })).items;
  if (active.length > 0) {
    return out(deps, 'WAIT_SESSIONS', 'DRAINING', {
      activeSessions: active.length,
      waitSeconds: sessionWaitSeconds(active, nowOf(deps), deps.config.drainPollSeconds),
    });
  }
  if (then === undefined) return out(deps, 'DONE', 'DRAINING', { activeSessions: 0 });

  const leases = await deps.leases.listByWorker(worker.id);
  const leasesCleared = leases.length > 0 ? await deps.leases.deleteLeases(worker.id, leases) : 0;
  const to: WorkerStatus = then === 'STOP' ? 'STOPPING' : 'SHUTTING_DOWN';
  const { value: moved } = await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (w.status !== 'DRAINING') return w;
      // Re-checked under the version we write with: nothing placed since the count above.
      if ((await activeSessionCount(deps, w.id)) > 0) return w;
      return deps.workers.transition(
        w.id,
        'DRAINING',
        to,
        BY,
        `drained: no active session; ${then.toLowerCase()}`,
        {
          expectedVersion: w.version,
          patch: {
            desiredStatus: desiredFor(then),
            allocatedCapacity: { ...ZERO_CAPACITY },
            leasedPortCount: 0,
            serviceStatus: 'UNAVAILABLE',
          },
        },
      );
    },
    { maxAttempts: 10 },
  );
  if (moved.status === 'DRAINING') return out(deps, 'WAIT_SESSIONS', 'DRAINING', { leasesCleared });
  if (moved.status === 'STOPPING') {
    await deregisterLicence(deps, moved);
    if (moved.ec2InstanceId) await deps.compute.stopInstance(moved.ec2InstanceId);
    return out(deps, 'WAIT_STOPPED', 'STOPPING', { activeSessions: 0, leasesCleared });
  }
  if (moved.status === 'SHUTTING_DOWN') {
    await deregisterLicence(deps, moved);
    if (moved.ec2InstanceId) await deps.compute.terminateInstance(moved.ec2InstanceId);
    return out(deps, 'WAIT_TERMINATED', 'SHUTTING_DOWN', { activeSessions: 0, leasesCleared });
  }
  // Someone else moved it (start cancelled the drain, ...): the next step decides.
  return drainStep(deps, { workerId: worker.id, then });
}

async function finish(
  deps: Deps,
  worker: Worker,
  to: 'STOPPED' | 'TERMINATED',
  reason: string,
): Promise<Worker> {
  const { value } = await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (w.status === to) return w;
      let from = w.status;
      let current = w;
      if (to === 'TERMINATED' && from !== 'SHUTTING_DOWN') {
        current = await deps.workers.transition(w.id, from, 'SHUTTING_DOWN', BY, reason, {
          expectedVersion: w.version,
        });
        from = 'SHUTTING_DOWN';
      }
      return deps.workers.transition(w.id, from, to, BY, `${reason}${licenceNote(current)}`, {
        expectedVersion: current.version,
        patch: { serviceStatus: 'UNAVAILABLE' },
      });
    },
    { maxAttempts: 10 },
  );
  return value;
}

async function stepStopping(deps: Deps, worker: Worker): Promise<DrainStepOutput> {
  if (!worker.ec2InstanceId) {
    const w = await finish(deps, worker, 'STOPPED', 'no instance to stop');
    return out(deps, 'DONE', w.status);
  }
  const instance = await deps.compute.describeInstance(worker.ec2InstanceId);
  if (!instance || instance.state === 'terminated') {
    const w = await finish(deps, worker, 'TERMINATED', `instance ${worker.ec2InstanceId} no longer exists`);
    return out(deps, 'DONE', w.status);
  }
  if (instance.state === 'stopped') {
    const w = await finish(deps, worker, 'STOPPED', `instance ${instance.instanceId} stopped`);
    return out(deps, 'DONE', w.status);
  }
  if (instance.state === 'running' || instance.state === 'pending') {
    if (instance.state === 'running') await deregisterLicence(deps, worker);
    await deps.compute.stopInstance(instance.instanceId);
  }
  return out(deps, 'WAIT_STOPPED', 'STOPPING');
}

async function stepShuttingDown(deps: Deps, worker: Worker): Promise<DrainStepOutput> {
  // Sessions still on a worker being terminated (terminate requested while they ran): their
  // workflows tear down now rather than wait for a worker that is going away.
  if ((await activeSessionCount(deps, worker.id)) > 0) {
    await deps.failSessionsOn(worker.id, 'WORKER_TERMINATED');
  }
  if (!worker.ec2InstanceId) {
    const w = await finish(deps, worker, 'TERMINATED', 'no instance to terminate');
    return out(deps, 'DONE', w.status);
  }
  const instance = await deps.compute.describeInstance(worker.ec2InstanceId);
  if (!instance || instance.state === 'terminated') {
    const w = await finish(deps, worker, 'TERMINATED', `instance ${worker.ec2InstanceId} terminated`);
    return out(deps, 'DONE', w.status);
  }
  if (instance.state !== 'shutting-down') {
    if (instance.state === 'running') await deregisterLicence(deps, worker);
    await deps.compute.terminateInstance(instance.instanceId);
  }
  return out(deps, 'WAIT_TERMINATED', 'SHUTTING_DOWN');
}

async function beginTermination(deps: Deps, worker: Worker, reason: string): Promise<DrainStepOutput> {
  const { value } = await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (w.status !== 'STOPPED' && w.status !== 'FAILED') return w;
      return deps.workers.transition(w.id, w.status, 'SHUTTING_DOWN', BY, reason, {
        expectedVersion: w.version,
        patch: { desiredStatus: 'TERMINATED' },
      });
    },
    { maxAttempts: 10 },
  );
  if (value.status !== 'SHUTTING_DOWN') return drainStep(deps, { workerId: worker.id });
  return stepShuttingDown(deps, value);
}

/**
 * Deregisters the CML licence of a worker about to be stopped or terminated, once per shutdown
 * (a worker whose licence is not REGISTERED, or whose attempt is already recorded, is left
 * alone), and records the outcome on the worker: DEREGISTERED/LOCAL_ONLY (status UNREGISTERED)
 * or FAILED with the error (status unchanged). Never throws for CML: the stop goes on.
 * Registration on the next start (provisioning's RegisterLicense) clears the record.
 */
export async function deregisterLicence(
  deps: Pick<Deps, 'workers' | 'cml' | 'clock'>,
  worker: Worker,
): Promise<LicenseDeregistrationOutcome | undefined> {
  const { license } = worker;
  if (license.status !== 'REGISTERED' || license.deregistration || !worker.cmlBaseUrl) return undefined;
  let outcome: LicenseDeregistrationOutcome;
  let error: string | undefined;
  try {
    const { localOnly } = await deps
      .cml({ id: worker.id, cmlBaseUrl: worker.cmlBaseUrl })
      .deregisterLicense();
    outcome = localOnly ? 'LOCAL_ONLY' : 'DEREGISTERED';
  } catch (e) {
    outcome = 'FAILED';
    error = (e instanceof Error ? e.message : String(e)).slice(0, 2000);
    logger.warn('licence deregistration failed; the worker is stopped anyway', {
      workerId: worker.id,
      licenseType: license.type,
      error,
    });
  }
  recordMetric('licenseDeregistrations', 1, { reason: outcome });
  const deregistration = { at: nowOf(deps).toISOString(), outcome, ...(error ? { error } : {}) };
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (w.license.deregistration) return w;
      return deps.workers.update(
        w.id,
        {
          license: {
            ...w.license,
            status: outcome === 'FAILED' ? w.license.status : 'UNREGISTERED',
            deregistration,
          },
        },
        w.version,
      );
    },
    { maxAttempts: 10 },
  );
  return outcome;
}

/** The licence outcome for the history entry that ends a stop or termination ('' when none). */
function licenceNote(worker: Pick<Worker, 'license'>): string {
  const d = worker.license.deregistration;
  if (!d) return '';
  if (d.outcome === 'FAILED') return `; licence deregistration FAILED: ${d.error ?? 'unknown error'}`;
  return d.outcome === 'LOCAL_ONLY' ? '; licence deregistered on the host only' : '; licence deregistered';
}

export interface DrainFailOutput {
  status: WorkerStatus;
  error: string;
  cause: string;
  terminatedInstance?: string | undefined;
}

/**
 * The Catch of the drain: a worker that holds no session is marked FAILED and its instance
 * terminated (no orphaned EC2); one being terminated keeps SHUTTING_DOWN (the reconciliation
 * finishes it once the instance is gone); a worker that still holds sessions is left as it is.
 */
export async function failDrain(
  deps: Deps,
  input: { workerId: string; error?: StepError | undefined },
): Promise<DrainFailOutput> {
  const error = input.error?.Error ?? 'Fleet.Unknown';
  const cause = (input.error?.Cause ?? 'drain failed').slice(0, 1500);
  let worker: Worker;
  try {
    worker = await deps.workers.get(input.workerId);
  } catch (e) {
    if (e instanceof NotFoundError) return { status: 'TERMINATED', error, cause };
    throw e;
  }
  const terminate = async (): Promise<string | undefined> => {
    if (!worker.ec2InstanceId) return undefined;
    await deregisterLicence(deps, worker);
    await deps.compute.terminateInstance(worker.ec2InstanceId);
    return worker.ec2InstanceId;
  };
  if (worker.status === 'SHUTTING_DOWN') {
    return { status: worker.status, error, cause, terminatedInstance: await terminate() };
  }
  const holdsSessions = (await activeSessionCount(deps, worker.id)) > 0;
  const canFail = DRAINING_WORKER_STATUSES.includes(worker.status);
  if (!canFail || holdsSessions) return { status: worker.status, error, cause };
  const terminatedInstance = await terminate();
  const { value } = await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (!DRAINING_WORKER_STATUSES.includes(w.status)) return w;
      return deps.workers.transition(w.id, w.status, 'FAILED', BY, `${error}: ${cause}`, {
        expectedVersion: w.version,
        patch: { serviceStatus: 'UNAVAILABLE' },
      });
    },
    { maxAttempts: 10 },
  );
  return { status: value.status, error, cause, terminatedInstance };
}
