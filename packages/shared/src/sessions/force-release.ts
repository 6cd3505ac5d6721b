import * as z from 'zod';
import type { LeftoverLabStore, WorkerStore } from '../fleet/index.ts';
import {
  CapacitySchema,
  ConflictError,
  Id,
  LabletSessionSchema,
  NotFoundError,
  PortNumber,
  requirementsAsCapacity,
} from '../kernel/index.ts';
import { retryOnConflict } from '../platform/index.ts';
import type { PlacementStore } from './placement-store.ts';
import { forceReleaseRefusal } from './rules/recovery.ts';
import type { SessionStore } from './session-store.ts';

/**
 * Force-release (issue 12, item 4; POST /v1/sessions/{id}/release, operators and admins): for a
 * session whose teardown gave up (TEARDOWN_FAILED), gives back what the teardown could not:
 *
 * 1. its CML lab, if the worker is still there, is recorded as a leftover lab on that worker
 *    (fleet/stores/leftover-lab-store.ts), which the health sweep deletes once CML answers;
 * 2. the release transaction returns the capacity and port leases to the worker;
 * 3. the session goes to TERMINATED, the history entry naming who asked, why, and what was
 *    released (failureReason stays TEARDOWN_FAILED, `teardownFailure` keeps what had failed).
 *
 * Every step is idempotent, so a retried request finishes a half-done one. Any other session is
 * a 409 (rules/recovery.ts). The LDS session is not archived here (the API holds no LDS client);
 * LDS ends it at its own end time.
 */

export interface ForceReleaseDeps {
  sessions: Pick<SessionStore, 'getSession' | 'transition'>;
  placement: Pick<PlacementStore, 'release'>;
  workers: Pick<WorkerStore, 'get'>;
  leftoverLabs: Pick<LeftoverLabStore, 'record'>;
  clock?: () => Date;
}

export const ForceReleaseResultSchema = z.object({
  outcome: z.literal('released').describe('`released`.'),
  session: LabletSessionSchema.describe('The session after the release (TERMINATED).'),
  released: z
    .object({
      workerId: Id.nullable().describe('The worker given back to (null: the session was on none).'),
      /** The session's capacity given back to the worker (null: it held none any more). */
      capacity: CapacitySchema.nullable().describe(
        "The session's capacity given back to the worker (null: it held none any more).",
      ),
      ports: z.array(PortNumber).describe('The outside ports whose leases were removed.'),
    })
    .describe('What went back to the worker.'),
  /** The lab recorded for deletion by the health sweep (null: no lab, or its worker is gone). */
  leftoverLab: z
    .object({
      workerId: Id.describe('The worker the lab is on.'),
      cmlLabId: z.string().describe('The CML lab.'),
    })
    .describe('The lab recorded for deletion by the health sweep (null: no lab, or its worker is gone).')
    .nullable(),
});
export type ForceReleaseResult = z.output<typeof ForceReleaseResultSchema>;

const GONE = new Set(['TERMINATED', 'FAILED', 'SHUTTING_DOWN']);

export async function forceReleaseSession(
  deps: ForceReleaseDeps,
  id: string,
  ctx: { by: string; reason?: string | undefined },
): Promise<ForceReleaseResult> {
  const session = await deps.sessions.getSession(id);
  const refusal = forceReleaseRefusal(session);
  if (refusal) {
    throw new ConflictError(refusal, {
      sessionId: id,
      status: session.status,
      failureReason: session.failureReason ?? null,
    });
  }

  // 1. The lab, unless its worker is gone (the lab went with the instance).
  let leftoverLab: ForceReleaseResult['leftoverLab'] = null;
  if (session.workerId && session.cmlLabId) {
    const worker = await deps.workers.get(session.workerId).catch((e: unknown) => {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    });
    if (worker && !GONE.has(worker.status)) {
      await deps.leftoverLabs.record({
        workerId: worker.id,
        cmlLabId: session.cmlLabId,
        sessionId: id,
        by: ctx.by,
      });
      leftoverLab = { workerId: worker.id, cmlLabId: session.cmlLabId };
    }
  }

  // 2. Capacity and ports (the release transaction; nothing held → released false).
  const { value: release } = await retryOnConflict(() => deps.placement.release(id));
  const ports = Object.values(release.ports ?? {}).sort((a, b) => a - b);
  const released = {
    workerId: release.workerId ?? session.workerId ?? null,
    capacity: release.released ? requirementsAsCapacity(session.requirements) : null,
    ports,
  };

  // 3. TERMINATED, attributed to the caller.
  const what = [
    release.released
      ? `capacity and ${ports.length} port(s) released on worker ${release.workerId}`
      : 'no capacity or ports were still held',
    leftoverLab
      ? `lab ${leftoverLab.cmlLabId} recorded for deletion on worker ${leftoverLab.workerId}`
      : session.cmlLabId
        ? `lab ${session.cmlLabId} went with its worker`
        : 'no lab',
  ].join('; ');
  const why = `TEARDOWN_FAILED: force-released by ${ctx.by}${ctx.reason ? ` (${ctx.reason})` : ''}: ${what}`;
  const { value: terminated } = await retryOnConflict(
    async () => {
      const current = await deps.sessions.getSession(id);
      if (current.status === 'TERMINATED') return current;
      return deps.sessions.transition(
        id,
        current.status,
        'TERMINATED',
        ctx.by,
        why.slice(0, 2000),
        current.pendingWait ? { pendingWait: null } : {},
        { expectedVersion: current.version },
      );
    },
    { maxAttempts: 10 },
  );
  return { outcome: 'released', session: terminated, released, leftoverLab };
}
