import { type User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { ConsoleConfig } from './config.ts';

/**
 * Sign-in: OIDC authorization code with PKCE (oidc-client-ts) against `oidc.authority` from
 * /config.json: the Cognito hosted UI when deployed, the local issuer's authorize page (pick a
 * role) under `npm start`. The user (its access token) lives in sessionStorage under
 * oidc-client-ts's own key `oidc.user:<authority>:<clientId>`; the browser tests sign in by
 * writing that entry, the same one the code exchange writes (docs/console.md).
 */
export function createUserManager(config: ConsoleConfig): UserManager {
  const here = `${window.location.origin}${window.location.pathname}`;
  return new UserManager({
    authority: config.oidc.authority,
    client_id: config.oidc.clientId,
    scope: config.oidc.scope,
    redirect_uri: here,
    post_logout_redirect_uri: here,
    response_type: 'code',
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: false,
  });
}

/** The key under which oidc-client-ts keeps the signed-in user. */
export const userStorageKey = (config: ConsoleConfig): string =>
  `oidc.user:${config.oidc.authority}:${config.oidc.clientId}`;

/** Completes a sign-in redirect (`?code=…&state=…`), then the signed-in user if any, not expired. */
export async function currentUser(manager: UserManager): Promise<User | null> {
  const params = new URLSearchParams(window.location.search);
  if (params.has('code') && params.has('state')) {
    try {
      await manager.signinRedirectCallback();
    } finally {
      window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
    }
  }
  const user = await manager.getUser();
  return user && !user.expired ? user : null;
}
