import { isDeepStrictEqual } from 'node:util';
import type * as z from 'zod';
import {
  ConflictError,
  DuplicateError,
  UnprocessableError,
  ValidationError,
  type Worker,
  type WorkerTemplate,
  WorkerTemplateSchema,
} from '../kernel/index.ts';
import type { InstanceTypeCatalogue, PageRequest } from '../platform/index.ts';
import { type RetryOptions, retryOnConflict } from '../platform/index.ts';
import { virtualisationProblems } from './rules/virtualisation.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import type {
  NewWorkerTemplate,
  WorkerTemplatePatch,
  WorkerTemplateStore,
} from './stores/worker-template-store.ts';
import { allWorkers, type ListPage, toListPage } from './workers.ts';

/**
 * Worker-template commands and queries (DESIGN §4 WorkerTemplate). Framework-free: they take
 * the stores they need, validated input and the actor, and return entities or throw domain
 * errors (NotFound → 404, Duplicate/VersionConflict/Conflict → 409).
 *
 * A template is the launch recipe of workers; a worker copies what it needs (capacity, port
 * range, licence, pod type, AMI) when it is created, so editing a template never changes
 * existing workers.
 */

export interface TemplateDeps {
  templates: WorkerTemplateStore;
  workers: Pick<WorkerStore, 'listAll'>;
  /** EC2's DescribeInstanceTypes: a template's type must be able to run CML as it claims. */
  instanceTypes: InstanceTypeCatalogue;
}

/**
 * Checks through DescribeInstanceTypes that CML can run on the template's instance type the way
 * it claims (bare metal, or nested virtualisation): otherwise UnprocessableError (422) naming the
 * field (fleet/rules/virtualisation.ts).
 */
export async function checkInstanceType(
  deps: Pick<TemplateDeps, 'instanceTypes'>,
  template: Pick<WorkerTemplate, 'instanceType' | 'virtualisation' | 'capacity'>,
): Promise<void> {
  const info = await deps.instanceTypes.describeInstanceType(template.instanceType);
  const problems = virtualisationProblems(template, info);
  if (problems.length > 0) {
    throw new UnprocessableError(
      `worker template cannot run CML on ${template.instanceType}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      problems,
      { instanceType: template.instanceType, virtualisation: template.virtualisation },
    );
  }
}

/** The fields the instance-type check depends on. */
const TYPE_FIELDS = ['instanceType', 'virtualisation', 'capacity'] as const;

/** Bounded re-read-and-retry for writes that are not conditioned on a caller's version. */
const RETRY: RetryOptions = { maxAttempts: 5 };

export function listTemplates(
  deps: Pick<TemplateDeps, 'templates'>,
  page: PageRequest,
): Promise<ListPage<WorkerTemplate>> {
  return deps.templates.list(page).then(toListPage);
}

export function getTemplate(deps: Pick<TemplateDeps, 'templates'>, name: string): Promise<WorkerTemplate> {
  return deps.templates.get(name);
}

export interface CreateTemplateOptions {
  /**
   * The request carried an Idempotency-Key: a retry whose template already exists with exactly
   * the same content (and unchanged since, version 1) returns it instead of a 409.
   */
  replay?: boolean;
}

/** Creates a template; an existing name is a DuplicateError (409). */
export async function createTemplate(
  deps: Pick<TemplateDeps, 'templates' | 'instanceTypes'>,
  input: NewWorkerTemplate,
  opts: CreateTemplateOptions = {},
): Promise<WorkerTemplate> {
  await checkInstanceType(deps, {
    instanceType: input.instanceType,
    virtualisation: input.virtualisation ?? 'metal',
    capacity: input.capacity,
  });
  try {
    return await deps.templates.create(input);
  } catch (e) {
    if (!(e instanceof DuplicateError) || !opts.replay) throw e;
    const existing = await deps.templates.get(input.name);
    if (existing.version === 1 && isDeepStrictEqual(contentOf(existing), contentOf(input))) return existing;
    throw e;
  }
}

const CONTENT = WorkerTemplateSchema.omit({ createdAt: true, updatedAt: true, version: true });
/** The template's own fields with defaults applied (what a create request decides). */
function contentOf(t: z.input<typeof CONTENT>): z.output<typeof CONTENT> {
  const { createdAt: _c, updatedAt: _u, version: _v, ...rest } = t as Record<string, unknown>;
  return CONTENT.parse(rest);
}

export type TemplateChanges = Omit<WorkerTemplatePatch, 'enabled'> & { enabled?: boolean | undefined };

/**
 * Changes a template under optimistic concurrency: with `expectedVersion` the write happens
 * only if the stored version still matches (else VersionConflictError → 409); without it the
 * current version is read and the change applied to it (last writer wins, retried if another
 * writer slips in between the read and the write).
 */
export async function updateTemplate(
  deps: Pick<TemplateDeps, 'templates' | 'instanceTypes'>,
  name: string,
  changes: TemplateChanges,
  expectedVersion?: number,
): Promise<WorkerTemplate> {
  const patch = Object.fromEntries(
    Object.entries(changes).filter(([, v]) => v !== undefined),
  ) as WorkerTemplatePatch;
  if (Object.keys(patch).length === 0) throw new ValidationError('body', 'names no field to change');
  const touchesType = TYPE_FIELDS.some((f) => f in patch);
  /** The template as the change would leave it, checked before the write. */
  const checked = async (current: WorkerTemplate): Promise<void> => {
    if (!touchesType) return;
    await checkInstanceType(deps, {
      instanceType: patch.instanceType ?? current.instanceType,
      virtualisation: patch.virtualisation ?? current.virtualisation,
      capacity: patch.capacity ?? current.capacity,
    });
  };
  if (expectedVersion !== undefined) {
    if (touchesType) await checked(await deps.templates.get(name));
    return deps.templates.update(name, patch, expectedVersion);
  }
  const { value } = await retryOnConflict(async () => {
    const current = await deps.templates.get(name);
    await checked(current);
    return deps.templates.update(name, patch, current.version);
  }, RETRY);
  return value;
}

/** No new workers from this template; existing workers are untouched. Idempotent. */
export async function disableTemplate(
  deps: Pick<TemplateDeps, 'templates'>,
  name: string,
): Promise<WorkerTemplate> {
  const { value } = await retryOnConflict(async () => {
    const current = await deps.templates.get(name);
    if (!current.enabled) return current;
    return deps.templates.update(name, { enabled: false }, current.version);
  }, RETRY);
  return value;
}

/** How many worker ids a "template in use" conflict lists. */
const MAX_LISTED_WORKERS = 20;

/** Workers built from the template that still exist (anything but TERMINATED). */
export async function workersUsingTemplate(
  deps: Pick<TemplateDeps, 'workers'>,
  name: string,
): Promise<Worker[]> {
  return (await allWorkers(deps.workers)).filter((w) => w.templateName === name && w.status !== 'TERMINATED');
}

/**
 * Deletes a template that no non-TERMINATED worker uses (else ConflictError → 409 naming the
 * workers). The delete is conditioned on the version read, so a template edited meanwhile is a
 * 409 too.
 *
 * Known window: a worker created from the template between the scan and the delete is not
 * seen (there is no worker-count on the template to condition on); disable the template first
 * to close it in practice.
 */
export async function deleteTemplate(
  deps: Pick<TemplateDeps, 'templates' | 'workers'>,
  name: string,
): Promise<void> {
  const template = await deps.templates.get(name);
  const users = await workersUsingTemplate(deps, name);
  if (users.length > 0) {
    throw new ConflictError(`worker template ${name} is used by ${users.length} worker(s)`, {
      template: name,
      workerCount: users.length,
      workerIds: users.slice(0, MAX_LISTED_WORKERS).map((w) => w.id),
    });
  }
  await deps.templates.delete(name, template.version);
}
