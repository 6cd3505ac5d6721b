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
  /** Recovery of a session that failed: force-release (TEARDOWN_FAILED) and re-grade. */
  'sessions:recover',
  // What replies show (no operation needs these):
  /** Every client's sessions; without it, only the sessions the caller's client booked (others are 404). */
  'sessions:read-all',
  /** The learner's `userSession.loginUrl` of any session (it logs whoever opens it in as the learner). */
  'sessions:login-url:any',
  /** The learner's `userSession.loginUrl` of the sessions the caller's client booked. */
  'sessions:login-url:own',
  /** A session's `cost` (what its share of its worker cost; docs/cost.md). Internal: not for the portal. */
  'sessions:cost',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The permissions that shape replies rather than allow operations. */
export const VIEW_PERMISSIONS = [
  'sessions:read-all',
  'sessions:login-url:any',
  'sessions:login-url:own',
  'sessions:cost',
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

/** Roles from a JWT's claims: a `groups` / `cognito:groups` array or a space-separated `scope`. */
export function rolesFromClaims(claims: Record<string, unknown>): Role[] {
  const found = new Set<string>();
  for (const key of ['groups', 'cognito:groups', 'roles']) {
    const v = claims[key];
    if (Array.isArray(v)) for (const g of v) if (typeof g === 'string') found.add(g);
    // API Gateway flattens array claims to "[a b]" strings.
    if (typeof v === 'string') for (const g of v.replace(/^\[|\]$/g, '').split(/[\s,]+/)) found.add(g);
  }
  for (const key of ['scope', 'scp']) {
    const v = claims[key];
    if (typeof v === 'string') for (const s of v.split(/\s+/)) found.add(s);
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') found.add(s);
  }
  return ROLES.filter((r) => found.has(r));
}
