import { definitionPage, definitionReply, type OperationRequest, operationsHandler } from '@lcm/shared/api';
import type { Stores } from '@lcm/shared/app';
import { apiStores } from '@lcm/shared/app';
import {
  archiveDefinition,
  createDefinition,
  type DefinitionDeps,
  deprecateDefinition,
  getDefinition,
  getDefinitionVersion,
  listDefinitions,
  listDefinitionVersions,
  requestContentSync,
  updateDefinition,
} from '@lcm/shared/catalogue';
import { json, runIdempotent } from '@lcm/shared/platform';
import { applyObservedToDefinition, getDefinitionObservations } from '@lcm/shared/sessions';

/**
 * /v1/definitions: versioned lab definitions. Thin: the dispatcher routes, checks roles and
 * validates; each operation calls a command/query of packages/shared and shapes the reply.
 * Definitions leave as their view (api/views.ts): device credentials are write-only.
 */
const byOf = (req: Pick<OperationRequest<'createDefinition'>, 'caller'>): string => req.caller?.sub ?? 'api';

const definitionPath = (id: string): string => `/v1/definitions/${encodeURIComponent(id)}`;

/** The definition commands' stores plus the sessions (observations of a definition's sessions). */
export type DefinitionsHandlerDeps = DefinitionDeps & Pick<Stores, 'sessions'>;

export function definitionsHandler(deps: () => DefinitionsHandlerDeps = apiStores) {
  return operationsHandler(
    'definitions',
    {
      listDefinitions: async ({ query }) => json(200, definitionPage(await listDefinitions(deps(), query))),
      getDefinition: async ({ params }) => json(200, definitionReply(await getDefinition(deps(), params.id))),
      listDefinitionVersions: async ({ params }) =>
        json(200, definitionPage(await listDefinitionVersions(deps(), params.id))),
      getDefinitionVersion: async ({ params }) =>
        json(200, definitionReply(await getDefinitionVersion(deps(), params.id, params.version))),
      createDefinition: async (req) => {
        const { definition, created } = await createDefinition(deps(), req.body, {
          by: byOf(req),
          idempotencyKey: req.idempotencyKey,
        });
        return json(201, definitionReply(definition), {
          location: `/v1/definitions/${encodeURIComponent(definition.id)}`,
          ...(created ? {} : { 'idempotency-replayed': 'true' }),
        });
      },
      updateDefinition: async (req) =>
        json(
          200,
          definitionReply(await updateDefinition(deps(), req.params.id, req.body, { by: byOf(req) })),
        ),
      deprecateDefinition: async ({ params }) =>
        json(200, definitionReply(await deprecateDefinition(deps(), params.id))),
      archiveDefinition: async ({ params }) =>
        json(200, definitionReply(await archiveDefinition(deps(), params.id))),
      getDefinitionObservations: async ({ params, query }) =>
        json(200, await getDefinitionObservations(deps(), params.id, query)),
      applyObservedToDefinition: async (req) => {
        const result = await applyObservedToDefinition(deps(), req.params.id, req.body, { by: byOf(req) });
        const { id, version } = result.definition;
        return json(
          200,
          { ...result, definition: definitionReply(result.definition) },
          { location: `${definitionPath(id)}/versions/${version}` },
        );
      },
      syncDefinitionContent: async ({ params }) => {
        const result = await requestContentSync(deps(), params.id);
        return json(
          202,
          { ...result, definition: definitionReply(result.definition) },
          {
            location: definitionPath(params.id),
          },
        );
      },
    },
    { idempotency: runIdempotent },
  );
}

export const handler = definitionsHandler();
