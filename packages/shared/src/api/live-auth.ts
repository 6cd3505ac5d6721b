import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

/**
 * The WebSocket API's token check on $connect (issue 14, item 3). Browsers cannot set headers on a
 * WebSocket, so the access token comes as the `token` query parameter, and the connect handler
 * checks it as the HTTP API's JWT authorizer checks the `Authorization` header: RS256 signature
 * against the issuer's JWKS (`<issuer>/.well-known/jwks.json`, Cognito's and the local issuer's),
 * the issuer, `exp` (required) and `nbf`, and the audience: `aud` must name one of the audiences,
 * or, without `aud` (Cognito access tokens), `client_id` must.
 */
export interface LiveTokenCheck {
  readonly issuer: string;
  readonly audiences: readonly string[];
}

export type LiveTokenVerdict = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The issuer's key set, fetched once per process (jose caches and refreshes it). */
const keySetOf = (issuer: string) => {
  let set = keySets.get(issuer);
  if (!set) {
    set = createRemoteJWKSet(new URL(`${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`));
    keySets.set(issuer, set);
  }
  return set;
};

export async function verifyLiveToken(
  token: string | undefined,
  check: LiveTokenCheck,
): Promise<LiveTokenVerdict> {
  if (!token) return { ok: false, reason: 'no token (connect with ?token=<access token>)' };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySetOf(check.issuer), {
      issuer: check.issuer.replace(/\/+$/, ''),
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
    }));
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if (!hasAudience(payload, check.audiences))
    return { ok: false, reason: 'the token does not have a valid audience' };
  return { ok: true, claims: payload as Record<string, unknown> };
}

function hasAudience(payload: JWTPayload, audiences: readonly string[]): boolean {
  if (payload.aud !== undefined) {
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return auds.some((a) => audiences.includes(a));
  }
  return typeof payload.client_id === 'string' && audiences.includes(payload.client_id);
}
