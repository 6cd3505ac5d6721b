import { hasPermission, OPERATIONS, type OperationId, ROLE_PERMISSIONS, ROLES } from '@lcm/shared/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthTestStack, pathOf, startAuthTestStack, type TokenName } from './stack.ts';

/**
 * The authorization matrix: every route × every role (and no token), over HTTP through the real
 * local gateway with the tokens the stack wrote to local.json. The allowed set per operation is
 * written out below from the role descriptions, independently of the role table; a change in
 * either the table, the catalogue or the handlers that breaks the agreement fails here.
 *
 *   admin     everything
 *   operator  fleet operations (templates, workers, fleet) and session operations, read all
 *   portal    create, read, terminate and finish sessions; reservation look-up; read definitions
 *   viewer    read only
 *
 * Public operations are reached by every caller, and the token makes no difference: all five
 * callers get the same status (the gateway's 401 never; the handler may refuse on its own terms,
 * e.g. POST /v1/events without a valid partner signature).
 */

type Caller = TokenName | 'none';
const CALLERS: readonly Caller[] = ['admin', 'operator', 'portal', 'viewer', 'none'];

const PUBLIC = 'public' as const;
const A = 'admin' as const;
const O = 'operator' as const;
const P = 'portal' as const;
const V = 'viewer' as const;

/** Who may call each operation. */
const EXPECTED: Record<OperationId, typeof PUBLIC | readonly TokenName[]> = {
  getHealth: PUBLIC,
  getOpenApi: PUBLIC,
  // worker templates: fleet configuration
  listWorkerTemplates: [A, O, V],
  getWorkerTemplate: [A, O, V],
  createWorkerTemplate: [A, O],
  updateWorkerTemplate: [A, O],
  disableWorkerTemplate: [A, O],
  deleteWorkerTemplate: [A, O],
  // workers: fleet operations
  listWorkers: [A, O, V],
  getWorker: [A, O, V],
  listWorkerSessions: [A, O, V],
  getWorkerCapacity: [A, O, V],
  listWorkerPorts: [A, O, V],
  createWorker: [A, O],
  startWorker: [A, O],
  stopWorker: [A, O],
  drainWorker: [A, O],
  terminateWorker: [A, O],
  // definitions: everyone reads (the portal shows the catalogue), only admins author
  listDefinitions: [A, O, P, V],
  getDefinition: [A, O, P, V],
  listDefinitionVersions: [A, O, P, V],
  getDefinitionVersion: [A, O, P, V],
  getDefinitionObservations: [A, O, P, V],
  createDefinition: [A],
  updateDefinition: [A],
  deprecateDefinition: [A],
  archiveDefinition: [A],
  applyObservedToDefinition: [A],
  syncDefinitionContent: [A],
  // sessions: the portal's business, and operations'
  createSession: [A, O, P],
  listSessions: [A, O, P, V],
  getSession: [A, O, P, V],
  getSessionHistory: [A, O, P, V],
  terminateSession: [A, O, P],
  finishSession: [A, O, P],
  observeSession: [A, O], // runtime observations: an operation, not the portal's
  getReservation: [A, O, P, V],
  // fleet
  getFleetCapacity: [A, O, V],
  getFleetScaling: [A, O, V],
  // partner CloudEvents: no JWT (the handler checks an HMAC signature of the body instead)
  ingestEvents: PUBLIC,
};

const allowedCallers = (operationId: OperationId): readonly Caller[] => {
  const expected = EXPECTED[operationId];
  return expected === PUBLIC ? CALLERS : expected;
};

/** Path parameters that name nothing: an allowed caller gets a 404 (or 400), never a change. */
const PARAMS = {
  id: 'matrix-missing',
  name: 'matrix-missing',
  version: '1',
  reservationId: 'matrix-missing',
};

let env: AuthTestStack;
/** `<operationId> <caller>` → HTTP status. */
const statuses = new Map<string, number>();
beforeAll(async () => {
  env = await startAuthTestStack('auth-matrix');
}, 120_000);
afterAll(async () => {
  await env?.stop();
}, 60_000);

describe('the expectation table', () => {
  it('covers exactly the operations of the catalogue', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(OPERATIONS.map((o) => o.operationId).sort());
  });

  it('agrees with the role table (ROLE_PERMISSIONS)', () => {
    const disagreements: string[] = [];
    for (const o of OPERATIONS) {
      const fromTable =
        o.permission === null
          ? 'public'
          : ROLES.filter((r) => hasPermission([r], o.permission!))
              .map((r) => r.replace('lcm.', ''))
              .join(',');
      const expected = EXPECTED[o.operationId];
      const written = expected === PUBLIC ? 'public' : [...expected].join(',');
      if (fromTable !== written)
        disagreements.push(`${o.operationId}: table ${fromTable}, expected ${written}`);
    }
    expect(disagreements).toEqual([]);
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...ROLES].sort());
  });
});

describe('every route × every role over HTTP', () => {
  const cases = OPERATIONS.flatMap((o) => CALLERS.map((caller) => ({ o, caller })));

  it.each(cases.map(({ o, caller }) => [`${o.operationId} as ${caller}`, o, caller] as const))(
    '%s',
    async (_name, o, caller) => {
      if (env.missingGroups.has(o.group)) return; // answers 501 until its module exists
      const hasBody = 'body' in o;
      const res = await fetch(`${env.apiUrl}${pathOf(o.path, PARAMS)}`, {
        method: o.method,
        headers: {
          ...(caller === 'none' ? {} : { authorization: `Bearer ${env.tokens[caller]}` }),
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        ...(hasBody ? { body: '{}' } : {}),
      });
      const text = await res.text();
      const what = `${o.method} ${o.path} as ${caller}: ${res.status} ${text.slice(0, 300)}`;
      statuses.set(`${o.operationId} ${caller}`, res.status);
      const allowed = allowedCallers(o.operationId).includes(caller);
      if (o.permission === null) {
        expect(text, what).not.toBe('{"message":"Unauthorized"}');
        expect(res.status < 500, what).toBe(true);
      } else if (allowed) {
        expect([401, 403], what).not.toContain(res.status);
        expect(res.status < 500 || res.status === 501, what).toBe(true);
      } else if (caller === 'none') {
        // The gateway's JWT authorizer refuses before any handler runs.
        expect(res.status, what).toBe(401);
        expect(JSON.parse(text), what).toEqual({ message: 'Unauthorized' });
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      } else {
        // The handler's RBAC: a valid token without the role.
        expect(res.status, what).toBe(403);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(JSON.parse(text), what).toMatchObject({
          status: 403,
          title: 'Forbidden',
          detail: `This operation needs the permission ${o.permission}.`,
        });
      }
    },
  );

  it('public operations answer every caller alike', () => {
    for (const o of OPERATIONS.filter((op) => op.permission === null)) {
      if (env.missingGroups.has(o.group)) continue;
      const seen = CALLERS.map((c) => statuses.get(`${o.operationId} ${c}`));
      expect(new Set(seen).size, `${o.operationId}: ${seen.join(' ')}`).toBe(1);
    }
  });

  it('every group had its handler module (none skipped)', () => {
    expect([...env.missingGroups]).toEqual([]);
  });
});
