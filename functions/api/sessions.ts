import {
  hasPermission,
  type OperationRequest,
  operationsHandler,
  seesCost,
  sessionActionReply,
  sessionDetailFor,
  sessionPage,
  sessionReply,
  sessionScopeOf,
} from '@lcm/shared/api';
import {
  apiBookingConfig,
  apiCapacityConfig,
  apiGradingClient,
  apiSessionEngine,
  apiStores,
} from '@lcm/shared/app';
import { type GradingApi, HttpError, json, runIdempotent } from '@lcm/shared/platform';
import {
  type BookingDeps,
  type CostDeps,
  createSession,
  extendSession,
  finishSession,
  forceReleaseSession,
  getAvailability,
  getReservationSessions,
  getSessionCost,
  getSessionHistory,
  getSessionView,
  listSessions,
  readPoolHolds,
  regradeSession,
  requestObservation,
  terminateSession,
} from '@lcm/shared/sessions';

/**
 * /v1/sessions and /v1/reservations/{reservationId}. Thin: the dispatcher routes, checks roles
 * and validates; each operation calls a command/query of packages/shared and shapes the reply.
 * The workflow engine is chosen by WORKFLOW_ENGINE (packages/shared/src/app/api-env.ts).
 * Tenancy and views: every use case gets the caller's scope (a portal: the sessions its client
 * booked; others are 404) and every reply goes through api/views.ts (no task tokens, login URLs
 * per role).
 */
const defaultDeps = (): BookingDeps & RecoveryDeps => ({
  ...apiStores(),
  engine: apiSessionEngine(),
  booking: apiBookingConfig(),
  capacity: apiCapacityConfig(),
  // The hot-start pools' depth counts in the capacity book (issue 15, item 3).
  poolHolds: (fromMs, toMs) => readPoolHolds(apiStores(), fromMs, toMs),
});
/** What a session's cost reads besides the session: its worker and the worker's template. */
type SessionCostDeps = Pick<CostDeps, 'workers' | 'templates' | 'clock'>;

/** What force-release and re-grade need beyond the session commands' dependencies. */
type RecoveryDeps = Pick<ReturnType<typeof apiStores>, 'placement' | 'workers' | 'leftoverLabs'> & {
  /** The Grading Engine client; apiGradingClient() (LCM_GRADING_*) when not given. */
  grading?: GradingApi;
};

const byOf = (req: Pick<OperationRequest<'terminateSession'>, 'caller'>): string => req.caller?.sub ?? 'api';
const sessionPath = (id: string): string => `/v1/sessions/${encodeURIComponent(id)}`;

const regradeDeps = (d: BookingDeps & RecoveryDeps) => ({ ...d, grading: d.grading ?? apiGradingClient() });

export function sessionsHandler(
  deps: () => BookingDeps & RecoveryDeps = defaultDeps,
  costDeps: () => SessionCostDeps = apiStores,
) {
  return operationsHandler(
    'sessions',
    {
      createSession: async ({ body, caller }) => {
        const { force, ...input } = body;
        // Forcing past a full capacity book is for operators and admins (sessions:overbook).
        if (force === true && !hasPermission(caller?.roles ?? [], 'sessions:overbook')) {
          throw new HttpError(
            403,
            'Only operators and admins may force a booking past a full capacity book.',
            {
              title: 'Forbidden',
              errors: [
                { path: 'force', message: 'needs sessions:overbook (lcm.operator or lcm.admin)', in: 'body' },
              ],
            },
          );
        }
        const { session, created } = await createSession(deps(), input, {
          bookedBy: caller?.tenant,
          scope: sessionScopeOf(caller),
          force: force === true ? { by: caller?.sub ?? 'api' } : undefined,
        });
        // 201 for the new session; 200 when the reservation already had it (idempotent replay).
        return json(created ? 201 : 200, sessionReply(session), { location: sessionPath(session.id) });
      },
      getAvailability: async ({ query }) => json(200, await getAvailability(deps(), query)),
      listSessions: async ({ query, caller }) =>
        json(200, sessionPage(await listSessions(deps(), query, sessionScopeOf(caller)))),
      getSession: async ({ params, caller }) => {
        const view = await getSessionView(deps(), params.id, sessionScopeOf(caller));
        // Only for those who may see it (never the portal, which polls this): two GetItems more.
        const cost = seesCost(caller) ? await getSessionCost(costDeps(), view, view.history) : undefined;
        return json(200, sessionDetailFor(caller, view, cost));
      },
      getSessionHistory: async ({ params, caller }) =>
        json(200, await getSessionHistory(deps(), params.id, sessionScopeOf(caller))),
      getReservation: async ({ params, caller }) => {
        const page = await getReservationSessions(deps(), params.reservationId, sessionScopeOf(caller));
        // As getSession shows each session to this caller (login URL per the role table), without cost.
        return json(200, { items: page.items.map((view) => sessionDetailFor(caller, view)) });
      },
      terminateSession: async (req) => {
        const result = await terminateSession(deps(), req.params.id, {
          by: byOf(req),
          reason: req.body.reason,
          scope: sessionScopeOf(req.caller),
        });
        return json(202, sessionActionReply(result), { location: sessionPath(result.session.id) });
      },
      finishSession: async (req) => {
        const result = await finishSession(deps(), req.params.id, {
          by: byOf(req),
          reason: req.body.reason,
          scope: sessionScopeOf(req.caller),
        });
        return json(202, sessionActionReply(result), { location: sessionPath(result.session.id) });
      },
      extendSession: async (req) => {
        const result = await extendSession(deps(), req.params.id, req.body, {
          by: byOf(req),
          scope: sessionScopeOf(req.caller),
        });
        return json(
          200,
          { ...result, session: sessionReply(result.session) },
          { location: sessionPath(result.session.id) },
        );
      },
      releaseSession: async (req) => {
        const result = await forceReleaseSession(deps(), req.params.id, {
          by: byOf(req),
          reason: req.body.reason,
        });
        return json(
          200,
          { ...result, session: sessionReply(result.session) },
          {
            location: sessionPath(result.session.id),
          },
        );
      },
      regradeSession: async (req) =>
        json(202, await regradeSession(regradeDeps(deps()), req.params.id, { by: byOf(req) }), {
          location: sessionPath(req.params.id),
        }),
      observeSession: async (req) =>
        json(202, await requestObservation(deps(), req.params.id, { by: byOf(req) }), {
          location: sessionPath(req.params.id),
        }),
    },
    { idempotency: runIdempotent },
  );
}

export const handler = sessionsHandler();
