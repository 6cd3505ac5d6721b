/**
 * The role table: the one place that says which role may do what. The API handlers check
 * it, the local runtime's token printer uses ROLES, and the OpenAPI document derives each
 * operation's security requirement from it.
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
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ_ALL: Permission[] = [
  'templates:read',
  'workers:read',
  'definitions:read',
  'sessions:read',
  'reservations:read',
  'fleet:read',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  /** Everything. */
  'lcm.admin': PERMISSIONS,
  /** Fleet and session operations, read all. */
  'lcm.operator': [
    ...READ_ALL,
    'templates:write',
    'workers:write',
    'fleet:write',
    'sessions:create',
    'sessions:operate',
    'observations:write',
  ],
  /** The reservation portal: its sessions, reservation lookup, definitions catalogue. */
  'lcm.portal': [
    'definitions:read',
    'sessions:read',
    'sessions:create',
    'sessions:operate',
    'reservations:read',
  ],
  /** Read only. */
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
