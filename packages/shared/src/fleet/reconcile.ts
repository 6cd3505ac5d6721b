import type { Worker, WorkerStatus } from '../kernel/index.ts';
import { INSTANCE_WORKER_STATUSES } from '../kernel/index.ts';
import { type InstanceInfo, nowOf, retryOnConflict, workerIdOf } from '../platform/index.ts';
import { type FleetDeps, WORKER_LOST } from './deps.ts';
import { allWorkers } from './workers.ts';
import { ensureWorkerWorkflow } from './workflow-dispatch.ts';

/**
 * Reconciliation of the table with EC2 (part of the health sweep, DESIGN §7):
 * - an instance tagged with a worker id whose worker is gone, TERMINATED or FAILED (or that is
 *   not the instance the worker records) is terminated: no orphaned EC2;
 * - a worker whose instance no longer exists (or is terminated) becomes TERMINATED (through
 *   SHUTTING_DOWN), its sessions failed into teardown with WORKER_LOST; a worker changed less
 *   than `missingInstanceGraceSeconds` ago is left for the next sweep (EC2's eventual
 *   consistency right after a launch);
 * - a worker whose status calls for a workflow (see dispatch.ts) gets it started: the API's
 *   start/stop/terminate and a workflow lost to a crash are picked up here. The execution names
 *   are deterministic, so a workflow that is already running is not started twice.
 */

const BY = 'fleet-reconcile';

export interface ReconcileResult {
  instancesSeen: number;
  /** Instances terminated because no live worker owns them. */
  orphansTerminated: Array<{ instanceId: string; workerId?: string | undefined; why: string }>;
  /** Workers marked TERMINATED because their instance is gone. */
  workersTerminated: Array<{ workerId: string; sessions: string[] }>;
  /** Workflows (re)started for workers whose status needs one. */
  workflowsStarted: Array<{ workerId: string; kind: string; executionArn: string }>;
}

type Deps = Pick<
  FleetDeps,
  'workers' | 'sessions' | 'failSessionsOn' | 'compute' | 'workflows' | 'config' | 'clock'
>;

/** Statuses in which a worker holds (or held) an instance that must exist. */
const HOLDS_INSTANCE: ReadonlySet<WorkerStatus> = new Set(INSTANCE_WORKER_STATUSES);

function orphanReason(instance: InstanceInfo, worker: Worker | undefined): string | undefined {
  if (!worker) return 'its worker does not exist';
  if (worker.status === 'TERMINATED' || worker.status === 'FAILED') return `its worker is ${worker.status}`;
  if (worker.ec2InstanceId && worker.ec2InstanceId !== instance.instanceId) {
    return `its worker records instance ${worker.ec2InstanceId}`;
  }
  return undefined;
}

export async function reconcileFleet(deps: Deps): Promise<ReconcileResult> {
  const now = nowOf(deps);
  const [instances, workers] = await Promise.all([
    deps.compute.listWorkerInstances({ stage: deps.config.stage }),
    allWorkers(deps.workers),
  ]);
  const byId = new Map(workers.map((w) => [w.id, w]));
  const result: ReconcileResult = {
    instancesSeen: instances.length,
    orphansTerminated: [],
    workersTerminated: [],
    workflowsStarted: [],
  };

  // 1. Instances nobody (alive) owns.
  const byInstance = new Map<string, InstanceInfo>();
  for (const instance of instances) {
    byInstance.set(instance.instanceId, instance);
    const workerId = workerIdOf(instance);
    const why = orphanReason(instance, workerId ? byId.get(workerId) : undefined);
    if (why === undefined || instance.state === 'shutting-down' || instance.state === 'terminated') continue;
    await deps.compute.terminateInstance(instance.instanceId);
    result.orphansTerminated.push({ instanceId: instance.instanceId, workerId, why });
  }

  // 2. Workers whose instance is gone.
  const graceMs = deps.config.missingInstanceGraceSeconds * 1000;
  for (const w of workers) {
    if (!HOLDS_INSTANCE.has(w.status) || !w.ec2InstanceId) continue;
    if (now.getTime() - Date.parse(w.updatedAt) < graceMs) continue;
    let instance = byInstance.get(w.ec2InstanceId);
    // Terminated instances are not in the listing: confirm by id before concluding.
    if (!instance) instance = await deps.compute.describeInstance(w.ec2InstanceId);
    if (instance && instance.state !== 'terminated') continue;
    const terminated = await markTerminated(deps, w.id, w.ec2InstanceId);
    if (terminated) {
      const sessions = await deps.failSessionsOn(w.id, WORKER_LOST);
      result.workersTerminated.push({ workerId: w.id, sessions });
    }
  }

  // 3. Workflows the statuses call for.
  for (const w of workers) {
    if (result.workersTerminated.some((t) => t.workerId === w.id)) continue;
    const started = await ensureWorkerWorkflow(deps, w);
    if (started) {
      result.workflowsStarted.push({
        workerId: w.id,
        kind: started.workflow.kind,
        executionArn: started.executionArn,
      });
    }
  }
  return result;
}

/** Any status but TERMINATED → (SHUTTING_DOWN →) TERMINATED; false if it changed meanwhile. */
async function markTerminated(
  deps: Pick<Deps, 'workers'>,
  workerId: string,
  instanceId: string,
): Promise<boolean> {
  const { value } = await retryOnConflict(
    async () => {
      let w = await deps.workers.get(workerId);
      if (w.status === 'TERMINATED' || w.ec2InstanceId !== instanceId || !HOLDS_INSTANCE.has(w.status))
        return false;
      const reason = `instance ${instanceId} no longer exists`;
      if (w.status !== 'SHUTTING_DOWN') {
        w = await deps.workers.transition(w.id, w.status, 'SHUTTING_DOWN', BY, reason, {
          expectedVersion: w.version,
          patch: { desiredStatus: 'TERMINATED', serviceStatus: 'UNAVAILABLE' },
        });
      }
      await deps.workers.transition(w.id, 'SHUTTING_DOWN', 'TERMINATED', BY, reason, {
        expectedVersion: w.version,
        patch: { serviceStatus: 'UNAVAILABLE' },
      });
      return true;
    },
    { maxAttempts: 10 },
  );
  return value;
}
