import * as z from 'zod';
import { type EventRule, LCM_EVENT_SOURCE } from '../events/index.ts';
import type { LabletSession } from '../kernel/index.ts';
import { inScope } from '../sessions/index.ts';
import { hasPermission, type Role, rolesFromClaims } from './roles.ts';
import { seesLoginUrl, sessionScopeOf, type Viewer } from './views.ts';

/**
 * Live updates over WebSocket (issue 14, item 3): the protocol, who may subscribe to what, which
 * topics an outbound CloudEvent goes to and what each subscriber sees of it. The rules here are
 * pure; the use cases at the end take their I/O as ports (`LiveStore`, `ConnectionPoster`,
 * `SessionLookup`), so the Lambda handlers of functions/websocket/ and the local stack's `/ws`
 * (packages/sandbox) run the same code, each with its own delivery adapter.
 *
 * Protocol (docs/console.md):
 * - connect to `<wsUrl>?token=<access token>`; the token is checked like the HTTP API's JWT
 *   authorizer checks it (signature, issuer, audience, expiry: api/live-auth.ts), else 401;
 * - client → server `{"action":"subscribe","topic":T}` / `{"action":"unsubscribe","topic":T}`,
 *   T = `fleet` | `sessions` | `session:<id>`;
 * - server → client `{"type":"subscribed","topic":T}`, `{"type":"unsubscribed","topic":T}`,
 *   `{"type":"error","topic":T,"status":400|403,"detail":...}` and
 *   `{"type":"event","topic":T,"event":<CloudEvent, as this caller may see it>}`.
 *
 * Tenancy is the API's (api/views.ts `sessionScopeOf`): a caller without `sessions:read-all` (the
 * portal) may subscribe to `sessions` but receives only the events of the sessions its client
 * booked, and `session:<id>` of another client's session (or of none) is refused with 403, the
 * same answer for both, so the socket cannot tell whether another client's session exists.
 */

/** A connection lives at most 2 h in API Gateway; its items expire a little later. */
export const LIVE_CONNECTION_TTL_SECONDS = 3 * 60 * 60;

export const LIVE_TOPIC_FLEET = 'fleet';
export const LIVE_TOPIC_SESSIONS = 'sessions';
export const LIVE_SESSION_TOPIC_PREFIX = 'session:';

export type LiveTopic =
  | { readonly kind: 'fleet' }
  | { readonly kind: 'sessions' }
  | { readonly kind: 'session'; readonly sessionId: string };

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** `fleet`, `sessions`, `session:<id>`; undefined for anything else. */
export function parseLiveTopic(topic: string): LiveTopic | undefined {
  if (topic === LIVE_TOPIC_FLEET) return { kind: 'fleet' };
  if (topic === LIVE_TOPIC_SESSIONS) return { kind: 'sessions' };
  if (topic.startsWith(LIVE_SESSION_TOPIC_PREFIX)) {
    const sessionId = topic.slice(LIVE_SESSION_TOPIC_PREFIX.length);
    if (SESSION_ID.test(sessionId)) return { kind: 'session', sessionId };
  }
  return undefined;
}

export const sessionTopic = (sessionId: string): string => `${LIVE_SESSION_TOPIC_PREFIX}${sessionId}`;

/** A client message (the WebSocket API's route selection expression is `$request.body.action`). */
export const LiveMessageSchema = z.object({
  action: z.enum(['subscribe', 'unsubscribe']),
  topic: z.string().min(1).max(200),
});
export type LiveMessage = z.output<typeof LiveMessageSchema>;

export type LiveReply =
  | { type: 'subscribed'; topic: string }
  | { type: 'unsubscribed'; topic: string }
  | { type: 'error'; topic: string | null; status: 400 | 403; detail: string }
  | { type: 'event'; topic: string; event: unknown };

/** Who is on a connection: the token's subject, roles and tenant, as the API derives them. */
export interface LiveViewer extends Viewer {
  readonly sub: string;
}

/** The caller of a verified token: roles from its claims (roles.ts), tenant `client_id` else `sub` (dispatch.ts). */
export function liveViewerOf(claims: Record<string, unknown>): LiveViewer | undefined {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') return undefined;
  const clientId = claims.client_id;
  const tenant = typeof clientId === 'string' && clientId.trim() !== '' ? clientId : sub;
  return { sub, roles: rolesFromClaims(claims), tenant };
}

export type SubscriptionVerdict = { ok: true } | { ok: false; status: 400 | 403; detail: string };

/**
 * May this viewer subscribe to the topic? `fleet` needs `fleet:read`, `sessions` needs
 * `sessions:read`, `session:<id>` needs `sessions:read` and the session in the viewer's scope
 * (`session` is the stored session, undefined when there is none).
 */
export function subscriptionVerdict(
  viewer: LiveViewer,
  topic: string,
  session?: Pick<LabletSession, 'bookedBy'> | undefined,
): SubscriptionVerdict {
  const parsed = parseLiveTopic(topic);
  if (!parsed) {
    return {
      ok: false,
      status: 400,
      detail: `topic must be "${LIVE_TOPIC_FLEET}", "${LIVE_TOPIC_SESSIONS}" or "${LIVE_SESSION_TOPIC_PREFIX}<session id>"`,
    };
  }
  if (parsed.kind === 'fleet') {
    return hasPermission(viewer.roles, 'fleet:read')
      ? { ok: true }
      : { ok: false, status: 403, detail: 'the fleet topic needs the permission fleet:read' };
  }
  if (!hasPermission(viewer.roles, 'sessions:read')) {
    return { ok: false, status: 403, detail: 'session topics need the permission sessions:read' };
  }
  if (parsed.kind === 'sessions') return { ok: true };
  return session && inScope(sessionScopeOf(viewer), session)
    ? { ok: true }
    : { ok: false, status: 403, detail: `session ${parsed.sessionId} is not one this caller may see` };
}

/** What the broadcaster needs of an outbound CloudEvent. */
export interface LiveEvent {
  readonly type: string;
  readonly subject?: string | undefined;
  readonly data?: unknown;
  readonly [member: string]: unknown;
}

/** The session an event is about (`sessions/<id>` subject), if any. */
export function sessionIdOfEvent(event: LiveEvent): string | undefined {
  const subject = event.subject;
  if (typeof subject !== 'string' || !subject.startsWith('sessions/')) return undefined;
  const id = subject.slice('sessions/'.length);
  return id === '' || id.includes('/') ? undefined : id;
}

/**
 * The topics an outbound event goes to: a session's events to `sessions` and `session:<id>`;
 * workers, scaling decisions, definitions and hot-start pools to `fleet`; anything else to none.
 */
export function topicsOfEvent(event: LiveEvent): string[] {
  const sessionId = sessionIdOfEvent(event);
  if (sessionId) return [LIVE_TOPIC_SESSIONS, sessionTopic(sessionId)];
  const subject = typeof event.subject === 'string' ? event.subject : '';
  if (/^(workers|scaling|definitions|pools)\//.test(subject)) return [LIVE_TOPIC_FLEET];
  return [];
}

/** Members no subscriber ever sees, whatever its role (task tokens, credentials, secrets). */
const NEVER_SHOWN = new Set(['taskToken', 'password', 'username', 'secret', 'apiKey']);
/** Members only callers entitled to the session's login URL see (views.ts `seesLoginUrl`). */
const LOGIN_URL = 'loginUrl';

function scrub(value: unknown, showLoginUrl: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => scrub(v, showLoginUrl));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (NEVER_SHOWN.has(k)) continue;
      if (k === LOGIN_URL && !showLoginUrl) continue;
      out[k] = scrub(v, showLoginUrl);
    }
    return out;
  }
  return value;
}

/**
 * What a subscriber receives of an event on a topic, or undefined when it receives nothing: the
 * event of a session outside the viewer's scope (views.ts `sessionScopeOf`) never reaches it, a
 * fleet event only with `fleet:read`; the CloudEvent's data without task tokens or credentials,
 * and without a login URL unless the viewer may see that session's (views.ts `seesLoginUrl`).
 * `session` is the stored session of a session event (undefined: it could not be read, and then
 * only viewers who see every session receive the event).
 */
export function liveEventFor(
  viewer: LiveViewer,
  topic: string,
  event: LiveEvent,
  session?: Pick<LabletSession, 'bookedBy'> | undefined,
): LiveEvent | undefined {
  const parsed = parseLiveTopic(topic);
  if (!parsed) return undefined;
  const sessionId = sessionIdOfEvent(event);
  if (parsed.kind === 'fleet') {
    if (sessionId || !hasPermission(viewer.roles, 'fleet:read')) return undefined;
    return scrub(event, false) as LiveEvent;
  }
  if (!sessionId || !hasPermission(viewer.roles, 'sessions:read')) return undefined;
  if (parsed.kind === 'session' && parsed.sessionId !== sessionId) return undefined;
  const scope = sessionScopeOf(viewer);
  if (scope.kind !== 'all' && !(session && inScope(scope, session))) return undefined;
  return scrub(event, session !== undefined && seesLoginUrl(viewer, session)) as LiveEvent;
}

// ---------------------------------------------------------------------------------------------
// Ports and use cases

/** A connection as stored: who is on it (LiveViewer) and until when its items live. */
export interface LiveConnection extends LiveViewer {
  readonly connectionId: string;
  readonly connectedAt: string;
}

/** A subscriber of a topic: the connection and who is on it (copied onto each subscription). */
export type LiveSubscriber = LiveConnection;

/** Connections and subscriptions (the DynamoDB implementation: api/live-store.ts). */
export interface LiveStore {
  putConnection(connection: LiveConnection): Promise<void>;
  getConnection(connectionId: string): Promise<LiveConnection | undefined>;
  subscribe(connection: LiveConnection, topic: string): Promise<void>;
  unsubscribe(connectionId: string, topic: string): Promise<void>;
  /** Every connection subscribed to the topic. */
  subscribers(topic: string): Promise<LiveSubscriber[]>;
  /** The connection and all its subscriptions. */
  removeConnection(connectionId: string): Promise<void>;
}

/**
 * Delivers a message to a connection: API Gateway's management API (PostToConnection) in AWS,
 * the local stack's sockets locally. `gone` when the connection no longer exists (410).
 */
export interface ConnectionPoster {
  post(connectionId: string, message: LiveReply): Promise<'sent' | 'gone'>;
}

/** The stored session (its tenant), undefined when there is none. */
export type SessionLookup = (sessionId: string) => Promise<Pick<LabletSession, 'bookedBy'> | undefined>;

export interface LiveDeps {
  live: LiveStore;
  poster: ConnectionPoster;
  sessionOf: SessionLookup;
  clock?: () => Date;
}

/** $connect with a verified token's claims: stores the connection; false when the token names no caller. */
export async function openLiveConnection(
  deps: Pick<LiveDeps, 'live' | 'clock'>,
  connectionId: string,
  claims: Record<string, unknown>,
): Promise<LiveConnection | undefined> {
  const viewer = liveViewerOf(claims);
  if (!viewer) return undefined;
  const connection: LiveConnection = {
    connectionId,
    sub: viewer.sub,
    roles: [...viewer.roles] as Role[],
    tenant: viewer.tenant,
    connectedAt: (deps.clock?.() ?? new Date()).toISOString(),
  };
  await deps.live.putConnection(connection);
  return connection;
}

/** $disconnect: the connection and its subscriptions go. */
export async function closeLiveConnection(deps: Pick<LiveDeps, 'live'>, connectionId: string): Promise<void> {
  await deps.live.removeConnection(connectionId);
}

/**
 * A client message: subscribe or unsubscribe after the checks above; the reply is posted to the
 * connection and returned. A malformed message is a 400 naming the field.
 */
export async function handleLiveMessage(
  deps: LiveDeps,
  connectionId: string,
  body: unknown,
): Promise<LiveReply> {
  const reply = await liveReplyTo(deps, connectionId, body);
  await deps.poster.post(connectionId, reply);
  return reply;
}

async function liveReplyTo(deps: LiveDeps, connectionId: string, body: unknown): Promise<LiveReply> {
  let message: unknown = body;
  if (typeof body === 'string') {
    try {
      message = JSON.parse(body);
    } catch {
      return { type: 'error', topic: null, status: 400, detail: 'the message is not JSON' };
    }
  }
  const parsed = LiveMessageSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(message)';
    const topic = (message as { topic?: unknown } | null)?.topic;
    return {
      type: 'error',
      topic: typeof topic === 'string' ? topic : null,
      status: 400,
      detail: `${field}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const { action, topic } = parsed.data;
  const connection = await deps.live.getConnection(connectionId);
  if (!connection)
    return { type: 'error', topic, status: 403, detail: 'the connection is not authenticated' };
  if (action === 'unsubscribe') {
    await deps.live.unsubscribe(connectionId, topic);
    return { type: 'unsubscribed', topic };
  }
  const target = parseLiveTopic(topic);
  const session = target?.kind === 'session' ? await deps.sessionOf(target.sessionId) : undefined;
  const verdict = subscriptionVerdict(connection, topic, session);
  if (!verdict.ok) return { type: 'error', topic, status: verdict.status, detail: verdict.detail };
  await deps.live.subscribe(connection, topic);
  return { type: 'subscribed', topic };
}

export interface BroadcastResult {
  /** Messages posted. */
  sent: number;
  /** Connections found gone (removed). */
  gone: number;
  /** Subscribers that may not see this event. */
  withheld: number;
}

/**
 * An outbound CloudEvent to every subscriber of its topics that may see it, each its own view;
 * a gone connection (410) is removed with its subscriptions. A connection subscribed to two of
 * the event's topics (`sessions` and `session:<id>`) receives it once per topic, named.
 */
export async function broadcastLiveEvent(deps: LiveDeps, event: LiveEvent): Promise<BroadcastResult> {
  const result: BroadcastResult = { sent: 0, gone: 0, withheld: 0 };
  const topics = topicsOfEvent(event);
  if (topics.length === 0) return result;
  const sessionId = sessionIdOfEvent(event);
  let session: Promise<Pick<LabletSession, 'bookedBy'> | undefined> | undefined;
  const sessionOnce = () => {
    session ??= sessionId ? deps.sessionOf(sessionId) : Promise.resolve(undefined);
    return session;
  };
  const gone = new Set<string>();
  for (const topic of topics) {
    const subscribers = await deps.live.subscribers(topic);
    await Promise.all(
      subscribers.map(async (subscriber) => {
        if (gone.has(subscriber.connectionId)) return;
        const needsSession = sessionId !== undefined;
        const view = liveEventFor(subscriber, topic, event, needsSession ? await sessionOnce() : undefined);
        if (!view) {
          result.withheld += 1;
          return;
        }
        const outcome = await deps.poster.post(subscriber.connectionId, {
          type: 'event',
          topic,
          event: view,
        });
        if (outcome === 'sent') {
          result.sent += 1;
          return;
        }
        if (!gone.has(subscriber.connectionId)) {
          gone.add(subscriber.connectionId);
          result.gone += 1;
          await deps.live.removeConnection(subscriber.connectionId);
        }
      }),
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The rule that feeds the broadcaster

/**
 * The EventBridge rule of live updates: every CloudEvent LCM publishes (source `lcm.control-plane`)
 * to functions/websocket/broadcast.ts. It selects by source, not by type, so a new outbound type
 * reaches the sockets without a change here. The WebSocket stack (infra/lib/websocket-stack.ts)
 * creates it on LCM's bus; the local stack adds it to its bus's rules.
 */
export const LIVE_UPDATES_RULE = {
  name: 'live-updates',
  description: "LCM's outbound CloudEvents to the WebSocket subscribers (issue 14, item 3)",
  pattern: { source: [LCM_EVENT_SOURCE] },
  types: [],
  target: { module: 'functions/websocket/broadcast.ts', function: 'broadcast' },
} as const satisfies EventRule;
