import { ulid } from 'ulid';
import * as z from 'zod';
import type { DefinitionStore } from '../catalogue/index.ts';
import { filteredPage, type ListPage } from '../catalogue/index.ts';
import { type AdmissionDeps, admitBooking } from '../fleet/index.ts';
import type { LabletSession, SessionStatus, Timeslot } from '../kernel/index.ts';
import {
  ConflictError,
  DuplicateError,
  GradingSessionSchema,
  IsoDateTime,
  LabletSessionSchema,
  NotFoundError,
  newSession,
  ResourceObservationSchema,
  ScoreReportSchema,
  SessionStatusSchema,
  StateTransitionSchema,
  UserSessionSchema,
  ValidationError,
} from '../kernel/index.ts';
import type { WorkflowEngine } from '../platform/index.ts';
import { ENTITY, nowOf, retryOnConflict } from '../platform/index.ts';
import { type CapacityDeps, type CapacityOverride, checkBookingCapacity } from './capacity-book.ts';
import { RecoverySchema, repairUnlessDelivered } from './recovery.ts';
import { ACTION_OUTCOMES, finishDecision, terminateDecision } from './rules/actions.ts';
import { assertBookable } from './rules/bookable.ts';
import { ALL_SESSIONS, inScope, type SessionScope } from './rules/tenancy.ts';
import type { SessionStore } from './session-store.ts';
import { WORKFLOW_ERRORS } from './steps/errors.ts';

/**
 * Session commands and queries behind the API (DESIGN §4, §6, §8). A session is created PENDING
 * for one reservation (at most one session per reservation, enforced by the store's guard item),
 * pinned to a definition version, and handed to the session workflow through the workflow
 * engine; terminate and finish only record the request and resolve the workflow's pending task
 * token, so the workflow stays the one place that tears down.
 *
 * Tenancy: each query and action takes the caller's SessionScope (rules/tenancy.ts; default
 * every session). A session outside the scope answers exactly like a missing one, a
 * NotFoundError naming the id asked for.
 */

export interface SessionDeps {
  sessions: SessionStore;
  definitions: Pick<DefinitionStore, 'getLatest' | 'getVersion'>;
  engine: WorkflowEngine;
  clock?: () => Date;
  /** Session ids; ULIDs by default. */
  newId?: () => string;
}

/**
 * What a caller states to book a session: the session entity's own fields for the reservation,
 * the learner, the timeslot and the definition; the version is the latest unless given. The rest
 * (status, requirements copied from the definition, placement, workflow) is set here.
 */
export const NewSessionSchema = LabletSessionSchema.pick({
  definitionId: true,
  definitionVersion: true,
  reservationId: true,
  owner: true,
  timeslot: true,
}).partial({ definitionVersion: true });
export type CreateSessionInput = z.output<typeof NewSessionSchema>;

/** Filters of listSessions, each optional; the timeslot-start window is half-open [startFrom, startTo). */
export const SessionFilterSchema = z.object({
  status: LabletSessionSchema.shape.status.optional().describe('Only sessions in this status.'),
  reservationId: LabletSessionSchema.shape.reservationId
    .optional()
    .describe("Only the session of this reservation (the portal's id; at most one)."),
  workerId: LabletSessionSchema.shape.workerId
    .optional()
    .describe(
      'Only sessions placed on this worker. By default the sessions that hold a placement on it now ' +
        '(capacity and port leases: SCHEDULED to STOPPING, or ended but not yet released); with ' +
        '`includeEnded=true` also those that ran there and have been released (a slower listing of all ' +
        'sessions by start, filtered).',
    ),
  includeEnded: z
    .enum(['true', 'false'])
    .optional()
    .describe(
      'With `workerId`: `true` lists every session ever placed on the worker, ended ones included; ' +
        'default `false`: only those holding a placement on it.',
    ),
  definitionId: LabletSessionSchema.shape.definitionId
    .optional()
    .describe('Only sessions of this definition (any version).'),
  startFrom: IsoDateTime.optional().describe('Only sessions whose timeslot starts at or after this instant.'),
  startTo: IsoDateTime.optional().describe('Only sessions whose timeslot starts before this instant.'),
});
export type ListSessionsInput = z.output<typeof SessionFilterSchema> & {
  limit: number;
  cursor?: string | undefined;
};

/** What a booking (createSession) needs beyond the other session commands: admission and the horizon. */
export interface BookingDeps
  extends SessionDeps,
    AdmissionDeps,
    Pick<CapacityDeps, 'capacity' | 'poolHolds'> {
  booking?: BookingConfig | undefined;
}

export interface BookingConfig {
  /** How far ahead a timeslot may start, in days (default 180; LCM_BOOKING_HORIZON_DAYS). */
  horizonDays: number;
  /**
   * Refuse (422) a CML definition with no topology and one without formQualifiedName (the LDS
   * part), sure to fail at import or at LDS (LCM_BOOKING_REQUIRE_DELIVERABLE; `npm start` sets it).
   * A definition whose content sync has not produced a topology is refused either way.
   */
  requireDeliverable?: boolean | undefined;
}

export const DEFAULT_BOOKING_CONFIG: BookingConfig = { horizonDays: 180, requireDeliverable: false };

// ---------------------------------------------------------------------------------------------
// Timeslot rules

/** How far in the past a timeslot may start, so an on-demand session can start "now". */
export const START_GRACE_MINUTES = 5;

/**
 * A bookable timeslot: end after start, start no earlier than START_GRACE_MINUTES ago and no
 * later than the booking horizon ahead, end in the future, and no longer than the definition
 * allows. Each violation names its field.
 */
export function checkTimeslot(
  timeslot: Timeslot,
  maxDurationMinutes: number,
  now: Date,
  horizonDays = DEFAULT_BOOKING_CONFIG.horizonDays,
): void {
  const start = Date.parse(timeslot.start);
  const end = Date.parse(timeslot.end);
  if (Number.isNaN(start)) throw new ValidationError('timeslot.start', 'not an ISO date-time');
  if (Number.isNaN(end)) throw new ValidationError('timeslot.end', 'not an ISO date-time');
  if (end <= start) throw new ValidationError('timeslot.end', 'must be after timeslot.start');
  if (start < now.getTime() - START_GRACE_MINUTES * 60_000) {
    throw new ValidationError(
      'timeslot.start',
      `must not be more than ${START_GRACE_MINUTES} minutes in the past (now is ${now.toISOString()})`,
    );
  }
  if (end <= now.getTime()) {
    throw new ValidationError('timeslot.end', `must be in the future (now is ${now.toISOString()})`);
  }
  const horizon = now.getTime() + horizonDays * 86_400_000;
  if (start > horizon) {
    throw new ValidationError(
      'timeslot.start',
      `must be at most ${horizonDays} days ahead (the booking horizon ends ${new Date(horizon).toISOString()})`,
      { horizonDays },
    );
  }
  const minutes = (end - start) / 60_000;
  if (minutes > maxDurationMinutes) {
    throw new ValidationError(
      'timeslot.end',
      `the timeslot lasts ${Math.ceil(minutes)} minutes; the definition allows at most ${maxDurationMinutes}`,
      { maxDurationMinutes },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Create

/** Who books: the client recorded as the session's tenant, and the scope its replays are checked in. */
export interface BookingContext {
  bookedBy?: string | undefined;
  scope?: SessionScope | undefined;
  /** An operator's or admin's override of a full capacity book (the API checks the role). */
  force?: CapacityOverride | undefined;
}

export interface CreateSessionResult {
  session: LabletSession;
  /** false: the reservation already had this session (the reply is 200, not 201). */
  created: boolean;
}

/**
 * Creates the reservation's session, or returns the one it already has (idempotent per
 * reservationId; concurrent duplicates create exactly one, the store's guard item decides).
 * A repeat that names another definition, version, user or timeslot is a 409 naming the
 * fields that differ: a reservation has one session (book a new reservation for another slot). A new session needs an ACTIVE definition, a valid timeslot within the booking
 * horizon and requirements some enabled template can hold (else a 422 naming each failing
 * dimension), pins the requested (default: latest) version, and its workflow is started. The session records `ctx.bookedBy`
 * as its tenant; a repeat for a reservation another tenant booked (outside `ctx.scope`) is a
 * 409 that names nothing of the other session (reservation ids are one namespace).
 */
export async function createSession(
  deps: BookingDeps,
  input: CreateSessionInput,
  ctx: BookingContext = {},
): Promise<CreateSessionResult> {
  const scope = ctx.scope ?? ALL_SESSIONS;
  const existing = await findByReservation(deps.sessions, input.reservationId);
  if (existing) return replay(deps, existing, input, { scope });

  const latest = await deps.definitions.getLatest(input.definitionId);
  if (latest.status !== 'ACTIVE') {
    throw new ConflictError(
      `definition ${latest.id} is ${latest.status}; only an ACTIVE definition takes new sessions`,
      { definitionId: latest.id, status: latest.status },
    );
  }
  const pinned =
    input.definitionVersion === undefined || input.definitionVersion === latest.version
      ? latest
      : await deps.definitions.getVersion(input.definitionId, input.definitionVersion);

  const now = nowOf(deps);
  checkTimeslot(input.timeslot, pinned.maxDurationMinutes, now, deps.booking?.horizonDays);
  // A definition sure to fail at import or at LDS is refused now (422 naming the fields).
  assertBookable(pinned, { requireDeliverable: deps.booking?.requireDeliverable ?? false });
  const draft = newSession(
    pinned,
    {
      id: deps.newId?.() ?? ulid(),
      reservationId: input.reservationId,
      owner: input.owner,
      timeslot: input.timeslot,
      bookedBy: ctx.bookedBy,
    },
    now.toISOString(),
  );
  // A booking no enabled template could ever hold is refused now (422), not discovered at the slot.
  await admitBooking(deps, draft);
  // One that would overflow the capacity book is a 409 capacity-full, unless forced (issue 10, item 3).
  const capacity = await checkBookingCapacity(deps, draft, ctx.force);
  const {
    status: _status,
    version: _version,
    workerId: _workerId,
    allocatedPorts: _ports,
    ...fields
  } = draft;

  let created: LabletSession;
  try {
    created = await deps.sessions.create(
      { ...fields, status: 'PENDING' },
      capacity.forced ? { note: { by: ctx.force!.by, reason: capacity.note } } : {},
    );
  } catch (e) {
    const sessionId = e instanceof DuplicateError ? e.details.sessionId : undefined;
    if (typeof sessionId !== 'string') throw e;
    // Lost the race for this reservation: the winner's session is the answer, and the winner
    // (still in flight) starts its workflow.
    return replay(deps, await deps.sessions.getSession(sessionId), input, { heal: false, scope });
  }
  return { session: await ensureWorkflowStarted(deps, created), created: true };
}

async function findByReservation(
  sessions: Pick<SessionStore, 'getByReservation'>,
  reservationId: string,
): Promise<LabletSession | undefined> {
  try {
    return await sessions.getByReservation(reservationId);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/**
 * The answer to a create for a reservation that has a session. `heal` (default): a session
 * whose workflow never started (its create crashed between the write and the start) is
 * started now.
 */
const sameInstant = (a: string, b: string): boolean => a === b || Date.parse(a) === Date.parse(b);

async function replay(
  deps: SessionDeps,
  existing: LabletSession,
  input: CreateSessionInput,
  opts: { heal?: boolean; scope: SessionScope },
): Promise<CreateSessionResult> {
  if (!inScope(opts.scope, existing)) {
    throw new ConflictError(
      `reservation ${input.reservationId} is already booked by another client; a reservation has one session`,
      { reservationId: input.reservationId },
    );
  }
  const mismatch = [
    existing.definitionId !== input.definitionId ? 'definitionId' : undefined,
    input.definitionVersion !== undefined && existing.definitionVersion !== input.definitionVersion
      ? 'definitionVersion'
      : undefined,
    existing.owner.userId !== input.owner.userId ? 'owner.userId' : undefined,
    // The same instant written another way (offset, precision) is the same slot.
    !sameInstant(existing.timeslot.start, input.timeslot.start) ? 'timeslot.start' : undefined,
    !sameInstant(existing.timeslot.end, input.timeslot.end) ? 'timeslot.end' : undefined,
  ].filter((f) => f !== undefined);
  if (mismatch.length > 0) {
    throw new ConflictError(
      `reservation ${existing.reservationId} already has session ${existing.id} ` +
        `(definition ${existing.definitionId} v${existing.definitionVersion}, user ${existing.owner.userId}, ` +
        `timeslot ${existing.timeslot.start} – ${existing.timeslot.end}); ` +
        `this request differs in ${mismatch.join(', ')}`,
      { reservationId: existing.reservationId, sessionId: existing.id, fields: mismatch },
    );
  }
  const session = opts.heal === false ? existing : await ensureWorkflowStarted(deps, existing);
  return { session, created: false };
}

/**
 * Starts the session's workflow unless it has one, and records its ARN. Safe to repeat and to
 * run concurrently (a replayed create after a crash between the write and the start heals the
 * session): the engine's start is idempotent per session.
 */
export async function ensureWorkflowStarted(
  deps: SessionDeps,
  session: LabletSession,
): Promise<LabletSession> {
  if (session.executionArn || session.status !== 'PENDING' || session.terminationRequestedAt) return session;
  const { executionArn } = await deps.engine.startSession(session);
  let current = session;
  const { value } = await retryOnConflict(
    async (attempt) => {
      if (attempt > 1) current = await deps.sessions.getSession(session.id);
      if (current.executionArn) return current;
      const updated = await deps.sessions.update(session.id, { executionArn }, current.version);
      if (updated.status === 'TERMINATED') {
        // Terminated between the write and the start: nothing to run.
        await deps.engine.stopExecution(executionArn, 'session terminated before its workflow started');
      }
      return updated;
    },
    { maxAttempts: 10 },
  );
  return value;
}

// ---------------------------------------------------------------------------------------------
// Queries

/** A session with its child records, as GET /v1/sessions/{id} returns it. */
export const SessionViewSchema = LabletSessionSchema.extend({
  userSession: UserSessionSchema.nullable().describe("The learner's LDS session (null until provisioned)."),
  grading: GradingSessionSchema.nullable().describe('The grading (null until submitted).'),
  score: ScoreReportSchema.nullable().describe('The score (null until graded).'),
  observations: z.array(ResourceObservationSchema).describe("Observations of the session's running lab."),
  history: z.array(StateTransitionSchema(SessionStatusSchema)).describe('Status changes, oldest first.'),
});
export type SessionView = z.output<typeof SessionViewSchema>;

export async function getSessionView(
  deps: Pick<SessionDeps, 'sessions'>,
  id: string,
  scope: SessionScope = ALL_SESSIONS,
): Promise<SessionView> {
  const a = await deps.sessions.get(id);
  visibleOrNotFound(scope, a.session, id);
  return {
    ...a.session,
    userSession: a.userSession ?? null,
    grading: a.grading ?? null,
    score: a.score ?? null,
    observations: a.observations,
    history: a.history,
  };
}

export async function getSessionHistory(
  deps: Pick<SessionDeps, 'sessions'>,
  id: string,
  scope: SessionScope = ALL_SESSIONS,
) {
  const a = await deps.sessions.get(id);
  visibleOrNotFound(scope, a.session, id);
  return { items: a.history };
}

/** The session(s) of a reservation; an unknown reservation (or another tenant's) is a 404. */
export async function getReservationSessions(
  deps: Pick<SessionDeps, 'sessions'>,
  reservationId: string,
  scope: SessionScope = ALL_SESSIONS,
): Promise<{ items: SessionView[] }> {
  const session = await deps.sessions.getByReservation(reservationId);
  if (!inScope(scope, session)) throw new NotFoundError(ENTITY.reservation, reservationId);
  // What GET /v1/sessions/{id} shows (user session and its login URL, grading, score): the portal
  // looks its reservation up without knowing the session id.
  return { items: [await getSessionView(deps, session.id, scope)] };
}

/** A session outside the caller's scope is reported as the store reports a missing one. */
function visibleOrNotFound(scope: SessionScope, session: LabletSession, id: string): void {
  if (!inScope(scope, session)) throw new NotFoundError(ENTITY.session, id);
}

/**
 * Sessions by any combination of filters. The most selective index answers — reservationId
 * (guard item), workerId (sessions holding a placement on the worker), status (ordered by
 * timeslot start, window in the key condition), else the listing of all sessions by start
 * (window in the key condition) — and the remaining filters are applied in code. Pages are
 * cursor-based; a cursor belongs to the filter combination that produced it. Only sessions in
 * `scope` are listed (a tenant's may make pages short; only a missing cursor means the end).
 */
export async function listSessions(
  deps: Pick<SessionDeps, 'sessions'>,
  q: ListSessionsInput,
  scope: SessionScope = ALL_SESSIONS,
): Promise<ListPage<LabletSession>> {
  const from = q.startFrom === undefined ? undefined : Date.parse(q.startFrom);
  const to = q.startTo === undefined ? undefined : Date.parse(q.startTo);
  if (from !== undefined && to !== undefined && to < from) {
    throw new ValidationError('startTo', 'must not be before startFrom');
  }
  const matches = (s: LabletSession, skip: { status?: boolean; window?: boolean } = {}): boolean => {
    if (!inScope(scope, s)) return false;
    if (!skip.status && q.status !== undefined && s.status !== q.status) return false;
    if (q.definitionId !== undefined && s.definitionId !== q.definitionId) return false;
    if (q.reservationId !== undefined && s.reservationId !== q.reservationId) return false;
    if (q.workerId !== undefined && s.workerId !== q.workerId) return false;
    if (!skip.window) {
      const start = Date.parse(s.timeslot.start);
      if (from !== undefined && start < from) return false;
      if (to !== undefined && start >= to) return false;
    }
    return true;
  };

  if (q.reservationId !== undefined) {
    const one = await findByReservation(deps.sessions, q.reservationId);
    return { items: one && matches(one) ? [one] : [] };
  }
  const window = { startFrom: q.startFrom, startTo: q.startTo };
  // Sessions holding a placement on the worker (its index); with includeEnded, the listings
  // below filtered by workerId (a released session keeps its workerId, not the index entry).
  if (q.workerId !== undefined && q.includeEnded !== 'true') {
    const workerId = q.workerId;
    return filteredPage((page) => deps.sessions.listActiveOnWorker(workerId, page), {
      limit: q.limit,
      cursor: q.cursor,
      keep: (s) => matches(s),
    });
  }
  if (q.status !== undefined) {
    const status: SessionStatus = q.status;
    return filteredPage((page) => deps.sessions.listByStatus(status, { ...page, ...window }), {
      limit: q.limit,
      cursor: q.cursor,
      keep: (s) => matches(s, { status: true, window: true }),
    });
  }
  return filteredPage(
    (page) =>
      deps.sessions.listStartingBetween(q.startFrom ?? EARLIEST, q.startTo ?? LATEST, {
        limit: page.limit,
        cursor: page.cursor,
      }),
    {
      limit: q.limit,
      cursor: q.cursor,
      keep: (s) => matches(s, { window: true }),
    },
  );
}

const EARLIEST = '1970-01-01T00:00:00.000Z';
const LATEST = '9999-12-31T23:59:59.999Z';

// ---------------------------------------------------------------------------------------------
// Terminate and finish

/** The reply of terminate and finish: the session after the request, and what the request did. */
export const ActionResultSchema = z.object({
  outcome: z.enum(ACTION_OUTCOMES),
  session: LabletSessionSchema,
  /**
   * Present when the session's workflow was found dead and re-driven so the request is applied
   * (recovery.ts): where it resumed and why.
   */
  recovery: RecoverySchema.optional(),
});
export type ActionResult = z.output<typeof ActionResultSchema>;

/** Who acts (recorded in the history), why, and the caller's scope (outside it: 404). */
export interface SessionActionContext {
  by: string;
  reason?: string | undefined;
  /** Where the action came from, in the history (`<source>:<by>`); default `api`. */
  source?: string | undefined;
  scope?: SessionScope | undefined;
}

/**
 * Reads the session and acts on it; a lost race (VersionConflictError) reads and acts again.
 * A session outside `scope` is not found.
 */
export async function actOnSession<R>(
  deps: Pick<SessionDeps, 'sessions'>,
  id: string,
  scope: SessionScope,
  act: (session: LabletSession) => Promise<R>,
): Promise<R> {
  const { value } = await retryOnConflict(
    async () => {
      const session = await deps.sessions.getSession(id);
      visibleOrNotFound(scope, session, id);
      return act(session);
    },
    { maxAttempts: 10 },
  );
  return value;
}

/**
 * Terminate (safe to repeat): records terminationRequestedAt/reason (the first request's are
 * kept). A session that has not been placed goes straight to TERMINATED with a history entry
 * and its execution is stopped; one waiting on a task token gets that token failed with
 * `Terminated`, so the workflow's Catch runs the teardown; one in a working step is seen by
 * the workflow's next step. A TERMINATED session is left as it is.
 */
export async function terminateSession(
  deps: SessionDeps,
  id: string,
  ctx: SessionActionContext,
): Promise<ActionResult> {
  const at = nowOf(deps).toISOString();
  const value = await actOnSession(deps, id, ctx.scope ?? ALL_SESSIONS, async (s) => {
    const decision = terminateDecision(s);
    if (decision === 'noop') return { session: s, outcome: decision, previous: s };
    const mark = s.terminationRequestedAt
      ? {}
      : { terminationRequestedAt: at, ...(ctx.reason ? { terminationReason: ctx.reason } : {}) };
    if (decision === 'terminated') {
      const t = await deps.sessions.transition(
        id,
        'PENDING',
        'TERMINATED',
        ctx.by,
        ctx.reason ?? 'terminated before placement',
        mark,
        { expectedVersion: s.version },
      );
      return { session: t, outcome: decision, previous: s };
    }
    const session = Object.keys(mark).length > 0 ? await deps.sessions.update(id, mark, s.version) : s;
    return { session, outcome: decision, previous: s };
  });
  const cause = ctx.reason ?? value.session.terminationReason ?? `terminated by ${ctx.by}`;
  if (value.outcome === 'terminated' && value.previous.executionArn) {
    await deps.engine.stopExecution(value.previous.executionArn, cause);
  }
  if (value.outcome !== 'requested') return { session: value.session, outcome: value.outcome };
  const delivery = value.session.pendingWait
    ? await deps.engine.sendTaskFailure(
        value.session.pendingWait.taskToken,
        WORKFLOW_ERRORS.terminated,
        cause,
      )
    : undefined;
  return withRepair(deps, id, { session: value.session, outcome: value.outcome }, delivery, {
    by: ctx.by,
    why: 'terminate',
  });
}

/** The result, re-driving the session first when its workflow is dead (recovery.ts). */
async function withRepair(
  deps: SessionDeps,
  id: string,
  result: ActionResult,
  delivery: Awaited<ReturnType<SessionDeps['engine']['sendTaskSuccess']>> | undefined,
  trigger: { by: string; why: string },
): Promise<ActionResult> {
  const recovery = await repairUnlessDelivered(
    { sessions: deps.sessions, engine: deps.engine, ...(deps.clock ? { clock: deps.clock } : {}) },
    id,
    delivery,
    trigger,
  );
  if (!recovery) return result;
  return { ...result, session: await deps.sessions.getSession(id), recovery };
}

/**
 * The learner is done (safe to repeat): a READY/RUNNING session records finishRequestedAt and an
 * END wait is resolved with success; a session already past that point (or being terminated)
 * is left as it is; one not ready yet is a 409.
 */
export async function finishSession(
  deps: SessionDeps,
  id: string,
  ctx: SessionActionContext,
): Promise<ActionResult> {
  const at = nowOf(deps).toISOString();
  const value = await actOnSession(deps, id, ctx.scope ?? ALL_SESSIONS, async (s) => {
    const decision = finishDecision(s);
    if (decision === 'not-ready') {
      throw new ConflictError(
        `session ${id} is ${s.status}; the learner can finish it once it is READY or RUNNING`,
        { sessionId: id, status: s.status },
      );
    }
    if (decision === 'noop') return { session: s, outcome: decision };
    const session = s.finishRequestedAt
      ? s
      : await deps.sessions.update(id, { finishRequestedAt: at }, s.version);
    return { session, outcome: decision };
  });
  const wait = value.session.pendingWait;
  if (value.outcome !== 'requested') return value;
  const delivery =
    wait?.kind === 'END'
      ? await deps.engine.sendTaskSuccess(wait.taskToken, {
          ended: 'FINISHED',
          source: ctx.source ?? 'api',
          by: ctx.by,
          at: value.session.finishRequestedAt ?? at,
          ...(ctx.reason ? { reason: ctx.reason } : {}),
        })
      : undefined;
  return withRepair(deps, id, value, delivery, { by: ctx.by, why: 'finish' });
}
