import {
  type DefinitionReply,
  definitionPage,
  definitionReply,
  type OperationRequest,
  operationsHandler,
  withTopology,
} from '@lcm/shared/api';
import type { Stores } from '@lcm/shared/app';
import { apiStores } from '@lcm/shared/app';
import {
  archiveDefinition,
  createDefinition,
  type DefinitionDeps,
  deprecateDefinition,
  getDefinition,
  getDefinitionVersion,
  INLINE_TOPOLOGY_MAX_CHARS,
  listDefinitions,
  listDefinitionVersions,
  newUploadId,
  requestContentSync,
  UPLOAD_MAX_BYTES,
  UPLOAD_URL_TTL_SECONDS,
  updateDefinition,
} from '@lcm/shared/catalogue';
import { withHoldWarnings } from '@lcm/shared/fleet';
import type { LabletDefinition } from '@lcm/shared/kernel';
import { json, runIdempotent } from '@lcm/shared/platform';
import { applyObservedToDefinition, getDefinitionObservations } from '@lcm/shared/sessions';

/**
 * /v1/definitions: versioned lab definitions. Thin: the dispatcher routes, checks roles and
 * validates; each operation calls a command/query of packages/shared and shapes the reply.
 * Definitions leave as their view (api/views.ts): device credentials are write-only.
 */
const byOf = (req: Pick<OperationRequest<'createDefinition'>, 'caller'>): string => req.caller?.sub ?? 'api';

const definitionPath = (id: string): string => `/v1/definitions/${encodeURIComponent(id)}`;

/**
 * The definition commands' stores plus the sessions (observations of a definition's sessions) and
 * the templates (whether an enabled one can hold the definition's sessions).
 */
export type DefinitionsHandlerDeps = DefinitionDeps & Pick<Stores, 'sessions' | 'templates'>;

export function definitionsHandler(deps: () => DefinitionsHandlerDeps = apiStores) {
  /** The reply, with the topology when asked (`?include=topology`): inline YAML, or a URL when large. */
  /** A definition as it leaves: its view, with a NO_TEMPLATE_CAN_HOLD warning while no enabled template can. */
  const view = async (definition: LabletDefinition): Promise<DefinitionReply> =>
    definitionReply((await withHoldWarnings(deps(), [definition]))[0] ?? definition);
  const page = async <P extends { items: LabletDefinition[] }>(p: P) =>
    definitionPage({ ...p, items: await withHoldWarnings(deps(), p.items) });
  const reply = async (definition: LabletDefinition, include?: 'topology'): Promise<DefinitionReply> => {
    const shown = await view(definition);
    if (include !== 'topology') return shown;
    const { definitions } = deps();
    if (definition.topology && definition.topology.sizeBytes > INLINE_TOPOLOGY_MAX_CHARS) {
      return withTopology(shown, { url: await definitions.topologies.url(definition.topology) });
    }
    const yaml = await definitions.readTopology(definition);
    return withTopology(shown, yaml === undefined ? undefined : { yaml });
  };
  return operationsHandler(
    'definitions',
    {
      listDefinitions: async ({ query }) => json(200, await page(await listDefinitions(deps(), query))),
      getDefinition: async ({ params, query }) =>
        json(200, await reply(await getDefinition(deps(), params.id), query.include)),
      listDefinitionVersions: async ({ params }) =>
        json(200, await page(await listDefinitionVersions(deps(), params.id))),
      getDefinitionVersion: async ({ params, query }) =>
        json(200, await reply(await getDefinitionVersion(deps(), params.id, params.version), query.include)),
      createDefinition: async (req) => {
        const { definition, created } = await createDefinition(deps(), req.body, {
          by: byOf(req),
          idempotencyKey: req.idempotencyKey,
        });
        return json(201, await view(definition), {
          location: `/v1/definitions/${encodeURIComponent(definition.id)}`,
          ...(created ? {} : { 'idempotency-replayed': 'true' }),
        });
      },
      updateDefinition: async (req) =>
        json(200, await view(await updateDefinition(deps(), req.params.id, req.body, { by: byOf(req) }))),
      deprecateDefinition: async ({ params }) =>
        json(200, await view(await deprecateDefinition(deps(), params.id))),
      archiveDefinition: async ({ params }) =>
        json(200, await view(await archiveDefinition(deps(), params.id))),
      getDefinitionObservations: async ({ params, query }) =>
        json(200, await getDefinitionObservations(deps(), params.id, query)),
      applyObservedToDefinition: async (req) => {
        const result = await applyObservedToDefinition(deps(), req.params.id, req.body, { by: byOf(req) });
        const { id, version } = result.definition;
        return json(
          200,
          { ...result, definition: await view(result.definition) },
          { location: `${definitionPath(id)}/versions/${version}` },
        );
      },
      createUpload: async ({ body }) => {
        const uploadId = newUploadId();
        const expiresAt = new Date(Date.now() + UPLOAD_URL_TTL_SECONDS * 1000).toISOString();
        const url = await deps().definitions.topologies.uploadUrl(uploadId, {
          expiresInSeconds: UPLOAD_URL_TTL_SECONDS,
          ...(body.sizeBytes !== undefined ? { sizeBytes: body.sizeBytes } : {}),
        });
        return json(201, { uploadId, url, method: 'PUT' as const, expiresAt, maxBytes: UPLOAD_MAX_BYTES });
      },
      syncDefinitionContent: async ({ params }) => {
        const result = await requestContentSync(deps(), params.id);
        return json(
          202,
          { ...result, definition: await view(result.definition) },
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
