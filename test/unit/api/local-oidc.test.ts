import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalIdentityProvider, loadLocalIdentityProvider } from '@lcm/sandbox/local-auth';
import { createLocalOidc, LOCAL_CONSOLE_CLIENT_ID, pkceChallengeOf } from '@lcm/sandbox/local-oidc';
import { rolesFromClaims } from '@lcm/shared/api';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The local issuer's authorization code + PKCE flow over real HTTP (issue 14, item 2). */

let dir: string;
let server: Server;
let base: string;
let identity: LocalIdentityProvider;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lcm-oidc-'));
  identity = await loadLocalIdentityProvider({ keyPath: join(dir, 'key.json') });
  const oidc = createLocalOidc({ identity });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    void oidc.handle(req, res, url.pathname, req.method ?? 'GET').then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  identity.bind(base);
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const verifier = () => randomBytes(32).toString('base64url');

function authorizeParams(challenge: string, redirectUri = `${base}/`) {
  return new URLSearchParams({
    response_type: 'code',
    client_id: LOCAL_CONSOLE_CLIENT_ID,
    redirect_uri: redirectUri,
    state: 'st-1',
    nonce: 'n-1',
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
}

/** Picks a role on the login page (the form's POST); returns the code from the redirect. */
async function signIn(role: string, challenge: string): Promise<string> {
  const page = await fetch(`${base}/oauth2/authorize?${authorizeParams(challenge)}`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain(`value="${role}"`);
  const form = authorizeParams(challenge);
  form.set('role', role);
  const res = await fetch(`${base}/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(location.origin + location.pathname).toBe(`${base}/`);
  expect(location.searchParams.get('state')).toBe('st-1');
  return location.searchParams.get('code') ?? '';
}

const exchange = (code: string, codeVerifier: string) =>
  fetch(`${base}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${base}/`,
      client_id: LOCAL_CONSOLE_CLIENT_ID,
      code_verifier: codeVerifier,
    }),
  });

describe('local OIDC: authorization code with PKCE', () => {
  it('authorize → code → token with the verifier: the role’s access token and an ID token', async () => {
    const v = verifier();
    const code = await signIn('lcm.operator', pkceChallengeOf(v));
    const res = await exchange(code, v);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const access = decodeJwt(body.access_token as string);
    expect(access).toMatchObject({ iss: base, aud: identity.audience, sub: 'local-operator' });
    expect(rolesFromClaims(access)).toEqual(['lcm.operator']);
    // The API's authorizer accepts it like the printed role tokens.
    const verdict = await identity.authenticate({
      method: 'GET',
      path: '/v1/workers',
      headers: { authorization: `Bearer ${body.access_token as string}` },
    });
    expect(verdict && !('error' in verdict)).toBe(true);
    const id = decodeJwt(body.id_token as string);
    expect(id).toMatchObject({
      iss: base,
      aud: LOCAL_CONSOLE_CLIENT_ID,
      nonce: 'n-1',
      sub: 'local-operator',
    });
    // A code is single use.
    expect((await exchange(code, v)).status).toBe(400);
  });

  it('a wrong verifier is 400 invalid_grant, and burns the code', async () => {
    const v = verifier();
    const code = await signIn('lcm.viewer', pkceChallengeOf(v));
    const wrong = await exchange(code, verifier());
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await exchange(code, v)).status).toBe(400);
  });

  it('refuses a foreign redirect URI, another client and a missing challenge', async () => {
    const c = pkceChallengeOf(verifier());
    const foreign = await fetch(`${base}/oauth2/authorize?${authorizeParams(c, 'https://evil.example/')}`);
    expect(foreign.status).toBe(400);
    const other = authorizeParams(c);
    other.set('client_id', 'someone-else');
    expect((await fetch(`${base}/oauth2/authorize?${other}`)).status).toBe(400);
    const plain = authorizeParams(c);
    plain.delete('code_challenge');
    expect((await fetch(`${base}/oauth2/authorize?${plain}`)).status).toBe(400);
    // Vite's dev server is an allowed origin.
    expect(
      (await fetch(`${base}/oauth2/authorize?${authorizeParams(c, 'http://localhost:5173/')}`)).status,
    ).toBe(200);
  });
});
