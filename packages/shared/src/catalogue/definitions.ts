import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import * as z from 'zod';
import type {
  DefinitionStatus,
  DefinitionWarning,
  LabletDefinition,
  PortTemplate,
  ResourceRequirements,
} from '../kernel/index.ts';
import {
  ConflictError,
  callerFields,
  type DefinitionChanges,
  DefinitionStatusSchema,
  DomainError,
  DuplicateError,
  InvalidTransitionError,
  LabletDefinitionSchema,
  nextDefinitionVersion,
  plainText,
  UnprocessableError,
  ValidationError,
  VersionConflictError,
} from '../kernel/index.ts';
import type { Page } from '../platform/index.ts';
import { nowIso, retryOnConflict } from '../platform/index.ts';
import { isS3Uri } from './content/uri.ts';
import type { DefinitionStore } from './definition-store.ts';
import { analyseTopology, parseTopology } from './rules/topology.ts';
import { INLINE_TOPOLOGY_MAX_CHARS, UPLOAD_MAX_BYTES } from './topology-store.ts';

/**
 * Lab definition commands and queries (DESIGN §4): versioned and immutable — every change is a
 * new version, a session pins the version it was created with — with a lifecycle
 * ACTIVE → DEPRECATED → ARCHIVED (final). A CML topology given with a definition is validated
 * and, unless the caller states them, yields the port template (PATty tags) and the estimated
 * resources.
 */

export interface DefinitionDeps {
  definitions: DefinitionStore;
  clock?: () => Date;
}

/**
 * The definition fields a caller states: the entity's own, without those the server sets
 * (id and version, status, contentHash and sync, createdAt/createdBy, and what is derived from the
 * topology: warnings, node and image definitions). Entity defaults are not
 * applied here: an absent port template or resource requirements is derived from the topology.
 */
const STATED_FIELDS = callerFields(
  LabletDefinitionSchema.omit({
    id: true,
    version: true,
    status: true,
    contentHash: true,
    sync: true,
    createdAt: true,
    createdBy: true,
    // Derived from the topology (issue 11, items 3 and 4), never stated.
    warnings: true,
    nodeDefinitions: true,
    imageDefinitions: true,
    topology: true,
  }).shape,
);

/**
 * How a caller gives a topology (issue 11, item 1): inline (`topologyYaml`, up to 5.5 MiB in the
 * JSON body) or by naming an upload (`topologyUploadId`, up to 50 MiB, POST /v1/uploads). Either
 * way it is validated, stored in the content bucket by its SHA-256 and the version holds the
 * reference (`topology`), never the YAML.
 */
const TOPOLOGY_INPUT = {
  topologyYaml: plainText(z.string().max(INLINE_TOPOLOGY_MAX_CHARS), { multiline: true })
    .optional()
    .meta({
      description:
        `The CML topology YAML inline, at most ${INLINE_TOPOLOGY_MAX_CHARS.toLocaleString('en-US')} characters: ` +
        'the whole request must fit the 6 MB payload limit of AWS Lambda (6 MiB body here). Larger ' +
        `topologies (up to ${UPLOAD_MAX_BYTES / 1024 / 1024} MiB): PUT them to an upload (POST /v1/uploads) ` +
        'and name it in topologyUploadId. Stored in the content bucket by its SHA-256; replies carry ' +
        '`topology` (hash, size) and the YAML only on request.',
    }),
  topologyUploadId: z
    .string()
    .max(64)
    .optional()
    .meta({
      description:
        'Instead of topologyYaml: the uploadId of POST /v1/uploads whose URL the topology was PUT to. It must ' +
        `exist, hold at most ${UPLOAD_MAX_BYTES / 1024 / 1024} MiB and be a valid CML topology (400 on this field otherwise).`,
    }),
};

/**
 * Version 1 of a definition: the stated fields; the id is generated from the name when absent,
 * the resource requirements may come from the topology or the content package instead.
 */
/** The operator's override: store stated requirements below what the topology needs (a warning remains). */
const Force = z
  .boolean()
  .optional()
  .describe(
    'Accept resourceRequirements below what the topology needs (otherwise 422); the definition keeps a REQUIREMENTS_BELOW_TOPOLOGY warning',
  );

export const NewDefinitionSchema = z
  .object({ id: LabletDefinitionSchema.shape.id, ...STATED_FIELDS, ...TOPOLOGY_INPUT, force: Force })
  .partial({ id: true, resourceRequirements: true });
export type CreateDefinitionInput = z.output<typeof NewDefinitionSchema>;

/** The next version: any stated field changes; `expectedVersion` makes the update conditional. */
export const DefinitionUpdateSchema = z.object({
  ...callerFields(STATED_FIELDS, { all: true }),
  ...TOPOLOGY_INPUT,
  expectedVersion: LabletDefinitionSchema.shape.version
    .describe('The latest version the change is based on; another latest version is a 409.')
    .optional(),
  force: Force,
});
export type UpdateDefinitionInput = z.output<typeof DefinitionUpdateSchema>;

/** Filters of listDefinitions (on the latest versions). */
export const DefinitionFilterSchema = z.object({
  status: DefinitionStatusSchema.describe('Only definitions in this status.').optional(),
});
export type ListDefinitionsInput = z.output<typeof DefinitionFilterSchema> & {
  limit: number;
  cursor?: string | undefined;
};

/** A page as the API returns it: `nextCursor` only when there may be more. */
export interface ListPage<T> {
  items: T[];
  nextCursor?: string;
}

// ---------------------------------------------------------------------------------------------
// Paging with filters applied in code

/**
 * Fills a page of up to `limit` items that pass `keep` from a store listing. Each round asks
 * the store for no more raw items than are still missing, so the store's cursor always sits
 * right after the last item returned: nothing is skipped or repeated across pages. Rounds are
 * bounded, so a sparse filter may return a short (even empty) page with a cursor; only a
 * missing `nextCursor` means the end.
 */
export async function filteredPage<T>(
  list: (page: { limit: number; cursor: string | undefined }) => Promise<Page<T>>,
  opts: { limit: number; cursor?: string | undefined; keep?: (item: T) => boolean; maxRounds?: number },
): Promise<ListPage<T>> {
  const keep = opts.keep ?? (() => true);
  const maxRounds = opts.maxRounds ?? 8;
  const items: T[] = [];
  let cursor = opts.cursor;
  for (let round = 0; round < maxRounds; round++) {
    const page = await list({ limit: opts.limit - items.length, cursor });
    items.push(...page.items.filter(keep));
    cursor = page.cursor;
    if (!cursor || items.length >= opts.limit) break;
  }
  return cursor ? { items, nextCursor: cursor } : { items };
}

// ---------------------------------------------------------------------------------------------
// Topology-derived fields

export interface DerivedFromTopology {
  contentHash: string;
  portTemplate?: PortTemplate;
  resourceRequirements?: ResourceRequirements;
  nodeDefinitions: string[];
  imageDefinitions: string[];
  warnings: DefinitionWarning[];
}

/** `sha256:<hex>` of the topology text: what changes when the lab content changes. */
export const topologyContentHash = (yamlText: string): string =>
  `sha256:${createHash('sha256').update(yamlText, 'utf8').digest('hex')}`;

const REQUIREMENT_FIELDS = ['cpuCores', 'memoryGb', 'storageGb', 'nodeCount'] as const;

/** The stated requirements' dimensions below the topology's estimate. */
export function requirementsBelow(
  stated: ResourceRequirements,
  needed: ResourceRequirements,
): Array<{ field: string; message: string }> {
  return REQUIREMENT_FIELDS.filter((f) => stated[f] < needed[f]).map((f) => ({
    field: `resourceRequirements.${f}`,
    message: `${stated[f]} is below the ${needed[f]} the topology needs`,
  }));
}

/**
 * Validates the topology (TOPOLOGY_INVALID → 400 naming the problem) and derives what the caller
 * did not state: the port template from PATty node tags and, for untagged nodes, the consoles
 * their node definitions offer; the resources from the nodes; the node and image definitions;
 * the warnings. Stated requirements below the estimate are a 422 naming each field, unless
 * `force` (then a REQUIREMENTS_BELOW_TOPOLOGY warning).
 */
export function deriveFromTopology(
  yamlText: string,
  given: {
    portTemplate?: PortTemplate | undefined;
    resourceRequirements?: ResourceRequirements | undefined;
    force?: boolean | undefined;
  },
): DerivedFromTopology {
  const analysis = analyseTopology(parseTopology(yamlText));
  const warnings = [...analysis.warnings];
  if (given.resourceRequirements !== undefined) {
    const below = requirementsBelow(given.resourceRequirements, analysis.resourceRequirements);
    if (below.length > 0 && !given.force) {
      throw new UnprocessableError(
        `resourceRequirements are below what the topology needs: ${below.map((b) => `${b.field} ${b.message}`).join('; ')} (an operator may pass force: true)`,
        below.map((b) => ({ path: b.field, message: b.message })),
        { needed: analysis.resourceRequirements },
      );
    }
    for (const b of below) {
      warnings.push({
        code: 'REQUIREMENTS_BELOW_TOPOLOGY',
        message: `${b.field} ${b.message} (accepted with force)`,
        field: b.field,
      });
    }
  }
  return {
    contentHash: topologyContentHash(yamlText),
    ...(given.portTemplate === undefined ? { portTemplate: analysis.portTemplate } : {}),
    ...(given.resourceRequirements === undefined
      ? { resourceRequirements: analysis.resourceRequirements }
      : {}),
    nodeDefinitions: analysis.nodeDefinitions,
    imageDefinitions: analysis.imageDefinitions,
    warnings,
  };
}

/**
 * The topology text a create/update gives: inline, or read from the named upload (which must
 * exist, be within UPLOAD_MAX_BYTES and parse as a topology: 400 naming topologyUploadId).
 */
async function givenTopology(
  deps: Pick<DefinitionDeps, 'definitions'>,
  fields: { topologyYaml?: string | undefined; topologyUploadId?: string | undefined },
): Promise<{ yaml: string; field: 'topologyYaml' | 'topologyUploadId' } | undefined> {
  if (fields.topologyUploadId !== undefined) {
    if (fields.topologyYaml !== undefined) {
      throw new ValidationError('topologyUploadId', 'give topologyYaml or topologyUploadId, not both');
    }
    const yaml = await deps.definitions.topologies.readUpload(fields.topologyUploadId);
    return { yaml, field: 'topologyUploadId' };
  }
  return fields.topologyYaml === undefined ? undefined : { yaml: fields.topologyYaml, field: 'topologyYaml' };
}

/** deriveFromTopology, with a topology problem of an upload reported on topologyUploadId. */
function deriveFromGiven(
  given: { yaml: string; field: 'topologyYaml' | 'topologyUploadId' },
  stated: Parameters<typeof deriveFromTopology>[1],
): DerivedFromTopology {
  try {
    return deriveFromTopology(given.yaml, stated);
  } catch (e) {
    if (given.field === 'topologyUploadId' && e instanceof DomainError && e.code === 'TOPOLOGY_INVALID') {
      throw new ValidationError('topologyUploadId', `the upload is not a valid CML topology: ${e.message}`);
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Content packages

/** Placeholder requirements of a definition created from a contentUri, until its sync fills them in. */
const NO_REQUIREMENTS: ResourceRequirements = { cpuCores: 0, memoryGb: 0, storageGb: 0, nodeCount: 0 };

function checkContentUri(uri: string): void {
  if (!isS3Uri(uri)) throw new ValidationError('contentUri', `must be s3://<bucket>/<key>, got ${uri}`);
}

// ---------------------------------------------------------------------------------------------
// Ids

/** `CCNA OSPF Lab` → `ccna-ospf-lab` (ASCII letters and digits, at most 48 characters). */
export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug || 'definition';
}

/**
 * A new definition id: the slug of the name plus a short suffix — random, or derived from the
 * caller and its Idempotency-Key so that a retried create lands on the same id.
 */
export function generateDefinitionId(name: string, idempotency?: { by: string; key: string }): string {
  const suffix = idempotency
    ? createHash('sha256').update(`${idempotency.by}\n${idempotency.key}`, 'utf8').digest('hex').slice(0, 8)
    : ulid().slice(-8).toLowerCase();
  return `${slugOf(name)}-${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// Queries

export async function listDefinitions(
  deps: Pick<DefinitionDeps, 'definitions'>,
  query: ListDefinitionsInput,
): Promise<ListPage<LabletDefinition>> {
  const status = query.status;
  return filteredPage((page) => deps.definitions.listLatest(page), {
    limit: query.limit,
    cursor: query.cursor,
    ...(status ? { keep: (d: LabletDefinition) => d.status === status } : {}),
  });
}

export const getDefinition = (deps: Pick<DefinitionDeps, 'definitions'>, id: string) =>
  deps.definitions.getLatest(id);

export const getDefinitionVersion = (
  deps: Pick<DefinitionDeps, 'definitions'>,
  id: string,
  version: number,
) => deps.definitions.getVersion(id, version);

/**
 * Versions oldest first; an unknown definition is a 404, not an empty list. With a page request,
 * one page; without, every version (the API operation takes no paging query).
 */
export async function listDefinitionVersions(
  deps: Pick<DefinitionDeps, 'definitions'>,
  id: string,
  page?: { limit: number; cursor?: string | undefined },
): Promise<ListPage<LabletDefinition>> {
  let out: ListPage<LabletDefinition>;
  if (page) {
    const one = await deps.definitions.listVersions(id, { limit: page.limit, cursor: page.cursor });
    out = one.cursor ? { items: one.items, nextCursor: one.cursor } : { items: one.items };
  } else {
    const items: LabletDefinition[] = [];
    let cursor: string | undefined;
    do {
      const one = await deps.definitions.listVersions(id, { limit: 100, cursor });
      items.push(...one.items);
      cursor = one.cursor;
    } while (cursor);
    out = { items };
  }
  if (out.items.length === 0 && page?.cursor === undefined) await deps.definitions.getLatest(id);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface CreateDefinitionResult {
  definition: LabletDefinition;
  /** false: a retry with the same Idempotency-Key found the definition it created before. */
  created: boolean;
}

/**
 * Version 1, ACTIVE. The id comes from the body or is generated from the name. Without a
 * topology the resource requirements must be stated.
 */
export async function createDefinition(
  deps: DefinitionDeps,
  input: CreateDefinitionInput,
  ctx: { by: string; idempotencyKey?: string | undefined },
): Promise<CreateDefinitionResult> {
  const { id: givenId, force, topologyUploadId, topologyYaml, ...fields } = input;
  const given = await givenTopology(deps, { topologyYaml, topologyUploadId });
  const derived = given !== undefined ? deriveFromGiven(given, { ...fields, force }) : undefined;
  if (fields.contentUri !== undefined) checkContentUri(fields.contentUri);
  // Validated: into the content bucket by hash (idempotent), before the item that names it.
  const topology = given !== undefined ? await deps.definitions.topologies.put(given.yaml) : undefined;
  // With a contentUri, the content sync fills the requirements in from the package's topology.
  const resourceRequirements =
    fields.resourceRequirements ??
    derived?.resourceRequirements ??
    (fields.contentUri !== undefined ? { ...NO_REQUIREMENTS } : undefined);
  if (resourceRequirements === undefined) {
    throw new ValidationError(
      'resourceRequirements',
      'required when neither topologyYaml nor contentUri is given',
    );
  }
  const key = ctx.idempotencyKey?.trim() || undefined;
  const attempts = givenId !== undefined || key !== undefined ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    const id = givenId ?? generateDefinitionId(fields.name, key ? { by: ctx.by, key } : undefined);
    try {
      const definition = await deps.definitions.create({
        ...fields,
        ...derived,
        ...(topology ? { topology } : {}),
        resourceRequirements,
        id,
        status: 'ACTIVE',
        // A contentUri asks for a content sync (catalogue/content/sync.ts), started by the table stream.
        ...(fields.contentUri !== undefined
          ? { sync: { status: 'PENDING' as const, at: nowIso(deps) } }
          : {}),
        createdAt: nowIso(deps),
        createdBy: ctx.by,
      });
      return { definition, created: true };
    } catch (e) {
      if (!(e instanceof DuplicateError)) throw e;
      if (givenId === undefined && key !== undefined) {
        // The id is a function of (caller, key): this request was made before.
        return { definition: await deps.definitions.getVersion(id, 1), created: false };
      }
      if (attempt >= attempts) throw e;
    }
  }
}

/**
 * The next version: the latest with the given fields changed; older versions stay as they
 * were. `expectedVersion` makes it conditional (stale → 409); without it, a concurrent update
 * is re-read and this change applied on top. A new topology re-derives the port template and
 * resources unless they are given too. Archived definitions do not change.
 */
export async function updateDefinition(
  deps: DefinitionDeps,
  id: string,
  input: UpdateDefinitionInput,
  ctx: { by: string },
): Promise<LabletDefinition> {
  const { expectedVersion, force, topologyUploadId, topologyYaml, ...fields } = input;
  const changes = Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as DefinitionChanges;
  const given = await givenTopology(deps, { topologyYaml, topologyUploadId });
  if (Object.keys(changes).length === 0 && given === undefined) {
    throw new ValidationError('body', 'names no field to change');
  }
  if (given !== undefined) {
    Object.assign(changes, deriveFromGiven(given, { ...fields, force }));
    // The reference replaces the YAML (and clears an inline one copied from an old version).
    Object.assign(changes, {
      topology: await deps.definitions.topologies.put(given.yaml),
      topologyYaml: undefined,
    });
  }
  if (fields.contentUri !== undefined) checkContentUri(fields.contentUri);

  const { value } = await retryOnConflict(
    async () => {
      const prev = await deps.definitions.getLatest(id);
      if (expectedVersion !== undefined && expectedVersion !== prev.version) {
        throw new VersionConflictError(
          'LabletDefinition',
          id,
          `the latest version is ${prev.version}, expected ${expectedVersion}`,
        );
      }
      if (prev.status === 'ARCHIVED') {
        throw new ConflictError(`definition ${id} is archived; an archived definition does not change`, {
          definitionId: id,
          status: prev.status,
        });
      }
      // New requirements for the topology it has: checked against it like a new topology's.
      const prevYaml =
        fields.resourceRequirements !== undefined && given === undefined
          ? await deps.definitions.readTopology(prev)
          : undefined;
      if (prevYaml) {
        changes.warnings = deriveFromTopology(prevYaml, {
          portTemplate: prev.portTemplate,
          resourceRequirements: fields.resourceRequirements,
          force,
        }).warnings;
      }
      // A new contentUri asks for a content sync of the new version.
      const resync =
        changes.contentUri !== undefined && changes.contentUri !== prev.contentUri
          ? { sync: { status: 'PENDING' as const, at: nowIso(deps) } }
          : {};
      const next = nextDefinitionVersion(prev, { ...changes, ...resync }, ctx.by, nowIso(deps));
      return deps.definitions.putNewVersion(prev, next);
    },
    { maxAttempts: expectedVersion === undefined ? 5 : 1 },
  );
  return value;
}

/** Definition lifecycle: ARCHIVED is final. */
export const DEFINITION_TRANSITIONS: Readonly<Record<DefinitionStatus, readonly DefinitionStatus[]>> = {
  ACTIVE: ['DEPRECATED', 'ARCHIVED'],
  DEPRECATED: ['ARCHIVED'],
  ARCHIVED: [],
};

/**
 * Moves the definition (its latest version) to `to`; already there → unchanged (safe to repeat);
 * not allowed from the current status → 409.
 */
export async function setDefinitionStatus(
  deps: Pick<DefinitionDeps, 'definitions'>,
  id: string,
  to: Exclude<DefinitionStatus, 'ACTIVE'>,
): Promise<LabletDefinition> {
  const { value } = await retryOnConflict(
    async () => {
      const latest = await deps.definitions.getLatest(id);
      if (latest.status === to) return latest;
      if (!DEFINITION_TRANSITIONS[latest.status].includes(to)) {
        throw new InvalidTransitionError('LabletDefinition', latest.status, to);
      }
      return deps.definitions.setStatus(id, to, latest.version, { expectedStatus: latest.status });
    },
    { maxAttempts: 5 },
  );
  return value;
}

export const deprecateDefinition = (deps: Pick<DefinitionDeps, 'definitions'>, id: string) =>
  setDefinitionStatus(deps, id, 'DEPRECATED');

export const archiveDefinition = (deps: Pick<DefinitionDeps, 'definitions'>, id: string) =>
  setDefinitionStatus(deps, id, 'ARCHIVED');
