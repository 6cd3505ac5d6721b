import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ROLE_SCOPES, ROLES, type Role } from '@lcm/shared/api';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Authenticate, AuthenticateResult, JwtAuthorizer } from './http-gateway.ts';

/**
 * The local stack's identity provider: what Cognito and the HTTP API's JWT authorizer do in AWS.
 *
 * - An RS256 key pair (API Gateway accepts RSA keys only) is kept in `<stateDir>/jwt-signing-key.json`
 *   (mode 0600) and reused at every start, so a token copied from `.lcm/local.json` keeps working
 *   after a restart until it expires (30 days), provided the stack comes back on the same port:
 *   the issuer is the API's base URL. Delete the file to revoke every local token; a missing or
 *   unreadable file is replaced by a new key pair.
 * - The gateway serves the public key at `/.well-known/jwks.json` and an OIDC discovery document
 *   at `/.well-known/openid-configuration` (`issuer`, `jwks_uri`), as an OIDC issuer does.
 * - One token per role (`admin`, `operator`, `portal`, `viewer`) shaped like a Cognito access
 *   token: `sub`, `cognito:groups: ["lcm.<role>"]`, `client_id` and `aud` (the audience),
 *   `token_use: access`. They share one `client_id`, so locally they are one client (tenant);
 *   `issueToken` with a `client_id` claim makes a token of another client, e.g. a second portal.
 * - A client-credentials token of a machine client (`clientCredentialsToken`), shaped like the one
 *   Cognito's token endpoint gives the reservation portal's app client: `sub` and `client_id` the
 *   client's id, the granted scopes in `scope` (`lcm/sessions.create ...`, ROLE_SCOPES), no `aud`,
 *   no user, no groups; the handlers resolve it to the role its scopes grant. The machine clients
 *   the API accepts are the audience's siblings, `machineClients` (default one, the portal,
 *   `lcm-local-portal`), as the AWS API accepts its portal app client's id as an audience.
 * - `authenticate` checks a request as API Gateway's JWT authorizer does: the `Authorization`
 *   header (with or without `Bearer `), signature against the JWKS, RS256 only, issuer, `exp`
 *   (required) and `nbf`, and the audience: `aud` must name the audience, or when there is no
 *   `aud`, `client_id` must. Failures are 401 `{"message":"Unauthorized"}` with a
 *   `www-authenticate` header that says why.
 * - Accepted claims reach the handler as API Gateway passes them: every value a string, arrays
 *   flattened to `[a b]`, numbers and booleans stringified, nulls dropped, objects as JSON text;
 *   `scopes` is null because LCM's routes configure no authorization scopes (API Gateway fills it
 *   only for routes that do). Roles therefore come from `cognito:groups` or the `scope` claim.
 */

export const LOCAL_AUDIENCE = 'lcm-local';
/** The reservation portal's machine client locally (client-credentials tokens). */
export const LOCAL_PORTAL_CLIENT_ID = 'lcm-local-portal';
export const LOCAL_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
export const SIGNING_KEY_FILE = 'jwt-signing-key.json';
export const JWKS_PATH = '/.well-known/jwks.json';
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';
const ALG = 'RS256';

/** `lcm.admin` → `admin`: the names of the tokens in local.json. */
export const roleTokenName = (role: Role): string => role.replace(/^lcm\./, '');

export interface TokenClaims {
  sub: string;
  /** Written as `cognito:groups`. */
  groups?: readonly string[];
  /** Space-separated scopes (`scope` claim), as machine clients get them. */
  scope?: string;
  [claim: string]: unknown;
}

export interface IssueOptions {
  /** Default 30 days; negative for an already expired token (tests). */
  expiresInSeconds?: number;
  audience?: string | null;
  issuer?: string;
}

export interface ClientCredentialsOptions {
  /** The app client's id: `sub` and `client_id` of the token. */
  clientId: string;
  /** The scopes granted (default: every scope of the `lcm.portal` role). */
  scopes?: readonly string[];
  expiresInSeconds?: number;
}

export interface LocalIdentityProvider {
  readonly keyPath: string;
  readonly kid: string;
  readonly audience: string;
  /** Machine clients whose client-credentials tokens the API accepts (`client_id` as audience). */
  readonly machineClients: readonly string[];
  /** The issuer (the API's base URL) once `bind` was called. */
  readonly issuer: string | undefined;
  /** The public keys, as served at /.well-known/jwks.json. */
  readonly jwks: JSONWebKeySet;
  /** Sets the issuer: the URL the gateway listens on. */
  bind(issuer: string): void;
  openIdConfiguration(): Record<string, unknown>;
  issueToken(claims: TokenClaims, opts?: IssueOptions): Promise<string>;
  /** A client-credentials access token of a machine client, as Cognito's token endpoint issues it. */
  clientCredentialsToken(opts: ClientCredentialsOptions): Promise<string>;
  /** One token per role, keyed `admin`, `operator`, `portal`, `viewer`. */
  roleTokens(): Promise<Record<string, string>>;
  authenticate: Authenticate;
}

interface StoredKey {
  alg: typeof ALG;
  kid: string;
  createdAt: string;
  privateJwk: JWK;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;

function publicJwkOf(privateJwk: JWK, kid: string): JWK {
  const jwk: JWK = { ...privateJwk };
  for (const member of PRIVATE_MEMBERS) delete (jwk as Record<string, unknown>)[member];
  return { ...jwk, kid, alg: ALG, use: 'sig' };
}

function readStoredKey(path: string): StoredKey | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const stored = JSON.parse(text) as StoredKey;
    if (stored.alg !== ALG || typeof stored.kid !== 'string' || stored.privateJwk?.kty !== 'RSA') {
      return undefined;
    }
    return stored;
  } catch {
    return undefined;
  }
}

async function newStoredKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwkOf(privateJwk, ''), 'sha256');
  return { alg: ALG, kid, createdAt: new Date().toISOString(), privateJwk };
}

function writeStoredKey(path: string, key: StoredKey): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export interface LocalIdentityProviderOptions {
  /** Where the key pair is kept (`<stateDir>/jwt-signing-key.json`). */
  keyPath: string;
  audience?: string;
  /** Default [LOCAL_PORTAL_CLIENT_ID]. */
  machineClients?: readonly string[];
  /** Known up front (else set by `bind`). */
  issuer?: string;
  log?: (line: string) => void;
}

export async function loadLocalIdentityProvider(
  opts: LocalIdentityProviderOptions,
): Promise<LocalIdentityProvider> {
  const audience = opts.audience ?? LOCAL_AUDIENCE;
  const machineClients = [...(opts.machineClients ?? [LOCAL_PORTAL_CLIENT_ID])];
  let stored = readStoredKey(opts.keyPath);
  if (!stored) {
    stored = await newStoredKey();
    writeStoredKey(opts.keyPath, stored);
    opts.log?.(`lcm: new JWT signing key ${stored.kid} in ${opts.keyPath}`);
  }
  const { kid } = stored;
  const privateKey = await importJWK(stored.privateJwk, ALG);
  const jwks: JSONWebKeySet = { keys: [publicJwkOf(stored.privateJwk, kid)] };
  const keySet = createLocalJWKSet(jwks);
  let issuer = opts.issuer;

  const issueToken = async (claims: TokenClaims, o: IssueOptions = {}): Promise<string> => {
    const iss = o.issuer ?? issuer;
    if (!iss) throw new Error('the identity provider has no issuer yet (bind it to the API URL)');
    const { sub, groups, scope, ...rest } = claims;
    const now = Math.floor(Date.now() / 1000);
    const aud = o.audience === undefined ? audience : o.audience;
    const payload: JWTPayload = {
      ...rest,
      ...(groups ? { 'cognito:groups': [...groups] } : {}),
      ...(scope !== undefined ? { scope } : {}),
      token_use: 'access',
      // A `client_id` among the claims names another client (a second portal); else the audience's.
      ...(aud !== null && rest.client_id === undefined ? { client_id: aud } : {}),
      username: sub,
      auth_time: now,
    };
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(iss)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + (o.expiresInSeconds ?? LOCAL_TOKEN_TTL_SECONDS));
    if (aud !== null) jwt.setAudience(aud);
    return jwt.sign(privateKey);
  };

  const clientCredentialsToken = async (o: ClientCredentialsOptions): Promise<string> => {
    const iss = issuer;
    if (!iss) throw new Error('the identity provider has no issuer yet (bind it to the API URL)');
    const now = Math.floor(Date.now() / 1000);
    // Cognito's client-credentials access token: no aud, no username, no groups.
    return new SignJWT({
      client_id: o.clientId,
      token_use: 'access',
      scope: [...(o.scopes ?? ROLE_SCOPES['lcm.portal'])].join(' '),
      auth_time: now,
      version: 2,
    })
      .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
      .setSubject(o.clientId)
      .setIssuer(iss)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + (o.expiresInSeconds ?? 3600))
      .sign(privateKey);
  };

  const authenticate: Authenticate = async (call): Promise<AuthenticateResult> => {
    const header = call.headers.authorization;
    if (header === undefined || header.trim() === '') return null;
    const token = header.trim().replace(/^bearer\s+/i, '');
    if (!issuer) return { error: 'the authorizer is not ready' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer,
        algorithms: [ALG],
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      return { error: describeFailure(e) };
    }
    if (!hasValidAudience(payload, [audience, ...machineClients])) {
      return { error: 'the token does not have a valid audience' };
    }
    return { claims: gatewayClaims(payload), scopes: null } satisfies JwtAuthorizer['jwt'];
  };

  return {
    keyPath: opts.keyPath,
    kid,
    audience,
    machineClients,
    get issuer() {
      return issuer;
    },
    jwks,
    bind(url: string) {
      issuer = url.replace(/\/+$/, '');
    },
    openIdConfiguration() {
      if (!issuer) throw new Error('the identity provider has no issuer yet');
      return {
        issuer,
        jwks_uri: `${issuer}${JWKS_PATH}`,
        id_token_signing_alg_values_supported: [ALG],
        token_endpoint_auth_methods_supported: ['none'],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'cognito:groups', 'scope', 'client_id'],
      };
    },
    issueToken,
    clientCredentialsToken,
    async roleTokens() {
      const tokens: Record<string, string> = {};
      for (const role of ROLES) {
        const name = roleTokenName(role);
        tokens[name] = await issueToken({ sub: `local-${name}`, groups: [role] });
      }
      return tokens;
    },
    authenticate,
  };
}

/** API Gateway: `aud` must match one audience; only without `aud` is `client_id` checked. */
function hasValidAudience(payload: JWTPayload, audiences: readonly string[]): boolean {
  if (payload.aud !== undefined) {
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return auds.some((a) => audiences.includes(a));
  }
  const clientId = payload.client_id;
  return typeof clientId === 'string' && audiences.includes(clientId);
}

function describeFailure(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'the token has expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'iss') return 'the token does not have a valid issuer';
    if (e.claim === 'nbf') return 'the token is not valid yet';
    return `the token has an invalid ${e.claim} claim`;
  }
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey) {
    return 'the token signature is invalid';
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return 'the token is not signed with RS256';
  return 'the token is malformed';
}

/** Claim values as API Gateway's JWT authorizer hands them to the integration. */
export function gatewayClaims(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    const text = claimText(value);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

function claimText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    return `[${value.map((v) => (typeof v === 'string' ? v : (claimText(v) ?? 'null'))).join(' ')}]`;
  }
  return JSON.stringify(value);
}
