import type * as z from 'zod';
import { ZERO_CAPACITY } from './capacity.ts';
import { ConflictError, ValidationError } from './errors.ts';
import {
  type LabletDefinition,
  LabletDefinitionSchema,
  type LabletSession,
  LabletSessionSchema,
  type Worker,
  WorkerSchema,
  type WorkerTemplate,
} from './schemas.ts';

/** Pure constructors of new entities; each result is validated by its zod schema. */

/** Parses with `schema`; the first issue becomes a ValidationError naming its field path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : what;
  throw new ValidationError(field, issue.message, {
    entity: what,
    issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

/** Drops keys whose value is undefined, so an optional field that was cleared is absent. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A worker about to be launched from `template`: PENDING, nothing allocated, version 0. */
export function newWorkerFromTemplate(template: WorkerTemplate, id: string, now: string): Worker {
  if (template.enabled === false) {
    throw new ConflictError(`worker template ${template.name} is disabled`, { template: template.name });
  }
  return parseOrThrow(
    WorkerSchema,
    withoutUndefined({
      id,
      templateName: template.name,
      status: 'PENDING',
      serviceStatus: 'UNAVAILABLE',
      license: { type: template.licenseType, status: 'UNREGISTERED' },
      podType: template.podType,
      amiId: template.amiId,
      declaredCapacity: { ...template.capacity },
      allocatedCapacity: { ...ZERO_CAPACITY },
      portRange: { ...template.portRange },
      leasedPortCount: 0,
      createdAt: now,
      updatedAt: now,
      version: 0,
      stateHistory: [],
    }),
    'Worker',
  );
}

export interface NewSessionInput {
  id: string;
  reservationId: string;
  owner: LabletSession['owner'];
  timeslot: LabletSession['timeslot'];
  /** The booking client (tenant); see LabletSessionSchema.bookedBy. */
  bookedBy?: string | undefined;
}

/**
 * A PENDING session pinned to `def` (its id and version). Placement inputs are copied from the
 * definition so later versions never change what an existing session needs.
 */
export function newSession(def: LabletDefinition, input: NewSessionInput, now: string): LabletSession {
  if (def.status === 'ARCHIVED') {
    throw new ConflictError(`definition ${def.id} v${def.version} is archived`, {
      definitionId: def.id,
      definitionVersion: def.version,
    });
  }
  return parseOrThrow(
    LabletSessionSchema,
    withoutUndefined({
      id: input.id,
      definitionId: def.id,
      definitionVersion: def.version,
      reservationId: input.reservationId,
      owner: withoutUndefined({ ...input.owner }),
      bookedBy: input.bookedBy,
      timeslot: { ...input.timeslot },
      status: 'PENDING',
      requirements: { ...def.resourceRequirements },
      licenseAffinity: [...def.licenseAffinity],
      podType: def.podType,
      amiRequirement: def.amiRequirement,
      portTemplate: structuredClone(def.portTemplate),
      idlePolicy: def.idlePolicy ? { ...def.idlePolicy } : undefined,
      nodeDefinitions: def.nodeDefinitions ? [...def.nodeDefinitions] : undefined,
      imageDefinitions: def.imageDefinitions ? [...def.imageDefinitions] : undefined,
      createdAt: now,
      updatedAt: now,
      version: 0,
    }),
    'LabletSession',
  );
}

/** Fields a new definition version may change; identity and authorship are set here. */
export type DefinitionChanges = Partial<Omit<LabletDefinition, 'id' | 'version' | 'createdAt' | 'createdBy'>>;

/**
 * The next immutable version of a definition: a deep copy of `prev` with `changes` applied,
 * version + 1, authored by `by` at `now`. A change set to undefined clears that optional field.
 */
export function nextDefinitionVersion(
  prev: LabletDefinition,
  changes: DefinitionChanges,
  by: string,
  now: string,
): LabletDefinition {
  const next = withoutUndefined({
    ...structuredClone(prev),
    ...structuredClone(changes),
    id: prev.id,
    version: prev.version + 1,
    createdAt: now,
    createdBy: by,
  });
  return parseOrThrow(LabletDefinitionSchema, next, 'LabletDefinition');
}
