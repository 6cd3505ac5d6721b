import type { Worker } from '../kernel/index.ts';
import { LIVE_WORKER_STATUSES, NotFoundError } from '../kernel/index.ts';
import { IntegrationError } from '../platform/index.ts';
import type { FleetDeps } from './deps.ts';

/**
 * Leftover labs (issue 12, item 4): a session force-released while its CML lab could not be
 * deleted (its teardown ended TEARDOWN_FAILED) leaves the lab recorded on its worker
 * (fleet/stores/leftover-lab-store.ts). Every health sweep run tries each recorded lab again:
 *
 * - worker live (RUNNING, DRAINING) with a CML address: stop → wipe → delete the lab; a lab CML
 *   no longer knows (404) counts as deleted. Deleted → the record goes. A failure is noted on the
 *   record (attempts, last error) and the lab is tried again on the next run.
 * - worker gone (no item, TERMINATED or FAILED: its instance is or will be terminated, the lab
 *   dies with it) → the record goes.
 * - any other status (booting, stopping, STOPPED: CML not serving now, the disks and the lab
 *   still there) → left for a later run.
 */

export interface LeftoverLabsResult {
  checked: number;
  deleted: Array<{ workerId: string; cmlLabId: string; sessionId: string }>;
  /** Records dropped because their worker is gone (the lab went with it). */
  dropped: Array<{ workerId: string; cmlLabId: string; why: string }>;
  failed: Array<{ workerId: string; cmlLabId: string; error: string }>;
}

type Deps = Pick<FleetDeps, 'workers' | 'cml' | 'leftoverLabs'>;

const GONE: ReadonlySet<string> = new Set(['TERMINATED', 'FAILED']);
const LIVE: ReadonlySet<string> = new Set(LIVE_WORKER_STATUSES);
const notFound = (e: unknown): boolean => e instanceof IntegrationError && e.status === 404;
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Stop, wipe and delete one lab; a lab that is gone (404 at any step) is done. */
async function deleteLab(deps: Pick<Deps, 'cml'>, worker: Worker & { cmlBaseUrl: string }, labId: string) {
  const cml = deps.cml(worker);
  for (const step of [() => cml.stopLab(labId), () => cml.wipeLab(labId), () => cml.deleteLab(labId)]) {
    try {
      await step();
    } catch (e) {
      if (notFound(e)) return;
      throw e;
    }
  }
}

export async function deleteLeftoverLabs(deps: Deps): Promise<LeftoverLabsResult> {
  const labs = await deps.leftoverLabs.listAll();
  const result: LeftoverLabsResult = { checked: labs.length, deleted: [], dropped: [], failed: [] };
  const workers = new Map<string, Worker | undefined>();
  for (const lab of labs) {
    if (!workers.has(lab.workerId)) {
      workers.set(
        lab.workerId,
        await deps.workers.get(lab.workerId).catch((e: unknown) => {
          if (e instanceof NotFoundError) return undefined;
          throw e;
        }),
      );
    }
    const worker = workers.get(lab.workerId);
    if (!worker || GONE.has(worker.status)) {
      await deps.leftoverLabs.remove(lab.workerId, lab.cmlLabId);
      result.dropped.push({
        workerId: lab.workerId,
        cmlLabId: lab.cmlLabId,
        why: worker ? `worker ${worker.status}` : 'worker no longer exists',
      });
      continue;
    }
    if (!LIVE.has(worker.status) || !worker.cmlBaseUrl) continue;
    try {
      await deleteLab(deps, { ...worker, cmlBaseUrl: worker.cmlBaseUrl }, lab.cmlLabId);
      await deps.leftoverLabs.remove(lab.workerId, lab.cmlLabId);
      result.deleted.push({ workerId: lab.workerId, cmlLabId: lab.cmlLabId, sessionId: lab.sessionId });
    } catch (e) {
      await deps.leftoverLabs.noteAttempt(lab.workerId, lab.cmlLabId, message(e));
      result.failed.push({ workerId: lab.workerId, cmlLabId: lab.cmlLabId, error: message(e) });
    }
  }
  return result;
}
