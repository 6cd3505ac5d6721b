import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type LabletSession,
  NotFoundError,
  PoolClaimConflictError,
  type PooledLab,
  PooledLabSchema,
  type PooledLabStatus,
  sessionTransition,
  VersionConflictError,
  type Worker,
} from '../kernel/index.ts';
import {
  conditionError,
  ENTITY,
  Expr,
  type Item,
  isConditionFailed,
  keys,
  nowIso,
  oldItemOf,
  parseItem,
  queryAll,
  type StoreConfig,
  TABLE,
  type TxOp,
  transactWrite,
} from '../platform/index.ts';
import {
  allocateOnWorkerOp,
  leaseDeleteOps,
  leasePutOps,
  releaseOnWorkerOp,
  scheduleSessionOp,
} from './allocation-ops.ts';
import { historyPut } from './session-store.ts';

/** A released or claimed pooled lab's item expires after this long (the pool cost reads it until then). */
export const POOLED_LAB_RETENTION_DAYS = 90;

/** Fields a pooled lab's progress may set (status moves through `advance`). */
export type PooledLabPatch = Partial<Pick<PooledLab, 'cmlLabId' | 'bootDeadline' | 'readyAt'>>;

/**
 * The hot-start pool's labs (issue 15, item 3): one item per pooled lab (`POOLLAB#<id>`), listed
 * on GSI2 by definition (`TYPE#PooledLab`, `<definitionId>#<id>`). Placing, claiming and releasing
 * are single transactions built from the same worker and lease operations as a session's
 * placement (allocation-ops.ts); a lost race is a typed error with nothing written.
 */
export interface PoolStore {
  /** A new lab PLACED on the worker: the item, the worker's capacity and one lease per port. */
  place(lab: PooledLab, worker: Worker): Promise<PooledLab>;
  get(id: string): Promise<PooledLab>;
  /** Every pooled lab still stored (live, claimed and released; GSI2, eventually consistent). */
  listAll(): Promise<PooledLab[]>;
  /** The labs of one definition (GSI2, eventually consistent). */
  listOfDefinition(definitionId: string): Promise<PooledLab[]>;
  /** from → to with the patch, under the lab's version. */
  advance(lab: PooledLab, to: PooledLabStatus, patch?: PooledLabPatch): Promise<PooledLab>;
  /**
   * RELEASED, with the worker's capacity and the lab's leases given back when `worker` is given
   * (a worker that is no longer live had its capacity zeroed and leases cleared by its drain or
   * loss: pass undefined). `leasedPorts`: the ports the lab still holds leases on.
   */
  release(
    lab: PooledLab,
    worker: Worker | undefined,
    leasedPorts: readonly number[],
    reason: string,
  ): Promise<PooledLab>;
  /**
   * The claim transaction: the READY lab → CLAIMED; the PENDING session → SCHEDULED on the lab's
   * worker with its ports, CML lab and `pooledLabId`, its placement marker and history entry;
   * each port lease moved to the session; the worker still RUNNING. Any lost race is a
   * PoolClaimConflictError with nothing written.
   */
  claim(lab: PooledLab, session: LabletSession, by: string): Promise<LabletSession>;
}

const ttlOf = (at: string): number => Math.floor(Date.parse(at) / 1000) + POOLED_LAB_RETENTION_DAYS * 86_400;

export class DynamoPoolStore implements PoolStore {
  constructor(private readonly cfg: StoreConfig) {}

  async place(lab: PooledLab, worker: Worker): Promise<PooledLab> {
    const parsed = PooledLabSchema.parse({ ...lab, status: 'PLACED', workerId: worker.id, version: 0 });
    const at = parsed.placedAt;
    const t = this.cfg.tableName;
    const ops: TxOp[] = [
      {
        item: {
          Put: {
            TableName: t,
            Item: {
              ...keys.pooledLab(parsed.id),
              ...keys.pooledLabListing(parsed.definitionId, parsed.id),
              [TABLE.entityAttribute]: ENTITY.pooledLab,
              ...parsed,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: () => new VersionConflictError(ENTITY.pooledLab, parsed.id, 'already placed'),
        entity: ENTITY.pooledLab,
        id: parsed.id,
      },
      // A pooled lab has no end: the worker's latestSessionEnd is left as it is.
      allocateOnWorkerOp(t, worker, parsed, Object.keys(parsed.allocatedPorts).length, at),
      ...leasePutOps(t, worker.id, parsed.id, parsed.allocatedPorts, at),
    ];
    await transactWrite(this.cfg.client, ops);
    return parsed;
  }

  async get(id: string): Promise<PooledLab> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: keys.pooledLab(id), ConsistentRead: true }),
    );
    if (!out.Item) throw new NotFoundError(ENTITY.pooledLab, id);
    return parseItem(PooledLabSchema, out.Item as Item);
  }

  async listAll(): Promise<PooledLab[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: keys.pooledLabListingPartition,
    });
    return items.map((i) => parseItem(PooledLabSchema, i));
  }

  async listOfDefinition(definitionId: string): Promise<PooledLab[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: keys.pooledLabListingPartition,
      sk: { beginsWith: `${definitionId}#` },
    });
    return items.map((i) => parseItem(PooledLabSchema, i));
  }

  async advance(lab: PooledLab, to: PooledLabStatus, patch: PooledLabPatch = {}): Promise<PooledLab> {
    const at = nowIso(this.cfg.clock);
    const next = PooledLabSchema.parse({
      ...lab,
      ...patch,
      status: to,
      version: lab.version + 1,
      updatedAt: at,
    });
    const e = new Expr();
    try {
      await this.cfg.client.send(
        new UpdateCommand({
          TableName: this.cfg.tableName,
          Key: keys.pooledLab(lab.id),
          UpdateExpression: e.update(
            e.assignments({ ...patch, status: to, version: next.version, updatedAt: at }),
          ),
          ConditionExpression: `attribute_exists(${e.name('PK')}) AND ${e.name('version')} = ${e.value(lab.version)} AND ${e.name('status')} = ${e.value(lab.status)}`,
          ...e.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      throw conditionError(ENTITY.pooledLab, lab.id, oldItemOf(err), lab.version, lab.status);
    }
    return next;
  }

  async release(
    lab: PooledLab,
    worker: Worker | undefined,
    leasedPorts: readonly number[],
    reason: string,
  ): Promise<PooledLab> {
    const at = nowIso(this.cfg.clock);
    const t = this.cfg.tableName;
    const e = new Expr();
    const ops: TxOp[] = [
      {
        item: {
          Update: {
            TableName: t,
            Key: keys.pooledLab(lab.id),
            UpdateExpression: e.update(
              e.assignments({
                status: 'RELEASED',
                endedAt: at,
                releaseReason: reason.slice(0, 1000),
                version: lab.version + 1,
                updatedAt: at,
                [TABLE.ttlAttribute]: ttlOf(at),
              }),
            ),
            ConditionExpression: `attribute_exists(${e.name('PK')}) AND ${e.name('version')} = ${e.value(lab.version)} AND ${e.name('status')} = ${e.value(lab.status)}`,
            ...e.attributes(),
          },
        },
        onConditionFailed: (old) => conditionError(ENTITY.pooledLab, lab.id, old, lab.version, lab.status),
        entity: ENTITY.pooledLab,
        id: lab.id,
      },
    ];
    if (worker) ops.push(releaseOnWorkerOp(t, worker, lab, leasedPorts.length, at));
    ops.push(...leaseDeleteOps(t, lab.workerId, lab.id, leasedPorts));
    await transactWrite(this.cfg.client, ops);
    return {
      ...lab,
      status: 'RELEASED',
      endedAt: at,
      releaseReason: reason,
      version: lab.version + 1,
      updatedAt: at,
    };
  }

  async claim(lab: PooledLab, session: LabletSession, by: string): Promise<LabletSession> {
    const at = nowIso(this.cfg.clock);
    const t = this.cfg.tableName;
    const conflict = (reason: string) => () => new PoolClaimConflictError(lab.id, session.id, reason);
    const entry = sessionTransition(
      session.status,
      'SCHEDULED',
      by,
      at,
      `claimed pooled lab ${lab.id} (CML lab ${lab.cmlLabId ?? '?'}) on ${lab.workerId}`,
    );

    const l = new Expr();
    const labOp: TxOp = {
      item: {
        Update: {
          TableName: t,
          Key: keys.pooledLab(lab.id),
          UpdateExpression: l.update(
            l.assignments({
              status: 'CLAIMED',
              claimedBy: session.id,
              endedAt: at,
              version: lab.version + 1,
              updatedAt: at,
              [TABLE.ttlAttribute]: ttlOf(at),
            }),
          ),
          ConditionExpression: `attribute_exists(${l.name('PK')}) AND ${l.name('status')} = ${l.value('READY')} AND ${l.name('version')} = ${l.value(lab.version)}`,
          ...l.attributes(),
        },
      },
      onConditionFailed: conflict('the pooled lab is no longer READY at the version read'),
      entity: ENTITY.pooledLab,
      id: lab.id,
    };

    const sessionOp = scheduleSessionOp(
      t,
      session,
      {
        workerId: lab.workerId,
        allocatedPorts: lab.allocatedPorts,
        cmlLabId: lab.cmlLabId,
        pooledLabId: lab.id,
      },
      at,
    );

    const w = new Expr();
    const workerCheck: TxOp = {
      item: {
        ConditionCheck: {
          TableName: t,
          Key: keys.worker(lab.workerId),
          ConditionExpression: `${w.name('status')} = ${w.value('RUNNING')}`,
          ...w.attributes(),
        },
      },
      onConditionFailed: conflict(`worker ${lab.workerId} is no longer RUNNING`),
      entity: ENTITY.worker,
      id: lab.workerId,
    };

    const leaseMoves: TxOp[] = Object.values(lab.allocatedPorts).map((port) => ({
      item: {
        Update: {
          TableName: t,
          Key: keys.portLease(lab.workerId, port),
          UpdateExpression: 'SET sessionId = :session, leasedAt = :at',
          ConditionExpression: 'sessionId = :lab',
          ExpressionAttributeValues: { ':session': session.id, ':lab': lab.id, ':at': at },
        },
      },
      onConditionFailed: conflict(`port ${port} is no longer leased by the pooled lab`),
      entity: ENTITY.portLease,
      id: `${lab.workerId}:${port}`,
    }));

    await transactWrite(this.cfg.client, [
      sessionOp,
      labOp,
      workerCheck,
      historyPut(t, session.id, entry, session.version + 1),
      ...leaseMoves,
    ]);
    return {
      ...session,
      status: 'SCHEDULED',
      workerId: lab.workerId,
      allocatedPorts: { ...lab.allocatedPorts },
      ...(lab.cmlLabId ? { cmlLabId: lab.cmlLabId } : {}),
      pooledLabId: lab.id,
      placementRejections: undefined,
      version: session.version + 1,
      updatedAt: at,
    };
  }
}
