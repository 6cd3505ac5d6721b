import type { LabletSession } from '../../kernel/index.ts';

/**
 * Session tenancy (pure): which sessions a caller may see and act on. A session records the API
 * client that booked it (`bookedBy`); a caller scoped to a tenant sees only the sessions that
 * tenant booked, and the others answer exactly like sessions that do not exist (404), so a
 * portal cannot even learn that another portal's session or reservation exists. The API
 * derives the scope from the role table (`sessions:read-all`: every session).
 */
export type SessionScope = { readonly kind: 'all' } | { readonly kind: 'tenant'; readonly tenant: string };

/** Every session, whoever booked it (operators, admins, viewers; workflows and jobs). */
export const ALL_SESSIONS: SessionScope = { kind: 'all' };

export const tenantScope = (tenant: string): SessionScope => ({ kind: 'tenant', tenant });

/** Whether a session is visible in a scope; a session without `bookedBy` belongs to no tenant. */
export const inScope = (scope: SessionScope, session: Pick<LabletSession, 'bookedBy'>): boolean =>
  scope.kind === 'all' || (session.bookedBy !== undefined && session.bookedBy === scope.tenant);
