import { operationsHandler } from '@lcm/shared/api';
import { apiInstanceTypes, apiStores } from '@lcm/shared/app';
import {
  createTemplate,
  deleteTemplate,
  disableTemplate,
  getTemplate,
  listTemplates,
  updateTemplate,
} from '@lcm/shared/fleet';
import { json, runIdempotent } from '@lcm/shared/platform';

/**
 * /v1/worker-templates: thin handlers over packages/shared/src/fleet/templates.ts. Create and
 * update check the instance type through EC2's DescribeInstanceTypes (422 when CML cannot run on
 * it as the template claims).
 */
const deps = () => ({ ...apiStores(), ...apiInstanceTypes() });

export const handler = operationsHandler(
  'templates',
  {
    listWorkerTemplates: async ({ query }) => json(200, await listTemplates(apiStores(), query)),

    createWorkerTemplate: async ({ body, idempotencyKey }) =>
      json(201, await createTemplate(deps(), body, { replay: idempotencyKey !== undefined })),

    getWorkerTemplate: async ({ params }) => json(200, await getTemplate(apiStores(), params.name)),

    updateWorkerTemplate: async ({ params, body }) => {
      const { expectedVersion, ...changes } = body;
      return json(200, await updateTemplate(deps(), params.name, changes, expectedVersion));
    },

    disableWorkerTemplate: async ({ params }) => json(200, await disableTemplate(apiStores(), params.name)),

    deleteWorkerTemplate: async ({ params }) => {
      await deleteTemplate(apiStores(), params.name);
      return json(204);
    },
  },
  { idempotency: runIdempotent },
);
