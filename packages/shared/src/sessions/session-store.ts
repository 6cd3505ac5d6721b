import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import type { SessionStatus } from '../kernel/index.ts';
import {
  DuplicateError,
  type GradingSession,
  GradingSessionSchema,
  gradingWritableFrom,
  InvalidTransitionError,
  type LabletSession,
  type LabletSessionAggregate,
  LabletSessionSchema,
  NotFoundError,
  type ResourceObservation,
  ResourceObservationSchema,
  type ScoreReport,
  ScoreReportSchema,
  SessionStatusSchema,
  StateTransitionSchema,
  sessionTransition,
  type Timeslot,
  TimeslotSchema,
  type UserSession,
  UserSessionSchema,
  ValidationError,
  VersionConflictError,
} from '../kernel/index.ts';
import {
  checkLimit,
  conditionError,
  ENTITY,
  Expr,
  type Item,
  keys,
  type NewEntity,
  nowIso,
  type Page,
  type PageRequest,
  parseItem,
  patchVersioned,
  queryAll,
  queryPage,
  type SortKeyCondition,
  type StoreConfig,
  TABLE,
  type TxOp,
  transactWrite,
  utcKey,
  validateInput,
  validatePatch,
} from '../platform/index.ts';

/** A new session: it always starts PENDING; timestamps and version are stamped when absent. */
export type NewSession = NewEntity<
  typeof LabletSessionSchema,
  'createdAt' | 'updatedAt' | 'version',
  'status' | 'workerId' | 'allocatedPorts'
> & { status?: 'PENDING' };

/**
 * Fields update()/transition() may change. status moves only through transition(); workerId
 * and allocatedPorts only through the placement transactions (placement-store.ts).
 */
const EDITABLE = LabletSessionSchema.pick({
  owner: true,
  cmlLabId: true,
  executionArn: true,
  pendingWait: true,
  placementRejections: true,
  failureReason: true,
  terminationRequestedAt: true,
  terminationReason: true,
  finishRequestedAt: true,
  loginObservedAt: true,
  endObservedAt: true,
  pausedAt: true,
  idleWarnedAt: true,
  observationRequest: true,
  portConflicts: true,
  teardownStartedAt: true,
  teardownFailure: true,
});

/** What update() patches (platform patchVersioned). */
const PATCHABLE = {
  entity: ENTITY.session,
  key: keys.session,
  editable: EDITABLE,
  schema: LabletSessionSchema,
};

export type SessionPatch = { [K in keyof z.input<typeof EDITABLE>]?: z.input<typeof EDITABLE>[K] | null };

export interface SessionTimeRange extends PageRequest {
  /** Timeslot start >= startFrom (ISO). */
  startFrom?: string | undefined;
  /** Timeslot start < startTo (ISO). */
  startTo?: string | undefined;
}

const HistoryEntrySchema = StateTransitionSchema(SessionStatusSchema);

/**
 * `note`: a history entry written with the session, in the same transaction, that stays in
 * PENDING (from = to) and says why (a booking forced past a full capacity book).
 */
export interface CreateSessionOptions {
  note?: { by: string; reason: string } | undefined;
}

/** Access patterns 4–8 for sessions and their child records. */
export interface SessionStore {
  /**
   * Session plus its reservation guard in one transaction. A reservation that already has a
   * session → DuplicateError(entity Reservation, details.sessionId = the existing session).
   */
  create(session: NewSession, opts?: CreateSessionOptions): Promise<LabletSession>;
  /** The session with its child records and history, from one query on its partition. */
  get(id: string): Promise<LabletSessionAggregate>;
  /** The session item only (one consistent GetItem). */
  getSession(id: string): Promise<LabletSession>;
  /** The session's history only, oldest first (Query `PK=SESSION#<id>`, `begins_with(SK, 'HIST#')`). */
  listHistory(id: string): Promise<LabletSessionAggregate['history']>;
  getByReservation(reservationId: string): Promise<LabletSession>;
  /** Sessions in a status ordered by timeslot start (GSI1), optionally within [startFrom, startTo). */
  listByStatus(status: SessionStatus, opts?: SessionTimeRange): Promise<Page<LabletSession>>;
  /** Sessions of any status whose timeslot starts within [from, to) (GSI2; scaler look-ahead). */
  listStartingBetween(from: string, to: string, page?: PageRequest): Promise<Page<LabletSession>>;
  /** Sessions holding a placement on the worker (GSI3, sparse), ordered by timeslot start. */
  listActiveOnWorker(workerId: string, page?: PageRequest): Promise<Page<LabletSession>>;
  update(id: string, patch: SessionPatch, expectedVersion: number): Promise<LabletSession>;
  /**
   * Validated status change and its HIST item in one transaction, conditioned on the current
   * status `from` and on the version (expectedVersion, or the one read just before).
   */
  transition(
    id: string,
    from: SessionStatus,
    to: SessionStatus,
    by: string,
    reason?: string,
    patch?: SessionPatch,
    opts?: { expectedVersion?: number },
  ): Promise<LabletSession>;
  /**
   * A recovery (sessions/recovery.ts): the session's `executionArn` replaced by the recovery
   * execution's and a history entry that stays in `status` (from = to) saying why, in one
   * transaction conditioned on the session still naming `previousExecutionArn` (the version is
   * bumped, not compared: the recovery execution may already have written). Another ARN by then →
   * VersionConflictError.
   */
  recordRecovery(
    id: string,
    recovery: {
      status: SessionStatus;
      previousExecutionArn: string;
      executionArn: string;
      by: string;
      reason: string;
      /** The version read when deciding (only numbers the history entry). */
      seenVersion: number;
    },
  ): Promise<LabletSession>;
  /**
   * An extension (sessions/extend.ts, issue 15, item 1): the new timeslot (its end moved) and extendedMinutes
   * written with a history entry that stays in `status` (from = to) naming who asked and why, in
   * one transaction conditioned on the status and on `expectedVersion` (a lost race →
   * VersionConflictError).
   */
  recordExtension(
    id: string,
    extension: {
      status: SessionStatus;
      timeslot: Timeslot;
      extendedMinutes: number;
      by: string;
      reason: string;
      expectedVersion: number;
    },
  ): Promise<LabletSession>;
  putUserSession(id: string, userSession: UserSession): Promise<UserSession>;
  /**
   * Writes the GradingSession only over a record from which its status may be reached
   * (kernel GRADING_TRANSITIONS; none yet is fine): a late or duplicate write never replaces a
   * newer or final grading, it fails with InvalidTransitionError (from = the stored status).
   * `score` (with a COMPLETED grading) is written in the same transaction, under that condition.
   * `overFaultedAttempt` (an operator's re-grade): the write starts a new attempt and is made only
   * over the FAULTED record of that attempt, so two re-grades racing write one.
   */
  putGrading(
    id: string,
    grading: GradingSession,
    opts?: { score?: ScoreReport; overFaultedAttempt?: number },
  ): Promise<GradingSession>;
  /** The ScoreReport, once: a second one is a DuplicateError (results go through putGrading). */
  putScore(id: string, score: ScoreReport): Promise<ScoreReport>;
  /** Stores an observation under its session, indexed for its definition (access pattern 8). */
  addObservation(observation: z.input<typeof ResourceObservationSchema>): Promise<ResourceObservation>;
  /** Observations of a definition's sessions, newest first. */
  listObservationsOfDefinition(
    definitionId: string,
    limit?: number,
    cursor?: string,
  ): Promise<Page<ResourceObservation>>;
}

/** Sort-key range for "start in [from, to)" on keys of the form `<start>#<id>`. */
export function startRange(from: string | undefined, to: string | undefined): SortKeyCondition | undefined {
  // `<to>#<id>` sorts after `<to>`, so an inclusive bound of `<to>` excludes sessions starting at `to`.
  const lo = from === undefined ? undefined : utcKey(from, 'startFrom');
  const hi = to === undefined ? undefined : utcKey(to, 'startTo');
  if (lo !== undefined && hi !== undefined) {
    if (hi < lo) throw new ValidationError('startTo', 'must not be before startFrom');
    return { between: [lo, hi] };
  }
  if (lo !== undefined) return { gte: lo };
  if (hi !== undefined) return { lte: hi };
  return undefined;
}

export class DynamoSessionStore implements SessionStore {
  constructor(private readonly cfg: StoreConfig) {}

  async create(input: NewSession, opts: CreateSessionOptions = {}): Promise<LabletSession> {
    const now = nowIso(this.cfg.clock);
    const session = validateInput(LabletSessionSchema, {
      createdAt: now,
      updatedAt: now,
      version: 1,
      ...input,
      status: 'PENDING',
    });
    if (input.status !== undefined && input.status !== 'PENDING') {
      throw new ValidationError('status', 'a new session is PENDING');
    }
    const start = utcKey(session.timeslot.start, 'timeslot.start');
    const reservationKey = keys.reservation(session.reservationId);
    const ops: TxOp[] = [
      {
        item: {
          Put: {
            TableName: this.cfg.tableName,
            Item: {
              ...keys.session(session.id),
              ...keys.sessionByStatus(session.status, start, session.id),
              ...keys.sessionListing(start, session.id),
              [TABLE.entityAttribute]: ENTITY.session,
              ...session,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: () => new DuplicateError(ENTITY.session, session.id),
        entity: ENTITY.session,
        id: session.id,
      },
      {
        item: {
          Put: {
            TableName: this.cfg.tableName,
            Item: {
              ...reservationKey,
              [TABLE.entityAttribute]: ENTITY.reservation,
              reservationId: session.reservationId,
              sessionId: session.id,
              createdAt: now,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: (old) =>
          new DuplicateError(ENTITY.reservation, session.reservationId, { sessionId: old?.sessionId }),
        entity: ENTITY.reservation,
        id: session.reservationId,
      },
    ];
    if (opts.note !== undefined) {
      const entry = validateInput(HistoryEntrySchema, {
        from: 'PENDING',
        to: 'PENDING',
        at: session.createdAt,
        by: opts.note.by,
        reason: opts.note.reason,
      });
      ops.push(historyPut(this.cfg.tableName, session.id, entry, session.version));
    }
    try {
      await transactWrite(this.cfg.client, ops);
    } catch (e) {
      // Without the old image (not returned on every path), read the guard back for the id.
      if (e instanceof DuplicateError && e.details.entity === ENTITY.reservation && !e.details.sessionId) {
        const guard = await this.getItem(reservationKey);
        throw new DuplicateError(ENTITY.reservation, session.reservationId, { sessionId: guard?.sessionId });
      }
      throw e;
    }
    return session;
  }

  async get(id: string): Promise<LabletSessionAggregate> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      pk: keys.sessionPartition(id),
      consistent: true,
    });
    let session: LabletSession | undefined;
    const aggregate: Omit<LabletSessionAggregate, 'session'> = { observations: [], history: [] };
    for (const item of items) {
      const sk = String(item[TABLE.sortKey]);
      if (sk === keys.session(id).SK) session = parseItem(LabletSessionSchema, item);
      else if (sk === keys.userSession(id).SK) aggregate.userSession = parseItem(UserSessionSchema, item);
      else if (sk === keys.grading(id).SK) aggregate.grading = parseItem(GradingSessionSchema, item);
      else if (sk === keys.score(id).SK) aggregate.score = parseItem(ScoreReportSchema, item);
      else if (sk.startsWith(keys.observationPrefix))
        aggregate.observations.push(parseItem(ResourceObservationSchema, item));
      else if (sk.startsWith(keys.historyPrefix)) aggregate.history.push(parseItem(HistoryEntrySchema, item));
    }
    if (!session) throw new NotFoundError(ENTITY.session, id);
    return { session, ...aggregate };
  }

  async getSession(id: string): Promise<LabletSession> {
    const item = await this.getItem(keys.session(id));
    if (!item) throw new NotFoundError(ENTITY.session, id);
    return parseItem(LabletSessionSchema, item);
  }

  async listHistory(id: string): Promise<LabletSessionAggregate['history']> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      pk: keys.sessionPartition(id),
      sk: { beginsWith: keys.historyPrefix },
    });
    return items.map((i) => parseItem(HistoryEntrySchema, i));
  }

  async getByReservation(reservationId: string): Promise<LabletSession> {
    const guard = await this.getItem(keys.reservation(reservationId));
    if (!guard) throw new NotFoundError(ENTITY.reservation, reservationId);
    return this.getSession(String(guard.sessionId));
  }

  async listByStatus(status: SessionStatus, opts: SessionTimeRange = {}): Promise<Page<LabletSession>> {
    validateInput(SessionStatusSchema, status, 'status');
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI1',
      pk: keys.sessionStatusPartition(status),
      sk: startRange(opts.startFrom, opts.startTo),
      limit: checkLimit(opts.limit, 100),
      cursor: opts.cursor,
    });
    return this.sessions(out);
  }

  async listStartingBetween(from: string, to: string, page: PageRequest = {}): Promise<Page<LabletSession>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: keys.sessionListingPartition,
      sk: startRange(from, to),
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return this.sessions(out);
  }

  async listActiveOnWorker(workerId: string, page: PageRequest = {}): Promise<Page<LabletSession>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI3',
      pk: keys.sessionsOnWorkerPartition(workerId),
      limit: checkLimit(page.limit, 100),
      cursor: page.cursor,
    });
    return this.sessions(out);
  }

  update(id: string, patch: SessionPatch, expectedVersion: number): Promise<LabletSession> {
    return patchVersioned(this.cfg, PATCHABLE, id, patch, expectedVersion);
  }

  async transition(
    id: string,
    from: SessionStatus,
    to: SessionStatus,
    by: string,
    reason?: string,
    patch: SessionPatch = {},
    opts: { expectedVersion?: number } = {},
  ): Promise<LabletSession> {
    const at = nowIso(this.cfg.clock);
    // Throws InvalidTransitionError before anything is read or written.
    const entry = sessionTransition(from, to, by, at, reason);
    const { sets, removes } = validatePatch(EDITABLE, patch, 'patch');

    let expectedVersion = opts.expectedVersion;
    if (expectedVersion === undefined) {
      const current = await this.getSession(id);
      if (current.status !== from) {
        throw new VersionConflictError(ENTITY.session, id, `status is ${current.status}, expected ${from}`);
      }
      expectedVersion = current.version;
    }
    const nextVersion = expectedVersion + 1;

    const e = new Expr();
    const update = e.update(
      e.assignments({
        ...sets,
        status: to,
        GSI1PK: keys.sessionStatusPartition(to),
        updatedAt: at,
        version: nextVersion,
      }),
      removes,
    );
    return this.updateWithHistory(id, { e, update, status: from, expectedVersion, entry });
  }

  /**
   * The session update `update` (built with `e`), conditional on its status and version, written in
   * one transaction with its history entry at the next version; the session as written.
   */
  private async updateWithHistory(
    id: string,
    w: {
      e: Expr;
      update: string;
      status: SessionStatus;
      expectedVersion: number;
      entry: Parameters<typeof historyPut>[2];
    },
  ): Promise<LabletSession> {
    const { e, status, expectedVersion } = w;
    const condition = [
      `attribute_exists(${e.name('PK')})`,
      `${e.name('status')} = ${e.value(status)}`,
      `${e.name('version')} = ${e.value(expectedVersion)}`,
    ].join(' AND ');
    await transactWrite(this.cfg.client, [
      {
        item: {
          Update: {
            TableName: this.cfg.tableName,
            Key: keys.session(id),
            UpdateExpression: w.update,
            ConditionExpression: condition,
            ...e.attributes(),
          },
        },
        onConditionFailed: (old) => conditionError(ENTITY.session, id, old, expectedVersion, status),
        entity: ENTITY.session,
        id,
      },
      historyPut(this.cfg.tableName, id, w.entry, expectedVersion + 1),
    ]);
    return this.getSession(id);
  }

  async recordRecovery(
    id: string,
    recovery: {
      status: SessionStatus;
      previousExecutionArn: string;
      executionArn: string;
      by: string;
      reason: string;
      seenVersion: number;
    },
  ): Promise<LabletSession> {
    const at = nowIso(this.cfg.clock);
    const { status, previousExecutionArn, executionArn, by, reason, seenVersion } = recovery;
    // Not a transition (the status stays): the history entry says from = to = status.
    const entry = validateInput(HistoryEntrySchema, { from: status, to: status, at, by, reason });
    validatePatch(EDITABLE, { executionArn }, 'recovery');
    const e = new Expr();
    const update = `${e.update(e.assignments({ executionArn, updatedAt: at }))} ADD ${e.name('version')} ${e.value(1)}`;
    const condition = `attribute_exists(${e.name('PK')}) AND ${e.name('executionArn')} = ${e.value(previousExecutionArn)}`;
    await transactWrite(this.cfg.client, [
      {
        item: {
          Update: {
            TableName: this.cfg.tableName,
            Key: keys.session(id),
            UpdateExpression: update,
            ConditionExpression: condition,
            ...e.attributes(),
          },
        },
        onConditionFailed: (old) =>
          old
            ? new VersionConflictError(
                ENTITY.session,
                id,
                `executionArn is ${String(old.executionArn)}, expected ${previousExecutionArn}`,
              )
            : new NotFoundError(ENTITY.session, id),
        entity: ENTITY.session,
        id,
      },
      historyPut(this.cfg.tableName, id, entry, seenVersion + 1),
    ]);
    return this.getSession(id);
  }

  async recordExtension(
    id: string,
    extension: {
      status: SessionStatus;
      timeslot: Timeslot;
      extendedMinutes: number;
      by: string;
      reason: string;
      expectedVersion: number;
    },
  ): Promise<LabletSession> {
    const at = nowIso(this.cfg.clock);
    const { status, extendedMinutes, by, reason, expectedVersion } = extension;
    // Not a transition (the status stays): the history entry says from = to = status.
    const entry = validateInput(HistoryEntrySchema, { from: status, to: status, at, by, reason });
    const timeslot = validateInput(TimeslotSchema, extension.timeslot, 'timeslot');
    const nextVersion = expectedVersion + 1;
    const e = new Expr();
    const update = e.update(
      e.assignments({ timeslot, extendedMinutes, updatedAt: at, version: nextVersion }),
    );
    return this.updateWithHistory(id, { e, update, status, expectedVersion, entry });
  }

  async putUserSession(id: string, userSession: UserSession): Promise<UserSession> {
    const value = validateInput(UserSessionSchema, userSession, 'userSession');
    await this.putChild(id, keys.userSession(id), ENTITY.userSession, value);
    return value;
  }

  async putGrading(
    id: string,
    grading: GradingSession,
    opts: { score?: ScoreReport; overFaultedAttempt?: number } = {},
  ): Promise<GradingSession> {
    const value = validateInput(GradingSessionSchema, grading, 'grading');
    const score = opts.score ? validateInput(ScoreReportSchema, opts.score, 'score') : undefined;
    const e = new Expr();
    const prior = opts.overFaultedAttempt;
    let condition: string;
    if (prior !== undefined) {
      const firstAttempt = prior === 1 ? ` OR attribute_not_exists(${e.name('attempt')})` : '';
      condition = `${e.name('status')} = ${e.value('FAULTED')} AND (${e.name('attempt')} = ${e.value(prior)}${firstAttempt})`;
    } else {
      const from = gradingWritableFrom(value.status).map((s) => e.value(s));
      condition =
        from.length > 0
          ? `attribute_not_exists(${e.name('PK')}) OR ${e.name('status')} IN (${from.join(', ')})`
          : `attribute_not_exists(${e.name('PK')})`;
    }
    await transactWrite(this.cfg.client, [
      sessionExists(this.cfg.tableName, id),
      {
        item: {
          Put: {
            TableName: this.cfg.tableName,
            Item: { ...keys.grading(id), [TABLE.entityAttribute]: ENTITY.grading, sessionId: id, ...value },
            ConditionExpression: condition,
            ...e.attributes(),
          },
        },
        onConditionFailed: (old) =>
          new InvalidTransitionError(ENTITY.grading, String(old?.status ?? 'none'), value.status),
        entity: ENTITY.grading,
        id,
      },
      ...(score ? [this.childPut(id, keys.score(id), ENTITY.score, score)] : []),
    ]);
    return value;
  }

  async putScore(id: string, score: ScoreReport): Promise<ScoreReport> {
    const value = validateInput(ScoreReportSchema, score, 'score');
    await transactWrite(this.cfg.client, [
      sessionExists(this.cfg.tableName, id),
      {
        item: {
          Put: {
            TableName: this.cfg.tableName,
            Item: { ...keys.score(id), [TABLE.entityAttribute]: ENTITY.score, sessionId: id, ...value },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: () => new DuplicateError(ENTITY.score, id),
        entity: ENTITY.score,
        id,
      },
    ]);
    return value;
  }

  async addObservation(input: z.input<typeof ResourceObservationSchema>): Promise<ResourceObservation> {
    const obs = validateInput(ResourceObservationSchema, input, 'observation');
    const observedAt = utcKey(obs.observedAt, 'observation.observedAt');
    await transactWrite(this.cfg.client, [
      sessionExists(this.cfg.tableName, obs.sessionId),
      {
        item: {
          Put: {
            TableName: this.cfg.tableName,
            Item: {
              ...keys.observation(obs.sessionId, observedAt),
              ...keys.observationOfDefinition(obs.definitionId, observedAt, obs.sessionId),
              [TABLE.entityAttribute]: ENTITY.observation,
              ...obs,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: () => new DuplicateError(ENTITY.observation, `${obs.sessionId}@${observedAt}`),
        entity: ENTITY.observation,
        id: obs.sessionId,
      },
    ]);
    return obs;
  }

  async listObservationsOfDefinition(
    definitionId: string,
    limit?: number,
    cursor?: string,
  ): Promise<Page<ResourceObservation>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      index: 'GSI3',
      pk: keys.observationsOfDefinitionPartition(definitionId),
      forward: false,
      limit: checkLimit(limit, 50),
      cursor,
    });
    return { items: out.items.map((i) => parseItem(ResourceObservationSchema, i)), cursor: out.cursor };
  }

  private sessions(out: { items: Item[]; cursor?: string | undefined }): Page<LabletSession> {
    return { items: out.items.map((i) => parseItem(LabletSessionSchema, i)), cursor: out.cursor };
  }

  private async getItem(key: Record<string, string>): Promise<Item | undefined> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: key, ConsistentRead: true }),
    );
    return out.Item as Item | undefined;
  }

  /** A child record, written only while its session exists (unknown session → NotFoundError). */
  private async putChild(
    id: string,
    key: Record<string, string>,
    entity: string,
    value: object,
  ): Promise<void> {
    await transactWrite(this.cfg.client, [
      sessionExists(this.cfg.tableName, id),
      this.childPut(id, key, entity, value),
    ]);
  }

  /** An unconditional put of a child record of the session. */
  private childPut(id: string, key: Record<string, string>, entity: string, value: object): TxOp {
    return {
      item: {
        Put: {
          TableName: this.cfg.tableName,
          Item: { ...key, [TABLE.entityAttribute]: entity, sessionId: id, ...value },
        },
      },
      onConditionFailed: () => new Error('unconditional put failed'),
      entity,
      id,
    };
  }
}

function sessionExists(tableName: string, id: string): TxOp {
  return {
    item: {
      ConditionCheck: {
        TableName: tableName,
        Key: keys.session(id),
        ConditionExpression: 'attribute_exists(PK)',
      },
    },
    onConditionFailed: () => new NotFoundError(ENTITY.session, id),
    entity: ENTITY.session,
    id,
  };
}

/** The HIST item of a transition; `seq` is the session version it produced, so keys never collide. */
export function historyPut(
  tableName: string,
  sessionId: string,
  entry: z.output<typeof HistoryEntrySchema>,
  seq: number,
): TxOp {
  return {
    item: {
      Put: {
        TableName: tableName,
        Item: {
          ...keys.history(sessionId, utcKey(entry.at, 'at'), seq),
          [TABLE.entityAttribute]: ENTITY.history,
          sessionId,
          ...entry,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    onConditionFailed: () =>
      new VersionConflictError(ENTITY.session, sessionId, 'history entry already written'),
    entity: ENTITY.history,
    id: sessionId,
  };
}
