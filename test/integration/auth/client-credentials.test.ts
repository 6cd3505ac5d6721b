import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_PORTAL_CLIENT_ID, loadLocalIdentityProvider, SIGNING_KEY_FILE } from '@lcm/sandbox/local-auth';
import { ROLE_SCOPES } from '@lcm/shared/api';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthTestStack, startAuthTestStack } from './stack.ts';

/**
 * The reservation portal as a machine client (issue 12, item 7), over HTTP through the real local
 * gateway: the client-credentials token the local issuer writes to local.json (`clients.portal`),
 * shaped like Cognito's (sub = client_id = the app client, the portal role's scopes, no aud, no
 * groups), is granted the portal role by its scopes: it books and reads its own sessions, never
 * another client's, and is refused every route the portal role may not call.
 */

let env: AuthTestStack;
let machineToken: string;
beforeAll(async () => {
  env = await startAuthTestStack('auth-m2m');
  const local = JSON.parse(readFileSync(join(env.stack.stateDir, 'local.json'), 'utf8')) as {
    clients: { portal: { clientId: string; token: string } };
  };
  expect(local.clients.portal.clientId).toBe(LOCAL_PORTAL_CLIENT_ID);
  machineToken = local.clients.portal.token;
  await env.stack.resources.seed;
}, 120_000);
afterAll(async () => {
  await env?.stop();
}, 60_000);

const send = async (token: string | undefined, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${env.apiUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
};

/** A booking two hours ahead: the workflow waits for the timeslot (nothing else runs). */
const booking = (reservationId: string) => {
  const start = Date.now() + 2 * 3600_000;
  return {
    definitionId: 'demo-console-practice',
    reservationId,
    owner: { userId: `u-${reservationId}`, email: `${reservationId}@example.com` },
    timeslot: { start: new Date(start).toISOString(), end: new Date(start + 10 * 60_000).toISOString() },
  };
};

describe('a portal client-credentials token', () => {
  it('is shaped like Cognito’s: the client as sub and client_id, the portal scopes, no aud, no groups', () => {
    const claims = decodeJwt(machineToken);
    expect(claims).toMatchObject({
      sub: LOCAL_PORTAL_CLIENT_ID,
      client_id: LOCAL_PORTAL_CLIENT_ID,
      token_use: 'access',
    });
    expect((claims.scope as string).split(' ')).toEqual([...ROLE_SCOPES['lcm.portal']]);
    expect(claims).not.toHaveProperty('aud');
    expect(claims).not.toHaveProperty('cognito:groups');
    expect(claims).not.toHaveProperty('username');
  });

  it('books and reads only its own session, and is refused the routes the portal role may not call', async () => {
    const stamp = Date.now();
    // Another client's session: the local portal user token (client_id lcm-local).
    const other = await send(env.tokens.portal, 'POST', '/v1/sessions', booking(`m2m-other-${stamp}`));
    expect(other.status, other.text).toBe(201);
    const otherId = other.json.id as string;

    const own = await send(machineToken, 'POST', '/v1/sessions', booking(`m2m-own-${stamp}`));
    expect(own.status, own.text).toBe(201);
    const ownId = own.json.id as string;
    expect(own.json.bookedBy).toBe(LOCAL_PORTAL_CLIENT_ID);

    const read = await send(machineToken, 'GET', `/v1/sessions/${ownId}`);
    expect(read.status, read.text).toBe(200);
    expect(read.json).toMatchObject({ id: ownId, bookedBy: LOCAL_PORTAL_CLIENT_ID });
    expect((await send(machineToken, 'GET', `/v1/reservations/m2m-own-${stamp}`)).status).toBe(200);
    const list = await send(machineToken, 'GET', '/v1/sessions?limit=100');
    expect(list.status, list.text).toBe(200);
    const ids = (list.json.items as { id: string }[]).map((s) => s.id);
    expect(ids).toContain(ownId);
    expect(ids).not.toContain(otherId);

    // The other client's session is a 404, to read, look up and terminate.
    expect((await send(machineToken, 'GET', `/v1/sessions/${otherId}`)).status).toBe(404);
    expect((await send(machineToken, 'GET', `/v1/reservations/m2m-other-${stamp}`)).status).toBe(404);
    expect((await send(machineToken, 'POST', `/v1/sessions/${otherId}/terminate`, {})).status).toBe(404);
    expect((await send(env.tokens.admin, 'GET', `/v1/sessions/${otherId}`)).json).not.toHaveProperty(
      'terminationRequestedAt',
    );

    // Admin and operator routes: 403 naming the permission.
    for (const [method, path, body] of [
      ['GET', '/v1/workers', undefined],
      ['GET', '/v1/worker-templates', undefined],
      ['POST', '/v1/worker-templates', {}],
      ['POST', '/v1/definitions', {}],
      ['GET', '/v1/fleet/capacity', undefined],
      ['POST', `/v1/sessions/${ownId}/observe`, {}],
    ] as const) {
      const res = await send(machineToken, method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.json.detail).toMatch(/needs the permission/);
    }

    // Its own session it may terminate.
    const terminated = await send(machineToken, 'POST', `/v1/sessions/${ownId}/terminate`, { reason: 'm2m' });
    expect(terminated.status, terminated.text).toBe(202);
  }, 60_000);

  it('grants nothing with a scope short, and is refused (401) for a client the API does not know', async () => {
    const { iss } = decodeJwt(machineToken);
    const idp = await loadLocalIdentityProvider({
      keyPath: join(env.stack.stateDir, SIGNING_KEY_FILE),
      issuer: iss as string,
    });
    const short = await idp.clientCredentialsToken({
      clientId: LOCAL_PORTAL_CLIENT_ID,
      scopes: ROLE_SCOPES['lcm.portal'].filter((s) => s !== 'lcm/sessions.create'),
    });
    const res = await send(short, 'POST', '/v1/sessions', booking(`m2m-short-${Date.now()}`));
    expect(res.status, res.text).toBe(403);
    expect((await send(short, 'GET', '/v1/definitions')).status).toBe(403);

    const stranger = await idp.clientCredentialsToken({ clientId: 'not-an-app-client' });
    const refused = await send(stranger, 'GET', '/v1/definitions');
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ message: 'Unauthorized' });
  });
});
