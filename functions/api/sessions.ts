import { type OperationRequest, operationsHandler } from '@lcm/shared/api';
import { apiSessionEngine, apiStores } from '@lcm/shared/app';
import { json } from '@lcm/shared/platform';
import {
  createSession,
  finishSession,
  getReservationSessions,
  getSessionHistory,
  getSessionView,
  listSessions,
  requestObservation,
  type SessionDeps,
  terminateSession,
} from '@lcm/shared/sessions';

/**
 * /v1/sessions and /v1/reservations/{reservationId}. Thin: the dispatcher routes, checks roles
 * and validates; each operation calls a command/query of packages/shared and shapes the reply.
 * The workflow engine is chosen by WORKFLOW_ENGINE (packages/shared/src/app/api-env.ts).
 */
const defaultDeps = (): SessionDeps => ({ ...apiStores(), engine: apiSessionEngine() });

const byOf = (req: Pick<OperationRequest<'terminateSession'>, 'caller'>): string => req.caller?.sub ?? 'api';
const sessionPath = (id: string): string => `/v1/sessions/${encodeURIComponent(id)}`;

export function sessionsHandler(deps: () => SessionDeps = defaultDeps) {
  return operationsHandler('sessions', {
    createSession: async ({ body }) => {
      const { session, created } = await createSession(deps(), body);
      // 201 for the new session; 200 when the reservation already had it (idempotent replay).
      return json(created ? 201 : 200, session, { location: sessionPath(session.id) });
    },
    listSessions: async ({ query }) => json(200, await listSessions(deps(), query)),
    getSession: async ({ params }) => json(200, await getSessionView(deps(), params.id)),
    getSessionHistory: async ({ params }) => json(200, await getSessionHistory(deps(), params.id)),
    getReservation: async ({ params }) =>
      json(200, await getReservationSessions(deps(), params.reservationId)),
    terminateSession: async (req) => {
      const { session, outcome } = await terminateSession(deps(), req.params.id, {
        by: byOf(req),
        reason: req.body.reason,
      });
      return json(202, { outcome, session }, { location: sessionPath(session.id) });
    },
    finishSession: async (req) => {
      const { session, outcome } = await finishSession(deps(), req.params.id, {
        by: byOf(req),
        reason: req.body.reason,
      });
      return json(202, { outcome, session }, { location: sessionPath(session.id) });
    },
    observeSession: async (req) =>
      json(202, await requestObservation(deps(), req.params.id, { by: byOf(req) }), {
        location: sessionPath(req.params.id),
      }),
  });
}

export const handler = sessionsHandler();
