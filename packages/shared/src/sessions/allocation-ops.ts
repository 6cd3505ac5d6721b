import {
  addCapacity,
  ConflictError,
  DomainError,
  fits,
  type LabletSession,
  type PortAllocations,
  type ResourceRequirements,
  requirementsAsCapacity,
  shortfall,
  subtractCapacity,
  VersionConflictError,
  type Worker,
} from '../kernel/index.ts';
import { conditionError, ENTITY, Expr, keys, TABLE, type TxOp, utcKey } from '../platform/index.ts';

/**
 * The worker and port-lease halves of a placement and of its release, shared by the session
 * placement transaction (placement-store.ts) and the hot-start pool's (pool-store.ts): a holder
 * (a session, or a pooled lab) takes capacity on a RUNNING worker under the worker's version and
 * leases one port per name with `attribute_not_exists`; a release gives both back. The lease
 * items carry the holder's id in `sessionId` (a pooled lab's id starts with `pool-`).
 */

/** What takes capacity: its id and what it needs. */
export interface Holder {
  id: string;
  requirements: ResourceRequirements;
}

/**
 * The worker's update of a placement: capacity added, lease count raised, `latestSessionEnd`
 * max'ed with `end` (when the holder has one), conditioned on its version and RUNNING. Throws
 * NO_CAPACITY when the holder does not fit (the version condition makes the check exact).
 */
export function allocateOnWorkerOp(
  tableName: string,
  worker: Worker,
  holder: Holder,
  portCount: number,
  at: string,
  end?: string,
): TxOp {
  const need = requirementsAsCapacity(holder.requirements);
  if (worker.status !== 'RUNNING') {
    throw new ConflictError(`worker ${worker.id} is ${worker.status}, not RUNNING`, { workerId: worker.id });
  }
  if (!fits(worker.declaredCapacity, worker.allocatedCapacity, need)) {
    throw new DomainError('NO_CAPACITY', `${holder.id} does not fit on worker ${worker.id}`, {
      category: 'capacity',
      dimensions: shortfall(worker.declaredCapacity, worker.allocatedCapacity, need),
    });
  }
  const rangeSize = worker.portRange.end - worker.portRange.start + 1;
  if (worker.leasedPortCount + portCount > rangeSize) {
    throw new DomainError('NO_CAPACITY', `worker ${worker.id} has too few free ports`, { category: 'ports' });
  }
  const w = new Expr();
  return {
    item: {
      Update: {
        TableName: tableName,
        Key: keys.worker(worker.id),
        UpdateExpression: w.update(
          w.assignments({
            allocatedCapacity: addCapacity(worker.allocatedCapacity, need),
            leasedPortCount: worker.leasedPortCount + portCount,
            ...(end !== undefined ? { latestSessionEnd: laterInstant(worker.latestSessionEnd, end) } : {}),
            version: worker.version + 1,
            updatedAt: at,
            lastActivityAt: at,
          }),
          ['idleSince'],
        ),
        ConditionExpression: `attribute_exists(${w.name('PK')}) AND ${w.name('version')} = ${w.value(worker.version)} AND ${w.name('status')} = ${w.value('RUNNING')}`,
        ...w.attributes(),
      },
    },
    onConditionFailed: (old) => conditionError(ENTITY.worker, worker.id, old, worker.version, 'RUNNING'),
    entity: ENTITY.worker,
    id: worker.id,
  };
}

/** One lease Put per allocated port, each only if the port is free. */
export function leasePutOps(
  tableName: string,
  workerId: string,
  holderId: string,
  allocation: PortAllocations,
  at: string,
): TxOp[] {
  return Object.entries(allocation).map(([name, port]) => ({
    item: {
      Put: {
        TableName: tableName,
        Item: {
          ...keys.portLease(workerId, port),
          [TABLE.entityAttribute]: ENTITY.portLease,
          workerId,
          port,
          sessionId: holderId,
          name,
          leasedAt: at,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    onConditionFailed: (old) =>
      new VersionConflictError(
        ENTITY.portLease,
        `${workerId}:${port}`,
        `port already leased by session ${String(old?.sessionId)}`,
      ),
    entity: ENTITY.portLease,
    id: `${workerId}:${port}`,
  }));
}

/**
 * The worker's update of a release: capacity and lease count given back under its version; a
 * worker left empty becomes idle (`idleSince`) and forgets `latestSessionEnd`.
 */
export function releaseOnWorkerOp(
  tableName: string,
  worker: Worker,
  holder: Holder,
  portCount: number,
  at: string,
): TxOp {
  const allocated = subtractCapacity(worker.allocatedCapacity, requirementsAsCapacity(holder.requirements));
  const leasedPortCount = worker.leasedPortCount - portCount;
  if (leasedPortCount < 0) {
    throw new ConflictError(`worker ${worker.id} holds fewer port leases than ${holder.id}`, {
      workerId: worker.id,
      sessionId: holder.id,
    });
  }
  const empty = leasedPortCount === 0 && Object.values(allocated).every((v) => v === 0);
  // latestSessionEnd stays as it is while other holders remain: recomputing it would need their
  // timeslots (more reads, and items outside this transaction). A stale, later value only affects
  // a preference, never the safety of a placement (the filters do not read it).
  const w = new Expr();
  return {
    item: {
      Update: {
        TableName: tableName,
        Key: keys.worker(worker.id),
        UpdateExpression: w.update(
          w.assignments({
            allocatedCapacity: allocated,
            leasedPortCount,
            version: worker.version + 1,
            updatedAt: at,
            lastActivityAt: at,
            // The scale-down planner drains workers idle since a threshold.
            ...(empty ? { idleSince: at } : {}),
          }),
          empty ? ['latestSessionEnd'] : [],
        ),
        ConditionExpression: `attribute_exists(${w.name('PK')}) AND ${w.name('version')} = ${w.value(worker.version)}`,
        ...w.attributes(),
      },
    },
    onConditionFailed: (old) => conditionError(ENTITY.worker, worker.id, old, worker.version),
    entity: ENTITY.worker,
    id: worker.id,
  };
}

/** One lease Delete per port, each only while the holder still holds it. */
export function leaseDeleteOps(
  tableName: string,
  workerId: string,
  holderId: string,
  ports: readonly number[],
): TxOp[] {
  return ports.map((port) => ({
    item: {
      Delete: {
        TableName: tableName,
        Key: keys.portLease(workerId, port),
        ConditionExpression: 'sessionId = :sid',
        ExpressionAttributeValues: { ':sid': holderId },
      },
    },
    onConditionFailed: (old) =>
      new ConflictError(`port ${port} on worker ${workerId} is not leased by session ${holderId}`, {
        workerId,
        port,
        sessionId: holderId,
        heldBy: old?.sessionId,
      }),
    entity: ENTITY.portLease,
    id: `${workerId}:${port}`,
  }));
}

/** The later of two ISO instants (by time, not by text: offsets may differ). */
export function laterInstant(current: string | undefined, candidate: string): string {
  if (current === undefined) return candidate;
  const c = Date.parse(current);
  return Number.isNaN(c) || Date.parse(candidate) > c ? candidate : current;
}

/**
 * The session's half of a placement: PENDING → SCHEDULED on `fields.workerId` (with its ports and
 * whatever else the placement sets, e.g. a claimed pooled lab's ids), the status and worker index
 * keys moved, the last placement rejections removed; conditioned on PENDING at the version read.
 */
export function scheduleSessionOp(
  tableName: string,
  session: LabletSession,
  fields: { workerId: string; allocatedPorts: PortAllocations } & Record<string, unknown>,
  at: string,
): TxOp {
  const start = utcKey(session.timeslot.start, 'timeslot.start');
  const s = new Expr();
  return {
    item: {
      Update: {
        TableName: tableName,
        Key: keys.session(session.id),
        UpdateExpression: s.update(
          s.assignments({
            status: 'SCHEDULED',
            ...fields,
            ...keys.sessionByStatus('SCHEDULED', start, session.id),
            ...keys.sessionOnWorker(fields.workerId, start, session.id),
            version: session.version + 1,
            updatedAt: at,
          }),
          ['placementRejections'],
        ),
        ConditionExpression: `attribute_exists(${s.name('PK')}) AND ${s.name('status')} = ${s.value('PENDING')} AND ${s.name('version')} = ${s.value(session.version)}`,
        ...s.attributes(),
      },
    },
    onConditionFailed: (old) => conditionError(ENTITY.session, session.id, old, session.version, 'PENDING'),
    entity: ENTITY.session,
    id: session.id,
  };
}
