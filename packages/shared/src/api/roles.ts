/**
 * The role table: the one place that says which role may do what. The API handlers check
 * it, the local runtime's token printer uses ROLES, and the OpenAPI document derives each
 * operation's security requirement from it. It also says what a caller sees in a reply
 * (api/views.ts reads it): the VIEW_PERMISSIONS gate no operation, they widen what the views
 * of the operations a caller may call show.
 *
 * What no role sees, whatever the table says: workflow task tokens (`pendingWait.taskToken`;
 * with one, anyone could end a learner's session through Step Functions) and device
 * credentials of definitions (usernames and passwords are write-only: only the LDS
 * provisioning step reads them, from the table).
 */
export const ROLES = ['lcm.admin', 'lcm.operator', 'lcm.portal', 'lcm.viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'templates:read',
  'templates:write',
  'workers:read',
  'workers:write',
  'definitions:read',
  'definitions:write',
  'sessions:read',
  'sessions:create',
  'sessions:operate',
  'reservations:read',
  'fleet:read',
  'fleet:write',
  'observations:write',
  /** Pre-signed uploads of large content (POST /v1/uploads): topologies a definition then names. */
  'uploads:write',
  /** Recovery of a session that failed: force-release (TEARDOWN_FAILED) and re-grade. */
  'sessions:recover',
  /**
   * The table-stream records a consumer gave up on (issue 11, item 5): list them and replay them
   * (GET /v1/stream-failures, POST /v1/stream-failures/{id}/replay). Operators and admins only: the
   * failures name internal shards and errors, and a replay re-runs a consumer.
   */
  'stream-failures:operate',
  // What replies show (no operation needs these):
  /** Every client's sessions; without it, only the sessions the caller's client booked (others are 404). */
  'sessions:read-all',
  /** The learner's `userSession.loginUrl` of any session (it logs whoever opens it in as the learner). */
  'sessions:login-url:any',
  /** The learner's `userSession.loginUrl` of the sessions the caller's client booked. */
  'sessions:login-url:own',
  /** A session's `cost` (what its share of its worker cost; docs/cost.md). Internal: not for the portal. */
  'sessions:cost',
  /** Book past a full capacity book (`force: true` on POST /v1/sessions; recorded in the session history). */
  'sessions:overbook',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * The permissions that allow no operation of their own: they shape replies, or widen what an
 * operation the caller may call does (`sessions:overbook`). They come with a role, never as scopes.
 */
export const VIEW_PERMISSIONS = [
  'sessions:read-all',
  'sessions:login-url:any',
  'sessions:login-url:own',
  'sessions:cost',
  'sessions:overbook',
] as const satisfies readonly Permission[];

const READ_ALL: Permission[] = [
  'templates:read',
  'workers:read',
  'definitions:read',
  'sessions:read',
  'reservations:read',
  'fleet:read',
  'sessions:read-all',
  'sessions:cost',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  /** Everything, every session's login URL included. */
  'lcm.admin': PERMISSIONS,
  /** Fleet and session operations, read all (sessions of every client, no login URLs). */
  'lcm.operator': [
    ...READ_ALL,
    'templates:write',
    'workers:write',
    'fleet:write',
    'sessions:create',
    'sessions:operate',
    'observations:write',
    'sessions:recover',
    'sessions:overbook',
    'stream-failures:operate',
  ],
  /**
   * The reservation portal: the sessions its client booked (read, terminate, finish, look up
   * by reservation, their login URLs), booking, the definitions catalogue.
   */
  'lcm.portal': [
    'definitions:read',
    'sessions:read',
    'sessions:create',
    'sessions:operate',
    'reservations:read',
    'sessions:login-url:own',
  ],
  /** Read only (sessions of every client, no login URLs). */
  'lcm.viewer': READ_ALL,
};

export const rolesWith = (permission: Permission): Role[] =>
  ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));

export const hasPermission = (roles: readonly string[], permission: Permission): boolean =>
  roles.some(
    (r) => (ROLES as readonly string[]).includes(r) && ROLE_PERMISSIONS[r as Role].includes(permission),
  );

/**
 * OAuth scopes (issue 12, item 7): what a machine client (client-credentials grant, no user, no
 * groups) is granted, derived from this table. Each permission that allows an operation is one
 * scope of the API's resource server, `lcm/<resource>.<action>` (`sessions:create` →
 * `lcm/sessions.create`); the view permissions are not scopes (they come with a role). A role's
 * scopes are its operation permissions' scopes; a token holding every scope of a role is granted
 * that role (its view permissions included), holding some of them grants nothing of it.
 */
export const API_RESOURCE_SERVER = 'lcm';

/** The permissions that allow operations: the ones that are scopes. */
export const OPERATION_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter(
  (p) => !(VIEW_PERMISSIONS as readonly Permission[]).includes(p),
);

/** `sessions:create` → `sessions.create` (the scope's name on the resource server). */
export const scopeNameOf = (permission: Permission): string => permission.replace(':', '.');

/** `sessions:create` → `lcm/sessions.create` (the scope as a token carries it). */
export const scopeOf = (permission: Permission): string =>
  `${API_RESOURCE_SERVER}/${scopeNameOf(permission)}`;

/** Every scope of the resource server: name (without the server prefix) and description. */
export const API_SCOPES: readonly { readonly name: string; readonly description: string }[] =
  OPERATION_PERMISSIONS.map((p) => {
    const [resource, action] = p.split(':') as [string, string];
    return { name: scopeNameOf(p), description: `LCM API: ${action} ${resource}` };
  });

/** The scopes a token must hold, all of them, to be granted each role. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly string[]>> = Object.fromEntries(
  ROLES.map((r) => [r, ROLE_PERMISSIONS[r].filter((p) => OPERATION_PERMISSIONS.includes(p)).map(scopeOf)]),
) as unknown as Record<Role, readonly string[]>;

/**
 * The roles a set of scopes grants: every role whose scopes are all held, less any role whose
 * scopes are a strict subset of another granted role's (an operator's scopes include a portal's
 * and a viewer's, and grant the operator only, not also the portal's login URLs). Scopes of other
 * resource servers and unknown names grant nothing. Pure.
 */
export function rolesFromScopes(scopes: Iterable<string>): Role[] {
  const held = new Set(scopes);
  const covered = ROLES.filter((r) => ROLE_SCOPES[r].length > 0 && ROLE_SCOPES[r].every((s) => held.has(s)));
  const strictlyWithin = (a: Role, b: Role) =>
    ROLE_SCOPES[a].length < ROLE_SCOPES[b].length && ROLE_SCOPES[a].every((s) => ROLE_SCOPES[b].includes(s));
  return covered.filter((r) => !covered.some((other) => strictlyWithin(r, other)));
}

/**
 * Roles from a JWT's claims:
 * - a `groups` / `cognito:groups` / `roles` claim (a user's token: the Cognito groups), and role
 *   names in a space-separated `scope` / `scp` claim;
 * - only when the token carries no group claim at all (a machine client's client-credentials
 *   token): the roles its resource-server scopes grant (rolesFromScopes). A user's token never
 *   gains a role from scopes: in Cognito a user token's scopes are the app client's, not the
 *   user's, and the API's human client has no OAuth flows anyway.
 */
export function rolesFromClaims(claims: Record<string, unknown>): Role[] {
  const found = new Set<string>();
  let hasGroupClaim = false;
  for (const key of ['groups', 'cognito:groups', 'roles']) {
    const v = claims[key];
    if (v !== undefined && v !== null) hasGroupClaim = true;
    if (Array.isArray(v)) for (const g of v) if (typeof g === 'string') found.add(g);
    // API Gateway flattens array claims to "[a b]" strings.
    if (typeof v === 'string') for (const g of v.replace(/^\[|\]$/g, '').split(/[\s,]+/)) found.add(g);
  }
  const scopes = new Set<string>();
  for (const key of ['scope', 'scp']) {
    const v = claims[key];
    if (typeof v === 'string') for (const s of v.split(/\s+/)) scopes.add(s);
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') scopes.add(s);
  }
  for (const s of scopes) found.add(s);
  if (!hasGroupClaim) for (const r of rolesFromScopes(scopes)) found.add(r);
  return ROLES.filter((r) => found.has(r));
}
