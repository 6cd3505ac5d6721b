import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthenticateResult } from '@lcm/sandbox/http-gateway';
import {
  gatewayClaims,
  LOCAL_AUDIENCE,
  LOCAL_TOKEN_TTL_SECONDS,
  type LocalIdentityProvider,
  loadLocalIdentityProvider,
  SIGNING_KEY_FILE,
} from '@lcm/sandbox/local-auth';
import { rolesFromClaims } from '@lcm/shared/api';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The local identity provider on its own: key pair on disk, tokens, API Gateway's JWT checks. */

const ISSUER = 'http://127.0.0.1:3999';
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-jwt-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let idp: LocalIdentityProvider;
let keyPath: string;
beforeAll(async () => {
  keyPath = join(tempDir(), SIGNING_KEY_FILE);
  idp = await loadLocalIdentityProvider({ keyPath, issuer: ISSUER });
});

const check = (authorization?: string): Promise<AuthenticateResult> =>
  idp.authenticate({
    method: 'GET',
    path: '/v1/workers',
    headers: authorization === undefined ? {} : { authorization },
  });

const accepted = async (authorization: string) => {
  const result = await check(authorization);
  if (result === null || 'error' in result) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result;
};

describe('the signing key', () => {
  it('is an RS256 key kept owner-only in the state dir and reused on the next start', async () => {
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(keyPath, 'utf8'));
    expect(stored).toMatchObject({ alg: 'RS256', kid: idp.kid, privateJwk: { kty: 'RSA' } });
    expect(idp.jwks.keys).toEqual([
      expect.objectContaining({ kty: 'RSA', kid: idp.kid, alg: 'RS256', use: 'sig', e: 'AQAB' }),
    ]);
    // Public only.
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(idp.jwks.keys[0]).not.toHaveProperty(member);

    const token = await idp.issueToken({ sub: 'before-restart', groups: ['lcm.viewer'] });
    const restarted = await loadLocalIdentityProvider({ keyPath, issuer: ISSUER });
    expect(restarted.kid).toBe(idp.kid);
    expect(
      await restarted.authenticate({
        method: 'GET',
        path: '/',
        headers: { authorization: `Bearer ${token}` },
      }),
    ).toMatchObject({ claims: { sub: 'before-restart' } });
  });

  it('is replaced when the file is unreadable; tokens of the old key are then refused', async () => {
    const dir = tempDir();
    const path = join(dir, SIGNING_KEY_FILE);
    const first = await loadLocalIdentityProvider({ keyPath: path, issuer: ISSUER });
    const token = await first.issueToken({ sub: 'old' });
    writeFileSync(path, '{ not json');
    const second = await loadLocalIdentityProvider({ keyPath: path, issuer: ISSUER });
    expect(second.kid).not.toBe(first.kid);
    expect(JSON.parse(readFileSync(path, 'utf8')).kid).toBe(second.kid);
    expect(
      await second.authenticate({ method: 'GET', path: '/', headers: { authorization: `Bearer ${token}` } }),
    ).toEqual({ error: 'the token signature is invalid' });
  });
});

describe('role tokens', () => {
  it('one per role, shaped like Cognito access tokens, valid 30 days', async () => {
    const tokens = await idp.roleTokens();
    expect(Object.keys(tokens)).toEqual(['admin', 'operator', 'portal', 'viewer']);
    for (const [name, token] of Object.entries(tokens)) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: idp.kid, typ: 'JWT' });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({
        sub: `local-${name}`,
        'cognito:groups': [`lcm.${name}`],
        iss: ISSUER,
        aud: LOCAL_AUDIENCE,
        client_id: LOCAL_AUDIENCE,
        token_use: 'access',
      });
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(LOCAL_TOKEN_TTL_SECONDS);
      expect(rolesFromClaims((await accepted(`Bearer ${token}`)).claims)).toEqual([`lcm.${name}`]);
    }
  });
});

describe('authenticate (API Gateway JWT authorizer rules)', () => {
  it('hands the claims over as API Gateway does: strings, arrays flattened, scopes null', async () => {
    const token = await idp.issueToken({
      sub: 'u-1',
      groups: ['lcm.viewer', 'lcm.portal'],
      email_verified: true,
      custom_count: 3,
      nothing: null,
      address: { city: 'Oslo' },
    });
    const { claims, scopes } = await accepted(`Bearer ${token}`);
    expect(scopes).toBeNull();
    expect(claims).toMatchObject({
      sub: 'u-1',
      'cognito:groups': '[lcm.viewer lcm.portal]',
      email_verified: 'true',
      custom_count: '3',
      address: '{"city":"Oslo"}',
      iss: ISSUER,
      aud: LOCAL_AUDIENCE,
      token_use: 'access',
    });
    expect(claims).not.toHaveProperty('nothing');
    expect(claims.exp).toMatch(/^\d+$/);
    expect(Object.values(claims).every((v) => typeof v === 'string')).toBe(true);
    expect(rolesFromClaims(claims)).toEqual(['lcm.portal', 'lcm.viewer']);
  });

  it('accepts roles from the scope claim (machine clients)', async () => {
    const token = await idp.issueToken({ sub: 'portal-client', scope: 'lcm.portal openid' });
    const { claims } = await accepted(`Bearer ${token}`);
    expect(claims.scope).toBe('lcm.portal openid');
    expect(rolesFromClaims(claims)).toEqual(['lcm.portal']);
  });

  it('takes the token with or without the Bearer prefix', async () => {
    const token = await idp.issueToken({ sub: 'u-2' });
    expect((await accepted(token)).claims.sub).toBe('u-2');
    expect((await accepted(`bearer   ${token}`)).claims.sub).toBe('u-2');
  });

  it('no token: null (a plain 401)', async () => {
    expect(await check()).toBeNull();
    expect(await check('  ')).toBeNull();
  });

  it('refuses expired tokens, other issuers and audiences, other keys, other algorithms and garbage', async () => {
    const expired = await idp.issueToken({ sub: 'x' }, { expiresInSeconds: -10 });
    expect(await check(`Bearer ${expired}`)).toEqual({ error: 'the token has expired' });

    const otherIssuer = await idp.issueToken({ sub: 'x' }, { issuer: 'https://evil.example' });
    expect(await check(`Bearer ${otherIssuer}`)).toEqual({ error: 'the token does not have a valid issuer' });

    const otherAudience = await idp.issueToken({ sub: 'x' }, { audience: 'another-app' });
    expect(await check(`Bearer ${otherAudience}`)).toEqual({
      error: 'the token does not have a valid audience',
    });

    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'x', aud: LOCAL_AUDIENCE, 'cognito:groups': ['lcm.admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
      .setIssuer(ISSUER)
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await check(`Bearer ${forged}`)).toEqual({ error: 'the token signature is invalid' });

    const hmac = await new SignJWT({ sub: 'x', aud: LOCAL_AUDIENCE })
      .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
      .setIssuer(ISSUER)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'));
    expect(await check(`Bearer ${hmac}`)).toEqual({ error: 'the token is not signed with RS256' });

    const noExp = await new SignJWT({ sub: 'x', aud: LOCAL_AUDIENCE })
      .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
      .setIssuer(ISSUER)
      .sign(await importPrivate());
    expect(await check(`Bearer ${noExp}`)).toEqual({ error: 'the token has an invalid exp claim' });

    const future = await idp.issueToken({ sub: 'x', nbf: Math.floor(Date.now() / 1000) + 3600 });
    expect(await check(`Bearer ${future}`)).toEqual({ error: 'the token is not valid yet' });

    for (const garbage of ['Bearer abc', 'Bearer a.b.c', 'Basic dXNlcjpwYXNz', `Bearer ${expired}x`]) {
      const result = await check(garbage);
      expect(result, garbage).not.toBeNull();
      expect(result && 'error' in result, garbage).toBe(true);
    }
  });

  it('checks the audience like API Gateway: aud when present, else client_id', async () => {
    const noAud = await idp.issueToken({ sub: 'x' }, { audience: null });
    expect(decodeJwt(noAud)).not.toHaveProperty('aud');
    expect(await check(`Bearer ${noAud}`)).toEqual({ error: 'the token does not have a valid audience' });

    const key = await importPrivate();
    const sign = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
        .setIssuer(ISSUER)
        .setExpirationTime('1h')
        .sign(key);
    // No aud: client_id decides.
    expect((await accepted(`Bearer ${await sign({ sub: 'c', client_id: LOCAL_AUDIENCE })}`)).claims.sub).toBe(
      'c',
    );
    // aud present and wrong: a matching client_id does not rescue it.
    expect(
      await check(`Bearer ${await sign({ sub: 'c', aud: 'other', client_id: LOCAL_AUDIENCE })}`),
    ).toEqual({
      error: 'the token does not have a valid audience',
    });
    // aud as a list containing the audience.
    expect(
      (await accepted(`Bearer ${await sign({ sub: 'd', aud: ['x', LOCAL_AUDIENCE] })}`)).claims.aud,
    ).toBe(`[x ${LOCAL_AUDIENCE}]`);
  });
});

describe('gatewayClaims', () => {
  it('renders values the way API Gateway does', () => {
    expect(
      gatewayClaims({
        s: 'a b',
        n: 1.5,
        t: false,
        a: ['x', 2, true],
        e: [],
        o: { k: [1] },
        z: null,
        u: undefined,
      }),
    ).toEqual({ s: 'a b', n: '1.5', t: 'false', a: '[x 2 true]', e: '[]', o: '{"k":[1]}' });
  });
});

async function importPrivate() {
  const { importJWK } = await import('jose');
  const stored = JSON.parse(readFileSync(keyPath, 'utf8'));
  return importJWK(stored.privateJwk, 'RS256');
}
