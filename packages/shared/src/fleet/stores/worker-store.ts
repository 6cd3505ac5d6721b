import type * as z from 'zod';
import type { WorkerStatus } from '../../kernel/index.ts';
import {
  type Worker,
  WorkerSchema,
  WorkerStatusSchema,
  workerTransition,
  ZERO_CAPACITY,
} from '../../kernel/index.ts';
import {
  checkLimit,
  ENTITY,
  getParsed,
  keys,
  type NewEntity,
  nowIso,
  type Page,
  type PageRequest,
  parseItem,
  patchVersioned,
  putNew,
  queryAll,
  queryPage,
  type StoreConfig,
  TABLE,
  validateInput,
  validatePatch,
  versionedUpdate,
} from '../../platform/index.ts';

/** A new worker: timestamps, version, empty allocation and history are stamped when absent. */
export type NewWorker = NewEntity<
  typeof WorkerSchema,
  'createdAt' | 'updatedAt' | 'version' | 'allocatedCapacity' | 'leasedPortCount',
  'stateHistory'
>;

/**
 * Fields an update may change. Status only moves through transition(); allocatedCapacity and
 * leasedPortCount belong to the placement transactions (a reconciler may correct them here).
 */
const EDITABLE = WorkerSchema.omit({
  id: true,
  status: true,
  stateHistory: true,
  createdAt: true,
  updatedAt: true,
  version: true,
});

/** What update() patches (platform patchVersioned). */
const PATCHABLE = { entity: ENTITY.worker, key: keys.worker, editable: EDITABLE, schema: WorkerSchema };

export type WorkerPatch = { [K in keyof z.input<typeof EDITABLE>]?: z.input<typeof EDITABLE>[K] | null };

export interface WorkerTransitionOptions {
  /** Also require this version (otherwise the status condition alone serialises writers). */
  expectedVersion?: number;
  /** Fields written in the same update (e.g. ec2InstanceId when PROVISIONING → STARTING). */
  patch?: WorkerPatch;
}

/** Access pattern 1: worker by id; workers by status; all workers. */
export interface WorkerStore {
  create(worker: NewWorker): Promise<Worker>;
  get(id: string): Promise<Worker>;
  listByStatus(status: WorkerStatus, page?: PageRequest): Promise<Page<Worker>>;
  /** Every worker with the status, all pages (placement and the scaler need the whole set). */
  listAllByStatus(status: WorkerStatus): Promise<Worker[]>;
  listAll(page?: PageRequest): Promise<Page<Worker>>;
  update(id: string, patch: WorkerPatch, expectedVersion: number): Promise<Worker>;
  /**
   * Validated status change conditioned on the current status `from`: appends to
   * stateHistory and moves the worker to the GSI1 partition of `to`.
   */
  transition(
    id: string,
    from: WorkerStatus,
    to: WorkerStatus,
    by: string,
    reason?: string,
    opts?: WorkerTransitionOptions,
  ): Promise<Worker>;
}

const WORKER_LISTING = keys.workerListing('').GSI2PK;

export class DynamoWorkerStore implements WorkerStore {
  constructor(private readonly cfg: StoreConfig) {}

  async create(input: NewWorker): Promise<Worker> {
    const now = nowIso(this.cfg.clock);
    const worker = validateInput(WorkerSchema, {
      createdAt: now,
      updatedAt: now,
      version: 1,
      allocatedCapacity: { ...ZERO_CAPACITY },
      leasedPortCount: 0,
      stateHistory: [],
      ...input,
    });
    await putNew(
      this.cfg,
      {
        ...keys.worker(worker.id),
        ...keys.workerByStatus(worker.status, worker.id),
        ...keys.workerListing(worker.id),
        [TABLE.entityAttribute]: ENTITY.worker,
        ...worker,
      },
      ENTITY.worker,
      worker.id,
    );
    return worker;
  }

  async get(id: string): Promise<Worker> {
    return getParsed(this.cfg, keys.worker(id), WorkerSchema, ENTITY.worker, id);
  }

  async listByStatus(status: WorkerStatus, page: PageRequest = {}): Promise<Page<Worker>> {
    validateInput(WorkerStatusSchema, status, 'status');
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI1',
      pk: keys.workerStatusPartition(status),
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(WorkerSchema, i)), cursor: out.cursor };
  }

  async listAllByStatus(status: WorkerStatus): Promise<Worker[]> {
    validateInput(WorkerStatusSchema, status, 'status');
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      index: 'GSI1',
      pk: keys.workerStatusPartition(status),
    });
    return items.map((i) => parseItem(WorkerSchema, i));
  }

  async listAll(page: PageRequest = {}): Promise<Page<Worker>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: WORKER_LISTING,
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(WorkerSchema, i)), cursor: out.cursor };
  }

  update(id: string, patch: WorkerPatch, expectedVersion: number): Promise<Worker> {
    return patchVersioned(this.cfg, PATCHABLE, id, patch, expectedVersion);
  }

  async transition(
    id: string,
    from: WorkerStatus,
    to: WorkerStatus,
    by: string,
    reason?: string,
    opts: WorkerTransitionOptions = {},
  ): Promise<Worker> {
    const at = nowIso(this.cfg.clock);
    // Throws InvalidTransitionError before anything is written.
    const entry = workerTransition(from, to, by, at, reason);
    const { sets, removes } = this.validPatch(opts.patch ?? {});
    const item = await versionedUpdate(this.cfg.client, this.cfg.tableName, {
      key: keys.worker(id),
      entity: ENTITY.worker,
      id,
      sets: { ...sets, status: to, GSI1PK: keys.workerStatusPartition(to) },
      removes,
      expectedVersion: opts.expectedVersion,
      expectedStatus: from,
      rawSets: (e) => [
        `${e.name('stateHistory')} = list_append(if_not_exists(${e.name('stateHistory')}, ${e.value([])}), ${e.value([entry])})`,
      ],
      updatedAt: at,
    });
    return parseItem(WorkerSchema, item);
  }

  private validPatch(patch: WorkerPatch): { sets: Record<string, unknown>; removes: string[] } {
    return validatePatch(EDITABLE, patch);
  }
}
