import type { Worker, WorkerStatus } from '../kernel/index.ts';
import { DRAINING_WORKER_STATUSES, RETIRING_WORKER_STATUSES } from '../kernel/index.ts';
import type { DrainThen, FleetWorkflows } from '../platform/index.ts';

/**
 * Which fleet workflow a worker's status calls for, and under which execution name. The name is
 * derived from the worker's state history, so every caller asking for the same step (the scaler
 * right after its transition, the API, the reconciliation later) names the same execution and
 * the adapters' idempotent start runs it once:
 *
 * | status                                   | workflow                          | name                  |
 * |------------------------------------------|-----------------------------------|-----------------------|
 * | PENDING, PROVISIONING, STARTING (launch) | provisioning, LAUNCH              | `<id>-launch`         |
 * | STARTING after STOPPED (history #i)      | provisioning, START               | `<id>-start-<i>`      |
 * | DRAINING with desired STOPPED/TERMINATED | drain, STOP/TERMINATE             | `<id>-retire-<j>`     |
 * | STOPPING                                 | drain, STOP                       | `<id>-retire-<j>`     |
 * | SHUTTING_DOWN                            | drain, TERMINATE                  | `<id>-retire-<j>`     |
 * | anything else                            | none                              |                       |
 *
 * `j` is the history entry that began the retirement (into DRAINING, STOPPING or SHUTTING_DOWN
 * from a status outside the retirement), so DRAINING → STOPPING → (terminate) SHUTTING_DOWN all
 * belong to the one drain execution, which re-reads the status at every step.
 */
export type WorkerWorkflow =
  | { kind: 'provisioning'; path: 'LAUNCH' | 'START'; executionName: string }
  | { kind: 'drain'; then: DrainThen | undefined; executionName: string };

const RETIRING: ReadonlySet<WorkerStatus> = new Set(RETIRING_WORKER_STATUSES);
/** A retirement that comes from one of these is the same retirement going on. */
const RETIRE_CONTINUES: ReadonlySet<WorkerStatus> = new Set(DRAINING_WORKER_STATUSES);

type History = Pick<Worker, 'id' | 'status' | 'desiredStatus' | 'stateHistory'>;

/** Index of the last history entry into STARTING from STOPPED, if the latest STARTING came from there. */
export function startIndex(w: Pick<Worker, 'stateHistory'>): number | undefined {
  for (let i = w.stateHistory.length - 1; i >= 0; i--) {
    const h = w.stateHistory[i]!;
    if (h.to === 'STARTING') return h.from === 'STOPPED' ? i : undefined;
  }
  return undefined;
}

/** Index of the history entry that began the current retirement (see the module comment). */
export function retireIndex(w: Pick<Worker, 'stateHistory'>): number {
  for (let i = w.stateHistory.length - 1; i >= 0; i--) {
    const h = w.stateHistory[i]!;
    if (RETIRING.has(h.to) && !RETIRE_CONTINUES.has(h.from)) return i;
  }
  return w.stateHistory.length;
}

/** The drain's `then` from the worker's desired status (which wins over a scaler's hint). */
export function drainThenOf(
  w: Pick<Worker, 'status' | 'desiredStatus'>,
  hint?: DrainThen,
): DrainThen | undefined {
  if (w.status === 'SHUTTING_DOWN' || w.desiredStatus === 'TERMINATED') return 'TERMINATE';
  if (w.status === 'STOPPING' || w.desiredStatus === 'STOPPED') return 'STOP';
  return hint;
}

export const launchExecutionName = (workerId: string): string => `${workerId}-launch`;

export function workflowForWorker(w: History): WorkerWorkflow | undefined {
  switch (w.status) {
    case 'PENDING':
    case 'PROVISIONING':
      return { kind: 'provisioning', path: 'LAUNCH', executionName: launchExecutionName(w.id) };
    case 'STARTING': {
      const i = startIndex(w);
      return i === undefined
        ? { kind: 'provisioning', path: 'LAUNCH', executionName: launchExecutionName(w.id) }
        : { kind: 'provisioning', path: 'START', executionName: `${w.id}-start-${i}` };
    }
    case 'DRAINING':
    case 'STOPPING':
    case 'SHUTTING_DOWN': {
      const then = drainThenOf(w);
      if (then === undefined) return undefined;
      return { kind: 'drain', then, executionName: `${w.id}-retire-${retireIndex(w)}` };
    }
    default:
      return undefined;
  }
}

/**
 * Starts the workflow the worker's status calls for (idempotent: see the module comment);
 * `then` is the scaler's decision for a drain. Returns the execution, or undefined when the
 * status needs none.
 */
export async function ensureWorkerWorkflow(
  deps: { workflows: Pick<FleetWorkflows, 'startProvisioning' | 'startDrain'> },
  worker: History,
  then?: DrainThen,
): Promise<{ executionArn: string; workflow: WorkerWorkflow } | undefined> {
  const wf = workflowForWorker(worker);
  if (wf === undefined) return undefined;
  if (wf.kind === 'provisioning') {
    const { executionArn } = await deps.workflows.startProvisioning(worker.id, {
      executionName: wf.executionName,
    });
    return { executionArn, workflow: wf };
  }
  const { executionArn } = await deps.workflows.startDrain(worker.id, drainThenOf(worker, then) ?? wf.then, {
    executionName: wf.executionName,
  });
  return { executionArn, workflow: wf };
}
