import { render } from '@testing-library/react';
import { App } from '../src/App.tsx';
import { createApi } from '../src/api/client.ts';
import type { ConsoleContext } from '../src/lib/context.ts';
import { callerOf } from '../src/lib/permissions.ts';

/** An unsigned token whose claims give the role (the console reads claims; the API verifies). */
export const jwt = (role: string) =>
  `e30.${btoa(JSON.stringify({ sub: `${role}-user`, 'cognito:groups': [`lcm.${role}`] })).replace(/=+$/, '')}.sig`;

/**
 * The whole console (App) at `hash`, signed in as `role`, with the real typed client whose fetch
 * is `fetchImpl` (the tests answer as the API does) and no live socket.
 */
export function renderConsole(role: string, hash: string, fetchImpl: typeof fetch) {
  window.location.hash = hash;
  const token = jwt(role);
  const ctx: ConsoleContext = {
    config: {
      apiUrl: 'http://api.test',
      wsUrl: 'ws://api.test/ws',
      oidc: { authority: 'http://api.test', clientId: 'c', scope: 'openid' },
    },
    api: createApi('http://api.test', () => token, fetchImpl),
    caller: callerOf(token),
    token: () => token,
    live: null,
  };
  return render(<App ctx={ctx} hasAvailability={false} onSignOut={() => {}} />);
}
