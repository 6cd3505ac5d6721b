import type { Worker } from '../kernel/index.ts';
import { BOOTING_WORKER_STATUSES } from '../kernel/index.ts';
import { type ExecutionStatus, nowOf } from '../platform/index.ts';
import { cmlReadyBoundSeconds, type FleetDeps } from './deps.ts';
import { failProvisioning } from './steps/provisioning.ts';
import { ensureWorkerWorkflow, startIndex } from './workflow-dispatch.ts';

/**
 * Provisionings that never end (issue 10, item 5; part of the health sweep): a worker still
 * booting (PENDING, PROVISIONING, STARTING) `provisioningBoundSeconds` after its provisioning began
 * — its creation for a launch, its move to STARTING for a start — has a workflow that died mid-way
 * (Lambda crash past its retries, an execution aborted or timed out, a lost start) or hangs.
 * Step Functions' execution names are deterministic (workflow-dispatch.ts), so a closed execution
 * is never started again under its name and the worker would wait forever, holding an instance.
 *
 * Each such worker goes through the provisioning workflow's own failure step (failProvisioning):
 * every instance tagged with it is terminated, then FAILED with `ProvisioningTimedOut` as reason
 * (TERMINATED if its termination was requested meanwhile). The FAILED transition is the usual
 * worker event (outbox → `lcm.worker` status change, WorkersFailed metric). A still-running
 * execution that wakes up later finds the worker FAILED and ends (WorkerChanged → its own
 * FailProvisioning, which has nothing left to do).
 */

export const PROVISIONING_TIMED_OUT = 'ProvisioningTimedOut';

export interface StuckProvisioningResult {
  checked: number;
  failed: Array<{
    workerId: string;
    /** What Step Functions said of the worker's provisioning execution. */
    execution: ExecutionStatus;
    outcome: string;
    terminatedInstances: string[];
  }>;
}

type Deps = Pick<FleetDeps, 'workers' | 'templates' | 'compute' | 'workflows' | 'config' | 'clock'>;

/**
 * The bound of one worker: the configured one, or — for a template whose boot is long — the
 * workflow's own bounds (instance running + boot minutes + margin) plus one sweep period, so a live
 * workflow always fails on its own first.
 */
export async function provisioningBoundOf(
  deps: Pick<Deps, 'templates' | 'config'>,
  w: Worker,
): Promise<number> {
  const configured = deps.config.provisioningBoundSeconds;
  const template = await deps.templates.get(w.templateName).catch(() => undefined);
  if (!template) return configured;
  const own = deps.config.instanceRunningTimeoutSeconds + cmlReadyBoundSeconds(deps.config, template) + 300;
  return Math.max(configured, own);
}

/** When the worker's current provisioning began: its creation (launch) or its entry into STARTING (start). */
export function provisioningSince(w: Pick<Worker, 'createdAt' | 'stateHistory' | 'status'>): string {
  if (w.status === 'STARTING') {
    const i = startIndex(w);
    if (i !== undefined) return w.stateHistory[i]!.at;
  }
  return w.createdAt;
}

export async function failStuckProvisioning(deps: Deps): Promise<StuckProvisioningResult> {
  const now = nowOf(deps).getTime();
  const booting: Worker[] = [];
  for (const status of BOOTING_WORKER_STATUSES) booting.push(...(await deps.workers.listAllByStatus(status)));
  const result: StuckProvisioningResult = { checked: booting.length, failed: [] };
  for (const w of booting) {
    const since = provisioningSince(w);
    if (now - Date.parse(since) < deps.config.provisioningBoundSeconds * 1000) continue;
    const bound = await provisioningBoundOf(deps, w);
    if (now - Date.parse(since) < bound * 1000) continue;
    // The execution the status calls for (idempotent: an existing name is that execution).
    const started = await ensureWorkerWorkflow(deps, w);
    const execution = started ? await deps.workflows.executionStatus(started.executionArn) : 'NOT_FOUND';
    const elapsed = Math.round((now - Date.parse(since)) / 1000);
    const out = await failProvisioning(deps, {
      workerId: w.id,
      error: {
        Error: PROVISIONING_TIMED_OUT,
        Cause: `still ${w.status} ${elapsed} s after its provisioning began (bound ${bound} s); provisioning execution ${execution}`,
      },
    });
    if (out.outcome === 'NONE') continue;
    result.failed.push({
      workerId: w.id,
      execution,
      outcome: out.outcome,
      terminatedInstances: out.terminatedInstances,
    });
  }
  return result;
}
