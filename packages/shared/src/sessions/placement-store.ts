import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  addCapacity,
  ConflictError,
  DomainError,
  fits,
  type LabletSession,
  LabletSessionSchema,
  NotFoundError,
  type PortAllocations,
  PortAllocationsSchema,
  requirementsAsCapacity,
  sessionTransition,
  shortfall,
  subtractCapacity,
  ValidationError,
  VersionConflictError,
  type Worker,
  WorkerSchema,
} from '../kernel/index.ts';
import {
  conditionError,
  ENTITY,
  Expr,
  type Item,
  keys,
  MAX_TRANSACTION_ITEMS,
  nowIso,
  parseItem,
  type StoreConfig,
  TABLE,
  type TxOp,
  transactWrite,
  utcKey,
  validateInput,
} from '../platform/index.ts';
import { historyPut } from './session-store.ts';

/**
 * Placement transaction = worker update + session update + history item + one lease per port,
 * and TransactWriteItems holds at most 100 items.
 */
export const MAX_PORTS_PER_SESSION = MAX_TRANSACTION_ITEMS - 3;

export interface PlaceInput {
  /** The session as read (status PENDING); its version is the condition. */
  session: LabletSession;
  /** The chosen worker as read (status RUNNING); its version is the condition. */
  worker: Worker;
  /** name → port, one per entry of session.portTemplate, inside worker.portRange. */
  ports: PortAllocations;
  by: string;
  reason?: string;
}

/** Where a session is placed, while it holds the placement (the GSI3 keys are the marker). */
export interface Placement {
  workerId: string;
  ports: PortAllocations;
}

export interface ReleaseResult {
  /** false when there was nothing to release (never placed, or already released). */
  released: boolean;
  workerId?: string;
  ports?: PortAllocations;
}

/**
 * Placement and release as single transactions (DESIGN §5). Any lost race is a
 * VersionConflictError with nothing written; callers re-read and retry (commands/).
 */
export interface PlacementStore {
  /** PENDING → SCHEDULED on the worker with the ports leased; returns the updated session. */
  place(input: PlaceInput): Promise<LabletSession>;
  /** Mirror of place; idempotent: a session without a placement gives { released: false }. */
  release(sessionId: string): Promise<ReleaseResult>;
  getPlacement(sessionId: string): Promise<Placement | undefined>;
}

export class DynamoPlacementStore implements PlacementStore {
  constructor(private readonly cfg: StoreConfig) {}

  async place({ session, worker, ports, by, reason }: PlaceInput): Promise<LabletSession> {
    const at = nowIso(this.cfg.clock);
    const entry = sessionTransition(session.status, 'SCHEDULED', by, at, reason ?? `placed on ${worker.id}`);
    const allocation = validateInput(PortAllocationsSchema, ports, 'ports');
    this.checkPorts(session, worker, allocation);

    // Conditions cannot do arithmetic: the new totals are computed and checked here, and the
    // version condition guarantees they were computed from what is stored.
    const need = requirementsAsCapacity(session.requirements);
    if (worker.status !== 'RUNNING') {
      throw new ConflictError(`worker ${worker.id} is ${worker.status}, not RUNNING`, {
        workerId: worker.id,
      });
    }
    if (!fits(worker.declaredCapacity, worker.allocatedCapacity, need)) {
      throw new DomainError('NO_CAPACITY', `session ${session.id} does not fit on worker ${worker.id}`, {
        category: 'capacity',
        dimensions: shortfall(worker.declaredCapacity, worker.allocatedCapacity, need),
      });
    }
    const portCount = Object.keys(allocation).length;
    const rangeSize = worker.portRange.end - worker.portRange.start + 1;
    if (worker.leasedPortCount + portCount > rangeSize) {
      throw new DomainError('NO_CAPACITY', `worker ${worker.id} has too few free ports`, {
        category: 'ports',
      });
    }
    const allocated = addCapacity(worker.allocatedCapacity, need);
    const start = utcKey(session.timeslot.start, 'timeslot.start');
    // max(current, this session's end), computed here like the totals above (the version
    // condition makes it a max over exactly the sessions placed so far).
    const latestSessionEnd = laterInstant(
      worker.latestSessionEnd,
      utcKey(session.timeslot.end, 'timeslot.end'),
    );
    const t = this.cfg.tableName;

    const w = new Expr();
    const workerOp: TxOp = {
      item: {
        Update: {
          TableName: t,
          Key: keys.worker(worker.id),
          UpdateExpression: w.update(
            w.assignments({
              allocatedCapacity: allocated,
              leasedPortCount: worker.leasedPortCount + portCount,
              latestSessionEnd,
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

    const leaseOps: TxOp[] = Object.entries(allocation).map(([name, port]) => ({
      item: {
        Put: {
          TableName: t,
          Item: {
            ...keys.portLease(worker.id, port),
            [TABLE.entityAttribute]: ENTITY.portLease,
            workerId: worker.id,
            port,
            sessionId: session.id,
            name,
            leasedAt: at,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      onConditionFailed: (old) =>
        new VersionConflictError(
          ENTITY.portLease,
          `${worker.id}:${port}`,
          `port already leased by session ${String(old?.sessionId)}`,
        ),
      entity: ENTITY.portLease,
      id: `${worker.id}:${port}`,
    }));

    const s = new Expr();
    const sessionOp: TxOp = {
      item: {
        Update: {
          TableName: t,
          Key: keys.session(session.id),
          UpdateExpression: s.update(
            s.assignments({
              status: 'SCHEDULED',
              workerId: worker.id,
              allocatedPorts: allocation,
              ...keys.sessionByStatus('SCHEDULED', start, session.id),
              ...keys.sessionOnWorker(worker.id, start, session.id),
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

    await transactWrite(this.cfg.client, [
      sessionOp,
      workerOp,
      historyPut(t, session.id, entry, session.version + 1),
      ...leaseOps,
    ]);
    return {
      ...session,
      status: 'SCHEDULED',
      workerId: worker.id,
      allocatedPorts: allocation,
      placementRejections: undefined,
      version: session.version + 1,
      updatedAt: at,
    };
  }

  async release(sessionId: string): Promise<ReleaseResult> {
    const sessionItem = await this.getItem(keys.session(sessionId));
    if (!sessionItem) throw new NotFoundError(ENTITY.session, sessionId);
    const placement = placementOf(sessionItem);
    if (!placement) return { released: false };
    const session = parseItem(LabletSessionSchema, sessionItem);
    const { workerId, ports } = placement;
    const at = nowIso(this.cfg.clock);
    const t = this.cfg.tableName;

    const s = new Expr();
    const sessionOp: TxOp = {
      item: {
        Update: {
          TableName: t,
          Key: keys.session(sessionId),
          UpdateExpression: s.update(
            [
              `${s.name('version')} = ${s.name('version')} + ${s.value(1)}`,
              ...s.assignments({ updatedAt: at }),
            ],
            ['GSI3PK', 'GSI3SK'],
          ),
          ConditionExpression: `${s.name('GSI3PK')} = ${s.value(keys.sessionsOnWorkerPartition(workerId))}`,
          ...s.attributes(),
        },
      },
      // Only a concurrent release removes the marker: that one did the work.
      onConditionFailed: (old) =>
        old && !old.GSI3PK ? new AlreadyReleased() : new VersionConflictError(ENTITY.session, sessionId),
      entity: ENTITY.session,
      id: sessionId,
    };

    const ops: TxOp[] = [sessionOp];
    const workerItem = await this.getItem(keys.worker(workerId));
    // A worker item that is gone (deleted after termination) has no capacity to give back.
    if (workerItem) {
      const worker = parseItem(WorkerSchema, workerItem);
      const portCount = Object.keys(ports).length;
      const allocated = subtractCapacity(
        worker.allocatedCapacity,
        requirementsAsCapacity(session.requirements),
      );
      const leasedPortCount = worker.leasedPortCount - portCount;
      if (leasedPortCount < 0) {
        throw new ConflictError(`worker ${workerId} holds fewer port leases than session ${sessionId}`, {
          workerId,
          sessionId,
        });
      }
      const empty = leasedPortCount === 0 && Object.values(allocated).every((v) => v === 0);
      // latestSessionEnd stays as it is while other sessions remain: recomputing it would need
      // their timeslots (more reads, and items outside this transaction). A stale, later value
      // only affects a preference, never the safety of a placement (the filters do not read it):
      // the worker looks longer-lived than it is, so placement's end-time alignment for it is a
      // little off until it empties. When the release empties the worker it is removed, since
      // there is no session end left to align with.
      const w = new Expr();
      ops.push({
        item: {
          Update: {
            TableName: t,
            Key: keys.worker(workerId),
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
        onConditionFailed: (old) => conditionError(ENTITY.worker, workerId, old, worker.version),
        entity: ENTITY.worker,
        id: workerId,
      });
    }
    for (const port of Object.values(ports)) {
      ops.push({
        item: {
          Delete: {
            TableName: t,
            Key: keys.portLease(workerId, port),
            ConditionExpression: 'sessionId = :sid',
            ExpressionAttributeValues: { ':sid': sessionId },
          },
        },
        onConditionFailed: (old) =>
          new ConflictError(`port ${port} on worker ${workerId} is not leased by session ${sessionId}`, {
            workerId,
            port,
            sessionId,
            heldBy: old?.sessionId,
          }),
        entity: ENTITY.portLease,
        id: `${workerId}:${port}`,
      });
    }

    try {
      await transactWrite(this.cfg.client, ops);
    } catch (e) {
      if (e instanceof AlreadyReleased) return { released: false };
      throw e;
    }
    return { released: true, workerId, ports };
  }

  async getPlacement(sessionId: string): Promise<Placement | undefined> {
    const item = await this.getItem(keys.session(sessionId));
    if (!item) throw new NotFoundError(ENTITY.session, sessionId);
    return placementOf(item);
  }

  private checkPorts(session: LabletSession, worker: Worker, ports: PortAllocations): void {
    const names = Object.keys(ports);
    if (names.length > MAX_PORTS_PER_SESSION) {
      throw new ValidationError(
        'ports',
        `at most ${MAX_PORTS_PER_SESSION} ports per session, got ${names.length}`,
      );
    }
    const expected = new Set(session.portTemplate.map((p) => p.name));
    if (names.length !== expected.size || !names.every((n) => expected.has(n))) {
      throw new ValidationError('ports', 'must allocate exactly the names of the session port template');
    }
    const seen = new Set<number>();
    for (const [name, port] of Object.entries(ports)) {
      if (port < worker.portRange.start || port > worker.portRange.end) {
        throw new ValidationError(`ports.${name}`, `port ${port} is outside the worker range`);
      }
      if (seen.has(port)) throw new ValidationError(`ports.${name}`, `port ${port} allocated twice`);
      seen.add(port);
    }
  }

  private async getItem(key: Record<string, string>): Promise<Item | undefined> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: key, ConsistentRead: true }),
    );
    return out.Item as Item | undefined;
  }
}

/** The later of two ISO instants (by time, not by text: offsets may differ). */
function laterInstant(current: string | undefined, candidate: string): string {
  if (current === undefined) return candidate;
  const c = Date.parse(current);
  return Number.isNaN(c) || Date.parse(candidate) > c ? candidate : current;
}

/** Internal signal: the session's placement marker was already gone when we tried. */
class AlreadyReleased extends Error {}

function placementOf(item: Item): Placement | undefined {
  if (typeof item.GSI3PK !== 'string' || typeof item.workerId !== 'string') return undefined;
  return { workerId: item.workerId, ports: (item.allocatedPorts as PortAllocations | undefined) ?? {} };
}
