import { randomBytes, randomUUID } from 'node:crypto';
import { header, type SimReply, type SimRequest } from '../common.ts';
import type { CmlAuthedCall, CmlCall, CmlSimState } from './model.ts';
import { fail, ok } from './reply.ts';

/**
 * Token auth as CML does it: `POST /authenticate` answers a bare JSON string (a JWT-shaped
 * token), `POST /auth_extended` an object; every other call but `system_information` needs
 * `Authorization: Bearer <token>` (401 without it or when expired or invalidated).
 */

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function issueToken(sim: CmlSimState, username: string): string {
  const exp = Date.now() + sim.tokenTtlMs;
  const token = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: username, exp: Math.floor(exp / 1000), jti: randomUUID() })}.${randomBytes(24).toString('base64url')}`;
  sim.tokens.set(token, { username, expiresAt: exp });
  return token;
}

/** The user a request's bearer token belongs to; 401 when there is none or it is not valid. */
export function bearer(sim: CmlSimState, req: SimRequest): string {
  const auth = header(req, 'authorization');
  if (!auth) throw fail(401, 'No authorization token provided.');
  const m = /^Bearer\s+(.+)$/i.exec(auth);
  const entry = m ? sim.tokens.get(m[1]!) : undefined;
  if (!m || !entry || entry.expiresAt <= Date.now()) {
    if (m) sim.tokens.delete(m[1]!);
    throw fail(401, 'Authorization token is invalid or expired.');
  }
  return entry.username;
}

function credentialsOf(sim: CmlSimState, req: SimRequest): string {
  const body = req.json();
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (typeof b.username !== 'string' || typeof b.password !== 'string') {
    throw fail(400, 'username and password are required');
  }
  if (!Object.hasOwn(sim.users, b.username) || sim.users[b.username] !== b.password) {
    throw fail(403, 'Authentication failed!');
  }
  return b.username;
}

/** `POST /authenticate`, `POST /auth_extended` (no token needed). */
export function loginRoutes(sim: CmlSimState, { req, path: p, method: m }: CmlCall): SimReply | undefined {
  if (p === '/authenticate' && m === 'POST') return ok(issueToken(sim, credentialsOf(sim, req)));
  if (p === '/auth_extended' && m === 'POST') {
    const username = credentialsOf(sim, req);
    return ok({
      username,
      id: randomUUID(),
      token: issueToken(sim, username),
      admin: sim.admins.has(username),
      error: null,
    });
  }
  return undefined;
}

/** `GET /authok`, `DELETE /logout` (token checked). */
export function tokenRoutes(
  sim: CmlSimState,
  { req, path: p, method: m }: CmlAuthedCall,
): SimReply | undefined {
  if (p === '/authok' && m === 'GET') return ok(null);
  if (p === '/logout' && m === 'DELETE') {
    const token = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1];
    if (token) sim.tokens.delete(token);
    return ok(true);
  }
  return undefined;
}
