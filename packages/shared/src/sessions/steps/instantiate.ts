import * as z from 'zod';
import { rewriteTopologyPorts } from '../../catalogue/index.ts';
import type { LabletSession, Worker } from '../../kernel/index.ts';
import { DomainError } from '../../kernel/index.ts';
import type { CmlApi } from '../../platform/index.ts';
import { IntegrationError, nowOf } from '../../platform/index.ts';
import {
  advance,
  assertNotTerminated,
  labTitleOf,
  type SessionStepDeps,
  WORKFLOW_ACTOR,
  waitTimestamp,
} from './deps.ts';
import { integrationFailure, WORKFLOW_ERRORS, WorkflowTaskError } from './errors.ts';

export const SessionStepInput = z.object({ sessionId: z.string().min(1) });
export type SessionStepInput = z.input<typeof SessionStepInput>;

export interface ImportLabOutput {
  cmlLabId: string;
  workerId: string;
  /** When CheckLabBooted gives up (CmlBootTimeout). */
  bootDeadline: string;
}

/** The session's worker and its CML client (a session without a placement is a bug upstream). */
export async function workerOf(
  deps: SessionStepDeps,
  session: LabletSession,
): Promise<{ worker: Worker; cml: CmlApi }> {
  if (!session.workerId) throw new Error(`session ${session.id} has no worker`);
  const worker = await deps.stores.workers.get(session.workerId);
  return { worker, cml: deps.cml(worker) };
}

/**
 * The session's lab on the worker: the recorded cmlLabId if CML still has it, else a lab with
 * the session's title (an import whose id was never recorded). Undefined when there is none.
 */
export async function findSessionLab(cml: CmlApi, session: LabletSession): Promise<string | undefined> {
  if (session.cmlLabId) {
    try {
      await cml.getLab(session.cmlLabId);
      return session.cmlLabId;
    } catch (e) {
      if (!(e instanceof IntegrationError && e.status === 404)) throw e;
    }
  }
  const title = labTitleOf(session.id);
  for (const id of await cml.listLabs()) {
    try {
      if ((await cml.getLab(id)).lab_title === title) return id;
    } catch (e) {
      if (!(e instanceof IntegrationError && e.status === 404)) throw e;
    }
  }
  return undefined;
}

/**
 * ImportLab: SCHEDULED → INSTANTIATING (a session that claimed a pooled lab skips the import and
 * the start: its lab runs already), the definition's topology with the allocated ports
 * written into its PATty node tags, imported under the session's title (a retry finds the lab
 * instead of importing twice), its id recorded, and started. Import failures: 5xx/network →
 * `CmlImportFailed` (retried), 4xx or no topology → `CmlImportRejected` (reason CML_IMPORT_FAILED).
 * Start failures: 5xx/network → `CmlStartFailed` (retried; the retry finds the imported lab and
 * starts it again), 4xx → `CmlStartRejected` (reason CML_START_FAILED).
 */
export async function importLabStep(
  deps: SessionStepDeps,
  input: SessionStepInput,
): Promise<ImportLabOutput> {
  const { sessionId } = SessionStepInput.parse(input);
  let session = await deps.stores.sessions.getSession(sessionId);
  assertNotTerminated(session);
  const { worker, cml } = await workerOf(deps, session);
  if (session.pooledLabId && session.cmlLabId) {
    // Claimed from a hot-start pool (issue 15, item 3): the lab is imported, started and
    // converged already; CheckLabBooted confirms it once.
    await advance(
      deps,
      session,
      'SCHEDULED',
      'INSTANTIATING',
      WORKFLOW_ACTOR,
      `pooled lab ${session.pooledLabId} (CML lab ${session.cmlLabId}) on worker ${worker.id}: import and start skipped`,
    );
    const deadline = new Date(nowOf(deps).getTime() + deps.config.labBootTimeoutSeconds * 1000);
    return { cmlLabId: session.cmlLabId, workerId: worker.id, bootDeadline: waitTimestamp(deadline) };
  }
  session = await advance(
    deps,
    session,
    'SCHEDULED',
    'INSTANTIATING',
    WORKFLOW_ACTOR,
    `instantiating on worker ${worker.id}`,
  );

  let labId: string | undefined;
  try {
    labId = await findSessionLab(cml, session);
  } catch (e) {
    throw integrationFailure(e, WORKFLOW_ERRORS.cmlImportFailed, WORKFLOW_ERRORS.cmlImportFailed, 'CML');
  }
  if (!labId) {
    const definition = await deps.stores.definitions.getVersion(
      session.definitionId,
      session.definitionVersion,
    );
    // From the content bucket by hash (or inline in a version written before issue 11).
    const topologyYaml = await deps.stores.definitions.readTopology(definition);
    if (!topologyYaml) {
      throw new WorkflowTaskError(
        WORKFLOW_ERRORS.cmlImportRejected,
        `definition ${definition.id} v${definition.version} has no CML topology`,
      );
    }
    let yaml: string;
    try {
      yaml = rewriteTopologyPorts(topologyYaml, session.portTemplate, session.allocatedPorts ?? {});
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      throw new WorkflowTaskError(
        WORKFLOW_ERRORS.cmlImportRejected,
        `the topology of ${definition.id} v${definition.version} cannot take the allocated ports: ${e.message}`,
        { cause: e },
      );
    }
    try {
      labId = (await cml.importLab(yaml, labTitleOf(session.id))).id;
    } catch (e) {
      throw integrationFailure(
        e,
        WORKFLOW_ERRORS.cmlImportFailed,
        WORKFLOW_ERRORS.cmlImportRejected,
        'CML import',
      );
    }
  }
  if (session.cmlLabId !== labId) {
    session = await deps.stores.sessions.update(session.id, { cmlLabId: labId }, session.version);
  }
  try {
    await cml.startLab(labId);
  } catch (e) {
    throw integrationFailure(
      e,
      WORKFLOW_ERRORS.cmlStartFailed,
      WORKFLOW_ERRORS.cmlStartRejected,
      'CML start',
    );
  }
  const deadline = new Date(nowOf(deps).getTime() + deps.config.labBootTimeoutSeconds * 1000);
  return { cmlLabId: labId, workerId: worker.id, bootDeadline: waitTimestamp(deadline) };
}

export const CheckLabBootedInput = SessionStepInput.extend({ bootDeadline: z.string().min(1) });

/**
 * CheckLabBooted: whether every node has booted (`check_if_converged`); past the boot deadline
 * without convergence → `CmlBootTimeout`. The state machine polls it with a Wait in between.
 */
export async function checkLabBootedStep(
  deps: SessionStepDeps,
  input: z.input<typeof CheckLabBootedInput>,
): Promise<{ converged: boolean }> {
  const { sessionId, bootDeadline } = CheckLabBootedInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  assertNotTerminated(session);
  if (!session.cmlLabId) throw new Error(`session ${sessionId} has no CML lab`);
  const { cml } = await workerOf(deps, session);
  const converged = await cml.checkIfConverged(session.cmlLabId);
  if (!converged && nowOf(deps).getTime() >= Date.parse(bootDeadline)) {
    throw new WorkflowTaskError(
      WORKFLOW_ERRORS.cmlBootTimeout,
      `lab ${session.cmlLabId} did not converge within ${deps.config.labBootTimeoutSeconds} s`,
    );
  }
  return { converged };
}
