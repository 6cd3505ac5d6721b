import * as z from 'zod';
import type { LabletDefinition, LabletSession } from '../kernel/index.ts';
import {
  DeviceSchema,
  LabletDefinitionSchema,
  LabletSessionSchema,
  PendingWaitSchema,
  UserSessionSchema,
} from '../kernel/index.ts';
import {
  ACTION_OUTCOMES,
  type ActionResult,
  ALL_SESSIONS,
  FAILURE_REASONS,
  RecoverySchema,
  type SessionCost,
  SessionCostSchema,
  type SessionScope,
  type SessionView,
  SessionViewSchema,
  tenantScope,
} from '../sessions/index.ts';
import { hasPermission, type Role } from './roles.ts';

/**
 * What a caller sees (pure): one rule per entity turns the stored entity into the view an API
 * reply carries, driven by the role table (roles.ts). Every handler that replies with a session
 * or a definition goes through these, and the OpenAPI document describes these view schemas,
 * not the stored entities.
 *
 * - Sessions: `pendingWait.taskToken` never leaves the table (the wait's kind and start do);
 *   `userSession.loginUrl` only with `sessions:login-url:any` (admins) or, for the sessions its
 *   client booked, `sessions:login-url:own` (the portal that booked it). Which sessions a caller
 *   sees at all is its SessionScope: every session with `sessions:read-all`, else those its
 *   client booked (sessions/rules/tenancy.ts).
 * - Definitions: device `username` and `password` are write-only. No role reads them, admins
 *   included: an admin who authors a definition states them (or they come from its content
 *   package), and only the LDS provisioning step reads them, from the table. Updates are
 *   patches, so a new version that leaves `devices` out keeps them.
 */

/** Who is asking: the caller's roles and tenant (an api Caller is one). Absent: no rights. */
export interface Viewer {
  readonly roles: readonly Role[];
  readonly tenant: string;
}

// ---------------------------------------------------------------------------------------------
// Sessions

/** A wait as replies show it: what the workflow waits for and since when, never its task token. */
export const PendingWaitViewSchema = PendingWaitSchema.omit({ taskToken: true });

/** A session as every reply shows it (lists, create, reservation look-up, actions). */
export const SessionReplySchema = LabletSessionSchema.extend({
  bookedBy: LabletSessionSchema.shape.bookedBy.meta({
    description:
      "The API client that booked the session, its tenant (the token's `client_id`, else `sub`). A portal " +
      'sees, lists, looks up, terminates and finishes only the sessions its client booked.',
  }),
  pendingWait: PendingWaitViewSchema.optional().meta({
    description: 'What the workflow waits for and since when; its task token never leaves LCM.',
  }),
  failureReason: LabletSessionSchema.shape.failureReason.meta({
    description:
      'Why the session ended early (absent when it completed), one of the documented reasons ' +
      `(docs/data-model.md): ${FAILURE_REASONS.join(', ')}.`,
  }),
});
export type SessionReply = z.output<typeof SessionReplySchema>;

/** GET /v1/sessions/{id}: the session with its children; `userSession.loginUrl` per the role table. */
export const SessionDetailSchema = SessionViewSchema.extend({
  ...SessionReplySchema.pick({ bookedBy: true, pendingWait: true, failureReason: true }).shape,
  userSession: UserSessionSchema.extend({
    loginUrl: UserSessionSchema.shape.loginUrl.meta({
      description:
        'Logs whoever opens it in as the learner: only for admins and for the portal client that booked ' +
        'the session; absent for everyone else.',
    }),
  })
    .nullable()
    .describe("The learner's LDS session (null until provisioned)."),
  cost: SessionCostSchema.nullable()
    .optional()
    .meta({
      description:
        "What the session's share of its worker cost (docs/cost.md); null when it was never placed. Only for " +
        'operators, viewers and admins (`sessions:cost`); the portal never sees it.',
    }),
});
export type SessionDetail = z.output<typeof SessionDetailSchema>;

/** POST /v1/sessions/{id}/terminate and /finish. */
export const SessionActionReplySchema = z.object({
  outcome: z
    .enum(ACTION_OUTCOMES)
    .describe(
      'What the request did: `terminated` (at once: it was never placed), `requested` (recorded: the workflow tears down or moves on), `noop` (nothing to do in this status).',
    ),
  session: SessionReplySchema.describe('The session after the request.'),
  /** The session's workflow was dead and was re-driven so the request is applied. */
  recovery: RecoverySchema.describe(
    "The session's workflow was dead and was re-driven so the request is applied.",
  ).optional(),
});
export type SessionActionReply = z.output<typeof SessionActionReplySchema>;

/** The sessions a viewer may see and act on (others answer 404). */
export const sessionScopeOf = (viewer: Viewer | undefined): SessionScope => {
  if (viewer && hasPermission(viewer.roles, 'sessions:read-all')) return ALL_SESSIONS;
  // No tenant matches '' (bookedBy is never empty): a caller without one sees nothing.
  return tenantScope(viewer?.tenant ?? '');
};

/** Whether the viewer may see this session's login URL. */
export const seesLoginUrl = (
  viewer: Viewer | undefined,
  session: Pick<LabletSession, 'bookedBy'>,
): boolean => {
  if (!viewer) return false;
  if (hasPermission(viewer.roles, 'sessions:login-url:any')) return true;
  return (
    hasPermission(viewer.roles, 'sessions:login-url:own') &&
    session.bookedBy !== undefined &&
    session.bookedBy === viewer.tenant
  );
};

/** Whether the viewer may see what a session cost (operators, viewers, admins; never the portal). */
export const seesCost = (viewer: Viewer | undefined): boolean =>
  viewer !== undefined && hasPermission(viewer.roles, 'sessions:cost');

/** The wait without its task token. */
const waitView = (wait: NonNullable<LabletSession['pendingWait']>) => ({
  kind: wait.kind,
  since: wait.since,
});

/** The session without its task token. */
export function sessionReply(session: LabletSession): SessionReply {
  const { pendingWait, ...rest } = session;
  return pendingWait ? { ...rest, pendingWait: waitView(pendingWait) } : rest;
}

/**
 * The session detail for this viewer: no task token, the login URL only where the role table
 * allows, the cost (computed by the caller, getSessionCost) only for those who may see it.
 */
export function sessionDetailFor(
  viewer: Viewer | undefined,
  view: SessionView,
  cost?: SessionCost | null,
): SessionDetail {
  const { pendingWait, userSession, ...rest } = view;
  let shownUser = userSession;
  if (userSession && !seesLoginUrl(viewer, view)) {
    const { loginUrl: _hidden, ...withoutUrl } = userSession;
    shownUser = withoutUrl;
  }
  return {
    ...rest,
    ...(pendingWait ? { pendingWait: waitView(pendingWait) } : {}),
    userSession: shownUser,
    ...(cost !== undefined && seesCost(viewer) ? { cost } : {}),
  };
}

export const sessionActionReply = (result: ActionResult): SessionActionReply => ({
  outcome: result.outcome,
  session: sessionReply(result.session),
  ...(result.recovery ? { recovery: result.recovery } : {}),
});

export const sessionPage = <P extends { items: LabletSession[] }>(
  page: P,
): Omit<P, 'items'> & { items: SessionReply[] } => ({ ...page, items: page.items.map(sessionReply) });

// ---------------------------------------------------------------------------------------------
// Definitions

/** A device as replies show it: how to reach it, never its credentials. */
export const DeviceViewSchema = DeviceSchema.omit({ username: true, password: true });

/** A definition as every reply shows it. */
export const DefinitionReplySchema = LabletDefinitionSchema.extend({
  devices: z.array(DeviceViewSchema).meta({
    description:
      'The devices LDS shows the learner. Their `username` and `password` are write-only: no reply carries them.',
  }),
  topology: LabletDefinitionSchema.shape.topology.meta({
    description:
      'Where the CML topology lives: the SHA-256 of its YAML (its address in the content bucket) and its size. ' +
      'The YAML itself only with `?include=topology` on GET /v1/definitions/{id} (and /versions/{version}).',
  }),
  topologyYaml: z
    .string()
    .optional()
    .meta({
      description:
        'The topology YAML: only with `?include=topology`, and only when it fits a reply (at most 5.5 MiB; ' +
        'otherwise `topologyUrl`).',
    }),
  topologyUrl: z.string().optional().meta({
    description:
      'With `?include=topology` for a topology too large for a reply: a pre-signed GET URL, valid 15 minutes.',
  }),
});
export type DefinitionReply = z.output<typeof DefinitionReplySchema>;

/**
 * The definition without device credentials and without topology YAML (a version written before
 * issue 11 may still hold it inline): replies carry the YAML only on request (`withTopology`).
 */
export function definitionReply(definition: LabletDefinition): DefinitionReply {
  const { topologyYaml: _yaml, ...rest } = definition;
  return {
    ...rest,
    devices: definition.devices.map(({ username: _u, password: _p, ...device }) => device),
  };
}

/** The reply with the topology added (`?include=topology`): inline YAML, or its URL when too large. */
export const withTopology = (
  reply: DefinitionReply,
  topology: { yaml: string } | { url: string } | undefined,
): DefinitionReply =>
  topology === undefined
    ? reply
    : 'yaml' in topology
      ? { ...reply, topologyYaml: topology.yaml }
      : { ...reply, topologyUrl: topology.url };

export const definitionPage = <P extends { items: LabletDefinition[] }>(
  page: P,
): Omit<P, 'items'> & { items: DefinitionReply[] } => ({ ...page, items: page.items.map(definitionReply) });
