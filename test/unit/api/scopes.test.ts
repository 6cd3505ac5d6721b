import {
  API_RESOURCE_SERVER,
  API_SCOPES,
  hasPermission,
  OPERATION_PERMISSIONS,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  ROLE_SCOPES,
  ROLES,
  type Role,
  rolesFromClaims,
  rolesFromScopes,
  scopeOf,
  VIEW_PERMISSIONS,
} from '@lcm/shared/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * OAuth scopes of machine clients (issue 12, item 7), derived from the role table: one scope per
 * operation permission, a role granted only by all of its scopes, and never by scopes on a token
 * that carries groups.
 */

const scopesOf = (role: Role) => [...ROLE_SCOPES[role]];
const resourceScopes = API_SCOPES.map((s) => `${API_RESOURCE_SERVER}/${s.name}`);

describe('the scopes of the resource server', () => {
  it('are the operation permissions, named lcm/<resource>.<action>; view permissions are not scopes', () => {
    expect(OPERATION_PERMISSIONS).toEqual(PERMISSIONS.filter((p) => !VIEW_PERMISSIONS.includes(p as never)));
    expect(resourceScopes).toEqual(OPERATION_PERMISSIONS.map(scopeOf));
    expect(resourceScopes).toContain('lcm/sessions.create');
    expect(resourceScopes).toContain('lcm/sessions.read');
    expect(resourceScopes).toContain('lcm/fleet.write');
    expect(resourceScopes.some((s) => s.includes('login-url') || s.includes('read-all'))).toBe(false);
    // Cognito: scope names of visible ASCII without `"`, `/` and `\`, descriptions non-empty.
    for (const s of API_SCOPES) {
      expect(s.name).toMatch(/^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$/);
      expect(s.description.length).toBeGreaterThan(0);
    }
  });

  it("each role's scopes are exactly its operation permissions", () => {
    for (const role of ROLES) {
      expect(ROLE_SCOPES[role]).toEqual(
        ROLE_PERMISSIONS[role].filter((p) => OPERATION_PERMISSIONS.includes(p)).map(scopeOf),
      );
    }
    expect(ROLE_SCOPES['lcm.portal']).toEqual([
      'lcm/definitions.read',
      'lcm/sessions.read',
      'lcm/sessions.create',
      'lcm/sessions.operate',
      'lcm/reservations.read',
    ]);
  });
});

describe('rolesFromScopes', () => {
  it("a role's full scope set grants that role, and only it", () => {
    for (const role of ROLES) expect(rolesFromScopes(scopesOf(role)), role).toEqual([role]);
  });

  it('one scope short grants nothing of the role', () => {
    for (const role of ROLES) {
      for (const missing of ROLE_SCOPES[role]) {
        const granted = rolesFromScopes(scopesOf(role).filter((s) => s !== missing));
        expect(granted, `${role} without ${missing}`).not.toContain(role);
      }
    }
    expect(rolesFromScopes(scopesOf('lcm.portal').slice(1))).toEqual([]);
  });

  it('two roles whose scopes neither contains are both granted (as a user in both groups)', () => {
    expect(rolesFromScopes([...scopesOf('lcm.portal'), ...scopesOf('lcm.viewer')])).toEqual([
      'lcm.portal',
      'lcm.viewer',
    ]);
  });

  it('ignores other resource servers, role names, OpenID scopes and bare names', () => {
    const bare = scopesOf('lcm.admin').map((s) => s.replace(/^lcm\//, ''));
    const other = scopesOf('lcm.admin').map((s) => s.replace(/^lcm\//, 'other/'));
    expect(rolesFromScopes([...bare, ...other, 'openid', 'lcm.admin', 'lcm/'])).toEqual([]);
  });

  it('never grants a permission the scopes do not name (property)', () => {
    fc.assert(
      fc.property(fc.subarray(resourceScopes), fc.subarray(['openid', 'email', 'x/y']), (held, noise) => {
        const roles = rolesFromScopes([...held, ...noise]);
        for (const p of OPERATION_PERMISSIONS) {
          if (hasPermission(roles, p)) expect(held, p).toContain(scopeOf(p));
        }
        // and a granted role's view permissions come only with its full scope set
        for (const r of roles) expect(ROLE_SCOPES[r].every((s) => held.includes(s))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('rolesFromClaims with scopes', () => {
  const portalScope = scopesOf('lcm.portal').join(' ');

  it('a client-credentials token (scopes, no groups) resolves to the role its scopes grant', () => {
    const claims = {
      sub: 'portal-client',
      client_id: 'portal-client',
      token_use: 'access',
      scope: portalScope,
    };
    expect(rolesFromClaims(claims)).toEqual(['lcm.portal']);
    // as API Gateway hands it over (strings) and as an array claim
    expect(rolesFromClaims({ scp: scopesOf('lcm.operator') })).toEqual(['lcm.operator']);
    expect(rolesFromClaims({ scope: `openid ${scopesOf('lcm.admin').join(' ')}` })).toEqual(['lcm.admin']);
  });

  it('a token with groups gets its groups only: scopes add nothing', () => {
    expect(
      rolesFromClaims({ 'cognito:groups': '[lcm.viewer]', scope: scopesOf('lcm.admin').join(' ') }),
    ).toEqual(['lcm.viewer']);
    expect(rolesFromClaims({ 'cognito:groups': [], scope: portalScope })).toEqual([]);
    expect(rolesFromClaims({ groups: '[]', scope: portalScope })).toEqual([]);
  });

  it('role names in the scope claim still count (as before)', () => {
    expect(rolesFromClaims({ scope: 'lcm.portal openid' })).toEqual(['lcm.portal']);
    expect(rolesFromClaims({ scope: `lcm.viewer ${portalScope}` })).toEqual(['lcm.portal', 'lcm.viewer']);
  });
});
