import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import type { DefinitionStatus, SyncStatus } from '../kernel/index.ts';
import {
  DefinitionStatusSchema,
  DefinitionSyncSchema,
  DuplicateError,
  type LabletDefinition,
  LabletDefinitionSchema,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../kernel/index.ts';
import {
  type ContentBlobs,
  checkLimit,
  conditionError,
  ENTITY,
  Expr,
  envContentBlobs,
  keys,
  nowIso,
  type Page,
  type PageRequest,
  parseItem,
  queryPage,
  type StoreConfig,
  TABLE,
  type TxOp,
  transactWrite,
  validateInput,
} from '../platform/index.ts';
import { readTopology, TopologyStore } from './topology-store.ts';

/** Content of a definition version; id/version/createdAt are set by the store when absent. */
export type DefinitionContent = Omit<z.input<typeof LabletDefinitionSchema>, 'id' | 'version' | 'createdAt'> &
  Partial<Pick<LabletDefinition, 'createdAt'>>;
export type NewDefinition = DefinitionContent & { id: string };
export type DefinitionSync = z.infer<typeof DefinitionSyncSchema>;

/** What setSync expects to find: the current sync status (NONE also matches "never synced") and `at`. */
export interface ExpectedSync {
  status: SyncStatus;
  at?: string | undefined;
}

/**
 * Access pattern 3. Versions are immutable items `DEF#<id> / V#<version>`; the item
 * `DEF#<id> / LATEST` is a copy of the newest version, written in the same transaction, and
 * is the only one in the GSI2 listing. The definition's lifecycle status lives on LATEST and
 * on the version it copies (setStatus); superseded versions keep the status they had.
 */
export interface DefinitionStore {
  /**
   * The content bucket's topologies (issue 11, item 1): versions hold `topology: { hash, sizeBytes }`
   * and the YAML lives there. create and putNewVersion move any `topologyYaml` they are given (or
   * that a new version copies from an item written before) into it, so no item holds the YAML.
   */
  readonly topologies: TopologyStore;
  /** The topology YAML of a version: from the bucket by hash, or inline in an old item; undefined: none. */
  readTopology(definition: Pick<LabletDefinition, 'topologyYaml' | 'topology'>): Promise<string | undefined>;
  /** Version 1 and its LATEST copy, in one transaction; an existing id → DuplicateError. */
  create(definition: NewDefinition): Promise<LabletDefinition>;
  getLatest(id: string): Promise<LabletDefinition>;
  getVersion(id: string, version: number): Promise<LabletDefinition>;
  /** Versions oldest first (newestFirst: true for the reverse). */
  listVersions(id: string, page?: PageRequest & { newestFirst?: boolean }): Promise<Page<LabletDefinition>>;
  /** The latest version of every definition, ordered by id. */
  listLatest(page?: PageRequest): Promise<Page<LabletDefinition>>;
  /**
   * Writes version prev.version + 1 and replaces LATEST, in one transaction conditioned on
   * LATEST still being `prev.version`: of two concurrent updates from the same version
   * exactly one wins, the other gets VersionConflictError. With `previousSync`, the version
   * item of `prev` gets that sync state in the same transaction (a content sync closes the state
   * of the version it superseded).
   */
  putNewVersion(
    prev: LabletDefinition,
    next: DefinitionContent & { id?: string; version?: number },
    opts?: { previousSync?: DefinitionSync },
  ): Promise<LabletDefinition>;
  /**
   * Sets the status of the definition (LATEST and the version item it copies) in one
   * transaction conditioned on LATEST being `expectedVersion` (and on `expectedStatus` when given).
   */
  setStatus(
    id: string,
    status: DefinitionStatus,
    expectedVersion: number,
    opts?: { expectedStatus?: DefinitionStatus },
  ): Promise<LabletDefinition>;
  /**
   * Records the content-sync state on LATEST and on the version item it copies, in one
   * transaction conditioned on LATEST being `expectedVersion` (and, with `expectedSync`, on the
   * current sync status and `at`). The version number does not change: sync state is operational
   * metadata, like status; content changes are new versions (putNewVersion).
   */
  setSync(
    id: string,
    sync: DefinitionSync,
    expectedVersion: number,
    opts?: { expectedSync?: ExpectedSync },
  ): Promise<LabletDefinition>;
}

const DEFINITION_LISTING = keys.definitionListing('').GSI2PK;

export class DynamoDefinitionStore implements DefinitionStore {
  readonly topologies: TopologyStore;

  /**
   * `blobs`: the content bucket; by default the one the environment names (EVIDENCE_BUCKET, or
   * EVIDENCE_DIR locally), resolved when a topology is first stored or read.
   */
  constructor(
    private readonly cfg: StoreConfig,
    blobs: () => ContentBlobs = envContentBlobs(),
  ) {
    this.topologies = new TopologyStore(blobs);
  }

  readTopology(definition: Pick<LabletDefinition, 'topologyYaml' | 'topology'>): Promise<string | undefined> {
    return readTopology(this.topologies, definition);
  }

  /**
   * Migrate on write: YAML given inline (or copied from an item written before issue 11) goes to
   * the content bucket and the version holds its reference instead.
   */
  private async externalize<T extends { topologyYaml?: string | undefined; topology?: unknown }>(
    content: T,
  ): Promise<T> {
    if (content.topologyYaml === undefined) return content;
    const { topologyYaml, ...rest } = content;
    return { ...rest, topology: await this.topologies.put(topologyYaml) } as T;
  }

  async create(input: NewDefinition): Promise<LabletDefinition> {
    const def = validateInput(LabletDefinitionSchema, {
      createdAt: nowIso(this.cfg.clock),
      ...(await this.externalize(input)),
      version: 1,
    });
    await transactWrite(this.cfg.client, [
      {
        item: { Put: { ...this.putVersion(def), ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => new DuplicateError(ENTITY.definitionLatest, def.id),
        entity: ENTITY.definitionVersion,
        id: def.id,
      },
      {
        item: { Put: { ...this.putLatest(def), ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => new DuplicateError(ENTITY.definitionLatest, def.id),
        entity: ENTITY.definitionLatest,
        id: def.id,
      },
    ]);
    return def;
  }

  async getLatest(id: string): Promise<LabletDefinition> {
    return this.getItem(keys.definitionLatest(id), id);
  }

  async getVersion(id: string, version: number): Promise<LabletDefinition> {
    if (!Number.isInteger(version) || version < 1) {
      throw new ValidationError('version', `must be an integer >= 1, got ${String(version)}`);
    }
    return this.getItem(keys.definitionVersion(id, version), `${id} v${version}`);
  }

  async listVersions(
    id: string,
    page: PageRequest & { newestFirst?: boolean } = {},
  ): Promise<Page<LabletDefinition>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      pk: keys.definitionPartition(id),
      sk: { beginsWith: keys.definitionVersionPrefix },
      forward: !page.newestFirst,
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(LabletDefinitionSchema, i)), cursor: out.cursor };
  }

  async listLatest(page: PageRequest = {}): Promise<Page<LabletDefinition>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: DEFINITION_LISTING,
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(LabletDefinitionSchema, i)), cursor: out.cursor };
  }

  async putNewVersion(
    prev: LabletDefinition,
    next: DefinitionContent & { id?: string; version?: number },
    opts: { previousSync?: DefinitionSync } = {},
  ): Promise<LabletDefinition> {
    if (next.id !== undefined && next.id !== prev.id) {
      throw new ValidationError('id', `a new version keeps the id ${prev.id}`);
    }
    if (next.version !== undefined && next.version !== prev.version + 1) {
      throw new ValidationError('version', `the version after ${prev.version} is ${prev.version + 1}`);
    }
    const def = validateInput(LabletDefinitionSchema, {
      createdAt: nowIso(this.cfg.clock),
      ...(await this.externalize(next)),
      id: prev.id,
      version: prev.version + 1,
    });
    const e = new Expr();
    await transactWrite(this.cfg.client, [
      {
        item: { Put: { ...this.putVersion(def), ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () =>
          new VersionConflictError(ENTITY.definitionLatest, def.id, `version ${def.version} already exists`),
        entity: ENTITY.definitionVersion,
        id: def.id,
      },
      {
        item: {
          Put: {
            ...this.putLatest(def),
            ConditionExpression: `attribute_exists(${e.name('PK')}) AND ${e.name('version')} = ${e.value(prev.version)}`,
            ...e.attributes(),
          },
        },
        onConditionFailed: (old) => conditionError(ENTITY.definitionLatest, def.id, old, prev.version),
        entity: ENTITY.definitionLatest,
        id: def.id,
      },
      ...(opts.previousSync ? [this.syncOfVersion(prev.id, prev.version, opts.previousSync)] : []),
    ]);
    return def;
  }

  /** A transaction item setting the sync state of one version item (which must exist). */
  private syncOfVersion(id: string, version: number, sync: DefinitionSync): TxOp {
    const value = validateInput(DefinitionSyncSchema, sync, 'sync');
    const e = new Expr();
    return {
      item: {
        Update: {
          TableName: this.cfg.tableName,
          Key: keys.definitionVersion(id, version),
          UpdateExpression: `SET ${e.name('sync')} = ${e.value(value)}`,
          ConditionExpression: `attribute_exists(${e.name('PK')})`,
          ...e.attributes(),
        },
      },
      onConditionFailed: () => new NotFoundError(ENTITY.definitionVersion, `${id} v${version}`),
      entity: ENTITY.definitionVersion,
      id,
    };
  }

  async setStatus(
    id: string,
    status: DefinitionStatus,
    expectedVersion: number,
    opts: { expectedStatus?: DefinitionStatus } = {},
  ): Promise<LabletDefinition> {
    validateInput(DefinitionStatusSchema, status, 'status');
    const latest = new Expr();
    const latestConditions = [
      `attribute_exists(${latest.name('PK')})`,
      `${latest.name('version')} = ${latest.value(expectedVersion)}`,
    ];
    if (opts.expectedStatus) {
      latestConditions.push(`${latest.name('status')} = ${latest.value(opts.expectedStatus)}`);
    }
    const latestSet = `SET ${latest.name('status')} = ${latest.value(status)}`;
    const version = new Expr();
    const versionSet = `SET ${version.name('status')} = ${version.value(status)}`;
    await transactWrite(this.cfg.client, [
      {
        item: {
          Update: {
            TableName: this.cfg.tableName,
            Key: keys.definitionLatest(id),
            UpdateExpression: latestSet,
            ConditionExpression: latestConditions.join(' AND '),
            ...latest.attributes(),
          },
        },
        onConditionFailed: (old) =>
          conditionError(ENTITY.definitionLatest, id, old, expectedVersion, opts.expectedStatus),
        entity: ENTITY.definitionLatest,
        id,
      },
      {
        item: {
          Update: {
            TableName: this.cfg.tableName,
            Key: keys.definitionVersion(id, expectedVersion),
            UpdateExpression: versionSet,
            ConditionExpression: `attribute_exists(${version.name('PK')})`,
            ...version.attributes(),
          },
        },
        onConditionFailed: () => new NotFoundError(ENTITY.definitionVersion, `${id} v${expectedVersion}`),
        entity: ENTITY.definitionVersion,
        id,
      },
    ]);
    return this.getLatest(id);
  }

  async setSync(
    id: string,
    sync: DefinitionSync,
    expectedVersion: number,
    opts: { expectedSync?: ExpectedSync } = {},
  ): Promise<LabletDefinition> {
    const value = validateInput(DefinitionSyncSchema, sync, 'sync');
    const latest = new Expr();
    const conditions = [
      `attribute_exists(${latest.name('PK')})`,
      `${latest.name('version')} = ${latest.value(expectedVersion)}`,
    ];
    const expected = opts.expectedSync;
    if (expected) {
      const path = (field: string) => `${latest.name('sync')}.${latest.name(field)}`;
      const status = `${path('status')} = ${latest.value(expected.status)}`;
      conditions.push(
        expected.status === 'NONE' ? `(attribute_not_exists(${latest.name('sync')}) OR ${status})` : status,
      );
      if (expected.at !== undefined) conditions.push(`${path('at')} = ${latest.value(expected.at)}`);
    }
    const latestSet = `SET ${latest.name('sync')} = ${latest.value(value)}`;
    await transactWrite(this.cfg.client, [
      {
        item: {
          Update: {
            TableName: this.cfg.tableName,
            Key: keys.definitionLatest(id),
            UpdateExpression: latestSet,
            ConditionExpression: conditions.join(' AND '),
            ...latest.attributes(),
          },
        },
        onConditionFailed: (old) => {
          if (!old || old.version !== expectedVersion || !expected) {
            return conditionError(ENTITY.definitionLatest, id, old, expectedVersion);
          }
          const found = (old.sync ?? {}) as { status?: string; at?: string };
          return new VersionConflictError(
            ENTITY.definitionLatest,
            id,
            `sync is ${found.status ?? 'NONE'}${found.at ? ` (${found.at})` : ''}, expected ${expected.status}` +
              `${expected.at ? ` (${expected.at})` : ''}`,
          );
        },
        entity: ENTITY.definitionLatest,
        id,
      },
      this.syncOfVersion(id, expectedVersion, value),
    ]);
    return this.getLatest(id);
  }

  private async getItem(key: Record<string, string>, label: string): Promise<LabletDefinition> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: key, ConsistentRead: true }),
    );
    if (!out.Item) throw new NotFoundError(ENTITY.definitionLatest, label);
    return parseItem(LabletDefinitionSchema, out.Item);
  }

  private putVersion(def: LabletDefinition) {
    return {
      TableName: this.cfg.tableName,
      Item: {
        ...keys.definitionVersion(def.id, def.version),
        [TABLE.entityAttribute]: ENTITY.definitionVersion,
        ...def,
      },
    };
  }

  private putLatest(def: LabletDefinition) {
    return {
      TableName: this.cfg.tableName,
      Item: {
        ...keys.definitionLatest(def.id),
        ...keys.definitionListing(def.id),
        [TABLE.entityAttribute]: ENTITY.definitionLatest,
        ...def,
      },
    };
  }
}
