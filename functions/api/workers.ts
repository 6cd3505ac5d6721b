import { type Caller, operationsHandler, sessionPage, sessionScopeOf } from '@lcm/shared/api';
import { apiFleetWorkflows, apiStores } from '@lcm/shared/app';
import {
  createWorker,
  ensureWorkerWorkflow,
  getWorker,
  getWorkerCapacity,
  listWorkerPorts,
  listWorkerSessions,
  listWorkers,
  requestWorkerAction,
  type WorkerAction,
  workerIdForRequest,
} from '@lcm/shared/fleet';
import type { Worker } from '@lcm/shared/kernel';
import { json, runIdempotent } from '@lcm/shared/platform';
import { inScope } from '@lcm/shared/sessions';

/**
 * /v1/workers: thin handlers over packages/shared/src/fleet/workers.ts. The actions record
 * the desired status and make the transition planWorkerAction maps them to; 202 because the
 * fleet workflows finish the job (launch, stop, terminate the EC2 instance).
 */

const actor = (caller: Caller | undefined): string => caller?.sub ?? 'anonymous';

const action = async (
  name: WorkerAction,
  {
    params,
    body,
    caller,
  }: { params: { id: string }; body: { reason?: string | undefined }; caller: Caller | undefined },
) => withWorkflow(await requestWorkerAction(apiStores(), params.id, name, actor(caller), body.reason));

/**
 * Starts the provisioning or drain workflow the worker's new status calls for, at once rather
 * than at the next reconciliation sweep (idempotent: execution names come from the history).
 */
async function withWorkflow(worker: Worker): Promise<Worker> {
  await ensureWorkerWorkflow({ workflows: apiFleetWorkflows() }, worker);
  return worker;
}

export const handler = operationsHandler(
  'workers',
  {
    listWorkers: async ({ query }) => json(200, await listWorkers(apiStores(), query)),

    createWorker: async ({ body, caller, idempotencyKey }) => {
      const id = idempotencyKey === undefined ? undefined : workerIdForRequest(actor(caller), idempotencyKey);
      return json(
        201,
        await withWorkflow(await createWorker(apiStores(), { templateName: body.templateName, id })),
      );
    },

    getWorker: async ({ params }) => json(200, await getWorker(apiStores(), params.id)),

    startWorker: async (req) => json(202, await action('start', req)),
    stopWorker: async (req) => json(202, await action('stop', req)),
    drainWorker: async (req) => json(202, await action('drain', req)),
    terminateWorker: async (req) => json(202, await action('terminate', req)),

    // Sessions as the caller may see them (api/views.ts); the roles of workers:read see all today.
    listWorkerSessions: async ({ params, caller }) => {
      const page = await listWorkerSessions(apiStores(), params.id);
      const scope = sessionScopeOf(caller);
      return json(200, sessionPage({ ...page, items: page.items.filter((s) => inScope(scope, s)) }));
    },
    getWorkerCapacity: async ({ params }) => json(200, await getWorkerCapacity(apiStores(), params.id)),
    listWorkerPorts: async ({ params }) => json(200, await listWorkerPorts(apiStores(), params.id)),
  },
  { idempotency: runIdempotent },
);
