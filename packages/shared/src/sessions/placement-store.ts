import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type LabletSession,
  LabletSessionSchema,
  NotFoundError,
  type PortAllocations,
  PortAllocationsSchema,
  sessionTransition,
  ValidationError,
  VersionConflictError,
  type Worker,
  WorkerSchema,
} from '../kernel/index.ts';
import {
  ENTITY,
  Expr,
  type Item,
  keys,
  MAX_TRANSACTION_ITEMS,
  nowIso,
  parseItem,
  type StoreConfig,
  type TxOp,
  transactWrite,
  utcKey,
  validateInput,
} from '../platform/index.ts';
import {
  allocateOnWorkerOp,
  leaseDeleteOps,
  leasePutOps,
  releaseOnWorkerOp,
  scheduleSessionOp,
} from './allocation-ops.ts';
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

    // Conditions cannot do arithmetic: the new totals are computed and checked here (by the
    // shared worker operation), and the version condition guarantees they were computed from what
    // is stored; latestSessionEnd becomes max(current, this session's end) the same way.
    const t = this.cfg.tableName;
    const workerOp = allocateOnWorkerOp(
      t,
      worker,
      session,
      Object.keys(allocation).length,
      at,
      utcKey(session.timeslot.end, 'timeslot.end'),
    );
    const leaseOps = leasePutOps(t, worker.id, session.id, allocation, at);

    const sessionOp = scheduleSessionOp(t, session, { workerId: worker.id, allocatedPorts: allocation }, at);

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
      ops.push(releaseOnWorkerOp(t, worker, session, Object.keys(ports).length, at));
    }
    ops.push(...leaseDeleteOps(t, workerId, sessionId, Object.values(ports)));

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

/** Internal signal: the session's placement marker was already gone when we tried. */
class AlreadyReleased extends Error {}

function placementOf(item: Item): Placement | undefined {
  if (typeof item.GSI3PK !== 'string' || typeof item.workerId !== 'string') return undefined;
  return { workerId: item.workerId, ports: (item.allocatedPorts as PortAllocations | undefined) ?? {} };
}
