import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { loadLocalIdentityProvider, SIGNING_KEY_FILE } from '@lcm/sandbox/local-auth';
import { hasPermission, OPERATIONS, type OperationId, ROLE_PERMISSIONS, ROLES } from '@lcm/shared/api';
import { createDocumentClient, keys } from '@lcm/shared/platform';
import { decodeJwt } from 'jose';
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
 *
 * Then fields × tenants: two portal clients (tokens of two `client_id`s) each book a session that
 * the real workflow brings to READY (a LOGIN task token on the table, a learner login URL), and an
 * admin writes a definition with device credentials. Every read route × every caller (both
 * portals) runs against those real ids, and every 2xx body is searched for what it must not
 * carry: a task token (the key or the value), a device password or username, a login URL the
 * caller may not have (only admins and the booking portal), and the other tenant's session, reservation
 * or owner. Unexpected allows (a 2xx the role table or tenancy forbids) and leaks are counted;
 * both must be 0.
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
  createUpload: [A], // pre-signed uploads of large topologies: only for definition authors
  // sessions: the portal's business, and operations'
  createSession: [A, O, P],
  listSessions: [A, O, P, V],
  getSession: [A, O, P, V],
  getSessionHistory: [A, O, P, V],
  terminateSession: [A, O, P],
  finishSession: [A, O, P],
  extendSession: [A, O, P],
  observeSession: [A, O], // runtime observations: an operation, not the portal's
  releaseSession: [A, O], // recovery of a failed teardown or grading: operations only
  regradeSession: [A, O],
  getAvailability: [A, O, P, V], // the capacity book: the portal shows bookable slots
  getReservation: [A, O, P, V],
  // fleet
  getFleetCapacity: [A, O, V],
  getFleetPools: [A, O, V],
  getFleetScaling: [A, O, V],
  getFleetCost: [A, O, V],
  getDefinitionCost: [A, O, V],
  getFleetUsage: [A, O, V],
  // stream failures: records the table-stream consumers gave up on; operations only
  listStreamFailures: [A, O],
  replayStreamFailure: [A, O],
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

// ---------------------------------------------------------------------------------------------
// Fields × tenants

type FieldCaller = 'admin' | 'operator' | 'viewer' | 'portalA' | 'portalB' | 'none';
const FIELD_CALLERS: readonly FieldCaller[] = ['admin', 'operator', 'viewer', 'portalA', 'portalB', 'none'];
const roleOf = (c: FieldCaller): Caller => (c === 'portalA' || c === 'portalB' ? 'portal' : c);

/** A unique device password: found anywhere in a reply, it leaked. */
const DEVICE_PASSWORD = 'matrix-device-pw-7f3a';
const DEVICE_USERNAME = 'matrix-device-user';
const CRED_DEFINITION = 'matrix-credentials';

interface Booked {
  tenant: 'portalA' | 'portalB';
  id: string;
  reservationId: string;
  email: string;
  loginUrl: string;
  taskToken: string;
  workerId: string;
  /** The timeslot it was booked with (a replay must name the same: another slot is a 409). */
  timeslot: { start: string; end: string };
}

describe('fields × tenants: two portal clients × every role × every read route', () => {
  const tokens = {} as Record<FieldCaller, string | undefined>;
  const booked = {} as Record<'portalA' | 'portalB', Booked>;
  let adminToken: string;

  const send = async (caller: FieldCaller, method: string, path: string, body?: unknown) => {
    const token = tokens[caller];
    const res = await fetch(`${env.apiUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
  };

  async function book(tenant: 'portalA' | 'portalB', definitionId: string): Promise<Booked> {
    const email = `owner-${tenant}@example.com`;
    const reservationId = `matrix-${tenant}-${Date.now()}`;
    const now = Date.now();
    const timeslot = { start: new Date(now).toISOString(), end: new Date(now + 10 * 60_000).toISOString() };
    const created = await send(tenant, 'POST', '/v1/sessions', {
      definitionId,
      reservationId,
      owner: { userId: `u-${tenant}`, username: `learner-${tenant}`, email },
      timeslot,
    });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    // The real workflow: placed, lab imported and started, LDS session, waiting for the login.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const got = await send('admin', 'GET', `/v1/sessions/${id}`);
      const view = got.json as {
        status: string;
        workerId?: string;
        pendingWait?: { kind: string };
        userSession?: { loginUrl?: string } | null;
      };
      if (view.status === 'READY' && view.pendingWait?.kind === 'LOGIN' && view.userSession?.loginUrl) {
        const db = createDocumentClient({ endpoint: env.stack.dynamodbEndpoint });
        try {
          const item = await db.send(
            new GetCommand({ TableName: env.stack.tableName, Key: keys.session(id) }),
          );
          const taskToken = (item.Item?.pendingWait as { taskToken?: string } | undefined)?.taskToken;
          expect(taskToken, 'the table holds the wait token').toEqual(expect.any(String));
          return {
            tenant,
            id,
            reservationId,
            email,
            loginUrl: view.userSession.loginUrl,
            taskToken: taskToken as string,
            workerId: view.workerId as string,
            timeslot,
          };
        } finally {
          db.destroy();
        }
      }
      if (Date.now() > deadline)
        throw new Error(`session ${id} never became READY: ${got.text.slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    adminToken = env.tokens.admin;
    tokens.admin = adminToken;
    tokens.operator = env.tokens.operator;
    tokens.viewer = env.tokens.viewer;
    tokens.none = undefined;
    const { iss, aud } = decodeJwt(adminToken);
    const idp = await loadLocalIdentityProvider({
      keyPath: join(env.stack.stateDir, SIGNING_KEY_FILE),
      issuer: iss as string,
      audience: aud as string,
    });
    for (const [caller, clientId] of [
      ['portalA', 'matrix-portal-a'],
      ['portalB', 'matrix-portal-b'],
    ] as const) {
      tokens[caller] = await idp.issueToken({ sub: clientId, client_id: clientId, groups: ['lcm.portal'] });
    }
    await env.stack.resources.seed;
    const def = await send('admin', 'POST', '/v1/definitions', {
      id: CRED_DEFINITION,
      name: 'Matrix credentials',
      resourceRequirements: { cpuCores: 1, memoryGb: 1, storageGb: 1, nodeCount: 1 },
      maxDurationMinutes: 60,
      devices: [
        {
          name: 'R1 (ssh)',
          nodeLabel: 'R1',
          protocol: 'ssh',
          username: DEVICE_USERNAME,
          password: DEVICE_PASSWORD,
        },
      ],
    });
    expect(def.status, def.text).toBe(201);
    booked.portalA = await book('portalA', 'demo-ospf-graded');
    booked.portalB = await book('portalB', 'demo-console-practice');
  }, 180_000);

  /** What in a 2xx body the caller must not see. */
  function leaksIn(caller: FieldCaller, operationId: string, body: unknown, text: string): string[] {
    const found: string[] = [];
    const walk = (v: unknown, path: string, inDevice: boolean) => {
      if (Array.isArray(v)) {
        for (const [i, x] of v.entries()) walk(x, `${path}[${i}]`, path.endsWith('.devices'));
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'taskToken') found.push(`taskToken at ${path}`);
          if (k === 'password') found.push(`password at ${path}`);
          if (inDevice && k === 'username') found.push(`device username at ${path}`);
          // A session's cost is internal (sessions:cost): never in a portal's reply.
          if ((caller === 'portalA' || caller === 'portalB') && k === 'cost') found.push(`cost at ${path}`);
          walk(x, `${path}.${k}`, false);
        }
      }
    };
    // The OpenAPI document describes the request bodies (passwords are write-only fields there).
    if (operationId !== 'getOpenApi') walk(body, '$', false);
    if (text.includes(DEVICE_PASSWORD)) found.push('the device password');
    if (text.includes(DEVICE_USERNAME)) found.push('the device username');
    for (const s of Object.values(booked)) {
      if (text.includes(s.taskToken)) found.push(`${s.tenant}'s task token`);
      const mayLogin = caller === 'admin' || caller === s.tenant;
      if (!mayLogin && text.includes(s.loginUrl)) found.push(`${s.tenant}'s login URL`);
      if ((caller === 'portalA' || caller === 'portalB') && caller !== s.tenant) {
        for (const [what, value] of [
          ['session id', s.id],
          ['reservation', s.reservationId],
          ['owner email', s.email],
          ['owner user', `u-${s.tenant}`],
        ] as const) {
          if (text.includes(value)) found.push(`${s.tenant}'s ${what}`);
        }
      }
    }
    return found;
  }

  /** The fleet's cost and usage need a window (the last hour, up to a minute from now). */
  const windowOf = () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    return `from=${from}&to=${to}`;
  };
  const WINDOW_QUERY: Record<string, string> = {
    getFleetCost: `?${windowOf()}&groupBy=definition`,
    getFleetUsage: `?${windowOf()}&step=60`,
    getDefinitionCost: `?${windowOf()}`,
    // the capacity book: the next hour's slots of a seeded definition
    getAvailability: `?definitionId=demo-ospf-graded&from=${new Date().toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}&durationMinutes=30`,
  };

  it('0 unexpected allows and 0 leaked fields in any 2xx body', async () => {
    const a = booked.portalA;
    const reads = OPERATIONS.filter((o) => o.method === 'GET');
    const unexpected: string[] = [];
    const leaks: string[] = [];
    let requests = 0;
    let bodies = 0;
    const paramsFor = (group: string, tenantSession: Booked) => ({
      id:
        group === 'workers'
          ? tenantSession.workerId
          : group === 'definitions'
            ? CRED_DEFINITION
            : tenantSession.id,
      name: 'sandbox-cml',
      version: '1',
      reservationId: tenantSession.reservationId,
    });
    for (const o of reads) {
      for (const caller of FIELD_CALLERS) {
        // Each session-scoped read is asked about portal A's session (and, as the admin and portal B,
        // about B's too): portal B must get 404 for A's, A for B's.
        for (const target of [booked.portalA, booked.portalB]) {
          const path = pathOf(
            o.path,
            paramsFor(o.path.startsWith('/v1/definitions/') ? 'definitions' : o.group, target),
          );
          const query = o.operationId === 'listSessions' ? '?limit=100' : (WINDOW_QUERY[o.operationId] ?? '');
          const res = await send(caller, 'GET', `${path}${query}`);
          requests++;
          const role = roleOf(caller);
          const byRole = allowedCallers(o.operationId).includes(role);
          const foreign =
            (caller === 'portalA' || caller === 'portalB') &&
            caller !== target.tenant &&
            ['getSession', 'getSessionHistory', 'getReservation'].includes(o.operationId);
          const ok = res.status >= 200 && res.status < 300;
          const what = `${o.operationId} as ${caller} on ${target.tenant}'s: ${res.status} ${res.text.slice(0, 200)}`;
          if (ok && (!byRole || foreign)) unexpected.push(what);
          if (byRole && !foreign && o.permission !== null && !ok) unexpected.push(`refused: ${what}`);
          if (foreign && res.status !== 404) unexpected.push(`not 404: ${what}`);
          if (ok) {
            bodies++;
            for (const leak of leaksIn(caller, o.operationId, res.json, res.text))
              leaks.push(`${what.split(':')[0]}: ${leak}`);
          }
        }
      }
    }

    // Portal B against portal A's session: terminate, finish, re-booking A's reservation.
    for (const action of ['terminate', 'finish']) {
      const res = await send('portalB', 'POST', `/v1/sessions/${a.id}/${action}`, {});
      requests++;
      if (res.status !== 404)
        unexpected.push(`portalB ${action} A's session: ${res.status} ${res.text.slice(0, 200)}`);
    }
    const clash = await send('portalB', 'POST', '/v1/sessions', {
      definitionId: 'demo-console-practice',
      reservationId: a.reservationId,
      owner: { userId: 'u-portalB' },
      timeslot: { start: new Date().toISOString(), end: new Date(Date.now() + 10 * 60_000).toISOString() },
    });
    requests++;
    if (clash.status !== 409) unexpected.push(`portalB booking A's reservation: ${clash.status}`);
    // B named the reservation itself; anything else of A's session in the refusal is a leak.
    for (const leak of leaksIn('portalB', 'createSession', clash.json, clash.text)) {
      if (leak !== "portalA's reservation") leaks.push(`createSession clash: ${leak}`);
    }
    const still = await send('admin', 'GET', `/v1/sessions/${a.id}`);
    expect(still.json).toMatchObject({ status: 'READY' });
    expect(still.json).not.toHaveProperty('terminationRequestedAt');
    expect(still.json).not.toHaveProperty('finishRequestedAt');

    // The booking portal and admins do get the login URL (the views withhold, not lose, it).
    for (const caller of ['portalA', 'admin'] as const) {
      const got = await send(caller, 'GET', `/v1/sessions/${a.id}`);
      expect((got.json as { userSession: { loginUrl?: string } }).userSession.loginUrl).toBe(a.loginUrl);
    }

    // Writes that answer with a session or definition, by callers who may make them.
    const writes: Array<[FieldCaller, string, string, unknown]> = [
      ['portalA', 'POST', '/v1/sessions', { ...replayOf(a) }],
      ['admin', 'PUT', `/v1/definitions/${CRED_DEFINITION}`, { description: 'v2' }],
      ['admin', 'POST', `/v1/definitions/${CRED_DEFINITION}/deprecate`, undefined],
      ['portalA', 'POST', `/v1/sessions/${a.id}/terminate`, { reason: 'matrix' }],
      ['operator', 'POST', `/v1/sessions/${booked.portalB.id}/terminate`, { reason: 'matrix' }],
    ];
    for (const [caller, method, path, body] of writes) {
      const res = await send(caller, method, path, body);
      requests++;
      const what = `${method} ${path} as ${caller}: ${res.status} ${res.text.slice(0, 200)}`;
      if (res.status >= 300) unexpected.push(`refused: ${what}`);
      else {
        bodies++;
        for (const leak of leaksIn(caller, 'write', res.json, res.text))
          leaks.push(`${what.split(':')[0]}: ${leak}`);
      }
    }

    console.log(
      `fields × tenants: ${requests} requests, ${bodies} 2xx bodies searched, ` +
        `${unexpected.length} unexpected allows, ${leaks.length} leaked fields`,
    );
    expect(unexpected).toEqual([]);
    expect(leaks).toEqual([]);
  }, 180_000);

  /**
   * Portal A's booking request again: an idempotent replay (200) of its own reservation, the same
   * request (issue 11, item 6: another timeslot for the reservation is a 409 naming it).
   */
  function replayOf(s: Booked) {
    return {
      definitionId: 'demo-ospf-graded',
      reservationId: s.reservationId,
      owner: { userId: `u-${s.tenant}`, username: `learner-${s.tenant}`, email: s.email },
      timeslot: s.timeslot,
    };
  }
});
