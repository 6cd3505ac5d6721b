import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROLES, type Role } from '@lcm/shared/api';
import { type LocalIdentityProvider, roleTokenName } from './local-auth.ts';

/**
 * The local issuer's sign-in for the console (issue 14, item 2): OAuth 2.0 authorization code
 * with PKCE (S256), what Cognito's hosted UI does in AWS, with a login page that lets a developer
 * pick a role instead of a password.
 *
 * - GET `/oauth2/authorize?response_type=code&client_id=lcm-local-console&redirect_uri=…&state=…
 *   &code_challenge=…&code_challenge_method=S256` shows the page (one button per role); the form
 *   posts back to `/oauth2/authorize`, which redirects to `redirect_uri?code=…&state=…`.
 * - POST `/oauth2/token` (form: `grant_type=authorization_code`, `code`, `redirect_uri`,
 *   `client_id`, `code_verifier`) answers `{access_token, id_token, token_type, expires_in}`; the
 *   access token is the one the local stack prints for that role (same claims, same audience),
 *   the ID token is for the console client (`aud` its id, `nonce` when given). A wrong verifier, a
 *   used or expired code, another client or redirect URI: 400 `invalid_grant` (RFC 6749 §5.2).
 * - Redirect URIs: any path on an allowed origin (the API's own, where `npm start` serves the
 *   console, and Vite's dev server `http://localhost:5173`). Codes live 60 s and are single use.
 */

export const LOCAL_CONSOLE_CLIENT_ID = 'lcm-local-console';
export const AUTHORIZE_PATH = '/oauth2/authorize';
export const TOKEN_PATH = '/oauth2/token';
export const LOGOUT_PATH = '/logout';
export const VITE_DEV_ORIGIN = 'http://localhost:5173';
const CODE_TTL_MS = 60_000;
/** The tokens the console gets live an hour, as Cognito's default access token does. */
const CONSOLE_TOKEN_TTL_SECONDS = 3600;

interface PendingCode {
  role: Role;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | undefined;
  expiresAt: number;
}

export interface LocalOidcOptions {
  identity: LocalIdentityProvider;
  /** Origins whose URLs may be redirect URIs (the API's base URL is added when known). */
  origins?: readonly string[];
  clientId?: string;
  now?: () => number;
}

export interface LocalOidc {
  readonly clientId: string;
  /** The endpoints for the discovery document. */
  discovery(): Record<string, string>;
  /** Answers the OAuth requests; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean>;
}

export const pkceChallengeOf = (verifier: string): string =>
  createHash('sha256').update(verifier).digest('base64url');

export function createLocalOidc(opts: LocalOidcOptions): LocalOidc {
  const clientId = opts.clientId ?? LOCAL_CONSOLE_CLIENT_ID;
  const now = opts.now ?? Date.now;
  const codes = new Map<string, PendingCode>();
  const issuer = () => {
    const iss = opts.identity.issuer;
    if (!iss) throw new Error('the identity provider has no issuer yet');
    return iss;
  };
  const allowedOrigins = () => new Set([new URL(issuer()).origin, ...(opts.origins ?? [VITE_DEV_ORIGIN])]);

  const redirectAllowed = (uri: string): boolean => {
    try {
      const url = new URL(uri);
      return allowedOrigins().has(url.origin) && url.hash === '';
    } catch {
      return false;
    }
  };

  /** The authorize request's parameters, or the reason it is refused (shown, never redirected). */
  const checkAuthorize = (p: URLSearchParams): { error: string } | { ok: true } => {
    if (p.get('client_id') !== clientId) return { error: `client_id must be ${clientId}` };
    const redirectUri = p.get('redirect_uri') ?? '';
    if (!redirectAllowed(redirectUri)) {
      return { error: `redirect_uri must be on ${[...allowedOrigins()].join(' or ')}` };
    }
    if (p.get('response_type') !== 'code') return { error: 'response_type must be code' };
    if (!p.get('code_challenge')) return { error: 'code_challenge is required (PKCE)' };
    if ((p.get('code_challenge_method') ?? 'plain') !== 'S256')
      return { error: 'code_challenge_method must be S256' };
    return { ok: true };
  };

  const authorizePage = (res: ServerResponse, p: URLSearchParams) => {
    const hidden = [...p.entries()]
      .filter(([k]) => k !== 'role')
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('\n      ');
    const buttons = ROLES.map(
      (r) => `<button type="submit" name="role" value="${r}">${escapeHtml(roleTokenName(r))}</button>`,
    ).join('\n        ');
    const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>LCM local sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;cursor:pointer}</style></head>
<body>
  <main>
    <h1>Sign in to LCM (local)</h1>
    <p>The local issuer signs you in with the role you pick; no password.</p>
    <form method="post" action="${AUTHORIZE_PATH}">
      ${hidden}
      <fieldset>
        <legend>Role</legend>
        ${buttons}
      </fieldset>
    </form>
  </main>
</body>
</html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    });
    res.end(html);
  };

  const oauthError = (
    res: ServerResponse,
    status: number,
    error: string,
    description: string,
    cors?: string,
  ) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(cors ? { 'access-control-allow-origin': cors } : {}),
    });
    res.end(JSON.stringify({ error, error_description: description }));
  };

  const corsOrigin = (req: IncomingMessage): string | undefined => {
    const origin = req.headers.origin;
    return typeof origin === 'string' && allowedOrigins().has(origin) ? origin : undefined;
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const cors = corsOrigin(req);
    const form = new URLSearchParams(await readText(req));
    if (form.get('grant_type') !== 'authorization_code') {
      oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be authorization_code', cors);
      return;
    }
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    if (!pending || pending.expiresAt < now()) {
      oauthError(res, 400, 'invalid_grant', 'code is unknown, used or expired', cors);
      return;
    }
    if (form.get('client_id') !== pending.clientId) {
      oauthError(res, 400, 'invalid_grant', 'client_id does not match the code', cors);
      return;
    }
    if (form.get('redirect_uri') !== pending.redirectUri) {
      oauthError(res, 400, 'invalid_grant', 'redirect_uri does not match the code', cors);
      return;
    }
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || pkceChallengeOf(verifier) !== pending.codeChallenge) {
      oauthError(res, 400, 'invalid_grant', 'code_verifier does not match the code_challenge', cors);
      return;
    }
    const name = roleTokenName(pending.role);
    const claims = { sub: `local-${name}`, groups: [pending.role] };
    const accessToken = await opts.identity.issueToken(claims, {
      expiresInSeconds: CONSOLE_TOKEN_TTL_SECONDS,
    });
    const idToken = await opts.identity.issueToken(
      {
        ...claims,
        token_use: 'id',
        client_id: pending.clientId,
        'cognito:username': `local-${name}`,
        ...(pending.nonce ? { nonce: pending.nonce } : {}),
      },
      { expiresInSeconds: CONSOLE_TOKEN_TTL_SECONDS, audience: pending.clientId },
    );
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...(cors ? { 'access-control-allow-origin': cors } : {}),
    });
    res.end(
      JSON.stringify({
        access_token: accessToken,
        id_token: idToken,
        token_type: 'Bearer',
        expires_in: CONSOLE_TOKEN_TTL_SECONDS,
      }),
    );
  };

  return {
    clientId,
    discovery() {
      const iss = issuer();
      return {
        authorization_endpoint: `${iss}${AUTHORIZE_PATH}`,
        token_endpoint: `${iss}${TOKEN_PATH}`,
        end_session_endpoint: `${iss}${LOGOUT_PATH}`,
      };
    },
    async handle(req, res, path, method) {
      if (path === AUTHORIZE_PATH && method === 'GET') {
        const params = new URL(req.url ?? '/', 'http://local').searchParams;
        const verdict = checkAuthorize(params);
        if ('error' in verdict) oauthError(res, 400, 'invalid_request', verdict.error);
        else authorizePage(res, params);
        return true;
      }
      if (path === AUTHORIZE_PATH && method === 'POST') {
        const form = new URLSearchParams(await readText(req));
        const verdict = checkAuthorize(form);
        const role = form.get('role');
        if ('error' in verdict) {
          oauthError(res, 400, 'invalid_request', verdict.error);
          return true;
        }
        if (!role || !(ROLES as readonly string[]).includes(role)) {
          oauthError(res, 400, 'invalid_request', `role must be one of ${ROLES.join(', ')}`);
          return true;
        }
        const code = randomBytes(24).toString('base64url');
        const redirectUri = form.get('redirect_uri') as string;
        codes.set(code, {
          role: role as Role,
          clientId,
          redirectUri,
          codeChallenge: form.get('code_challenge') as string,
          nonce: form.get('nonce') ?? undefined,
          expiresAt: now() + CODE_TTL_MS,
        });
        for (const [c, p] of codes) if (p.expiresAt < now()) codes.delete(c);
        const target = new URL(redirectUri);
        target.searchParams.set('code', code);
        const state = form.get('state');
        if (state !== null) target.searchParams.set('state', state);
        res.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' });
        res.end();
        return true;
      }
      if (path === TOKEN_PATH && method === 'OPTIONS') {
        const cors = corsOrigin(req);
        res.writeHead(204, {
          ...(cors ? { 'access-control-allow-origin': cors } : {}),
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'content-type',
          'access-control-max-age': '600',
        });
        res.end();
        return true;
      }
      if (path === TOKEN_PATH && method === 'POST') {
        await token(req, res);
        return true;
      }
      if (path === LOGOUT_PATH && method === 'GET') {
        const next = new URL(req.url ?? '/', 'http://local').searchParams.get('post_logout_redirect_uri');
        const location = next && redirectAllowed(next) ? next : `${issuer()}/`;
        res.writeHead(302, { location, 'cache-control': 'no-store' });
        res.end();
        return true;
      }
      return false;
    },
  };
}

const MAX_FORM_BYTES = 64 * 1024;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
