import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { type WorkerTemplate, WorkerTemplateSchema } from '../../kernel/index.ts';
import {
  checkLimit,
  conditionError,
  ENTITY,
  Expr,
  getParsed,
  isConditionFailed,
  keys,
  type NewEntity,
  nowIso,
  oldItemOf,
  type Page,
  type PageRequest,
  parseItem,
  patchVersioned,
  putNew,
  queryPage,
  type StoreConfig,
  TABLE,
  validateInput,
} from '../../platform/index.ts';

/** A new template: timestamps and version are stamped by the store when absent. */
export type NewWorkerTemplate = NewEntity<typeof WorkerTemplateSchema, 'createdAt' | 'updatedAt' | 'version'>;

const EDITABLE = WorkerTemplateSchema.omit({ name: true, createdAt: true, updatedAt: true, version: true });

/** What update() patches (platform patchVersioned). */
const PATCHABLE = {
  entity: ENTITY.template,
  key: keys.template,
  editable: EDITABLE,
  schema: WorkerTemplateSchema,
};

/** Changed fields; `null` removes an optional field. */
export type WorkerTemplatePatch = {
  [K in keyof z.input<typeof EDITABLE>]?: z.input<typeof EDITABLE>[K] | null;
};

const TEMPLATE_LISTING = keys.templateListing('').GSI2PK;

/** Access pattern 2: template by name; all templates. */
export interface WorkerTemplateStore {
  create(template: NewWorkerTemplate): Promise<WorkerTemplate>;
  get(name: string): Promise<WorkerTemplate>;
  list(page?: PageRequest): Promise<Page<WorkerTemplate>>;
  update(name: string, patch: WorkerTemplatePatch, expectedVersion: number): Promise<WorkerTemplate>;
  /** Deletes the template; with expectedVersion only when it is unchanged. */
  delete(name: string, expectedVersion?: number): Promise<void>;
}

export class DynamoWorkerTemplateStore implements WorkerTemplateStore {
  constructor(private readonly cfg: StoreConfig) {}

  async create(input: NewWorkerTemplate): Promise<WorkerTemplate> {
    const now = nowIso(this.cfg.clock);
    const template = validateInput(WorkerTemplateSchema, {
      createdAt: now,
      updatedAt: now,
      version: 1,
      ...input,
    });
    await putNew(
      this.cfg,
      {
        ...keys.template(template.name),
        ...keys.templateListing(template.name),
        [TABLE.entityAttribute]: ENTITY.template,
        ...template,
      },
      ENTITY.template,
      template.name,
    );
    return template;
  }

  async get(name: string): Promise<WorkerTemplate> {
    return getParsed(this.cfg, keys.template(name), WorkerTemplateSchema, ENTITY.template, name);
  }

  async list(page: PageRequest = {}): Promise<Page<WorkerTemplate>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: TEMPLATE_LISTING,
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(WorkerTemplateSchema, i)), cursor: out.cursor };
  }

  update(name: string, patch: WorkerTemplatePatch, expectedVersion: number): Promise<WorkerTemplate> {
    return patchVersioned(this.cfg, PATCHABLE, name, patch, expectedVersion);
  }

  async delete(name: string, expectedVersion?: number): Promise<void> {
    const e = new Expr();
    const conditions = [`attribute_exists(${e.name('PK')})`];
    if (expectedVersion !== undefined) conditions.push(`${e.name('version')} = ${e.value(expectedVersion)}`);
    try {
      await this.cfg.client.send(
        new DeleteCommand({
          TableName: this.cfg.tableName,
          Key: keys.template(name),
          ConditionExpression: conditions.join(' AND '),
          ...e.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (isConditionFailed(err))
        throw conditionError(ENTITY.template, name, oldItemOf(err), expectedVersion);
      throw err;
    }
  }
}
