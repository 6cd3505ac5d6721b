import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createApi } from './api/client.ts';
import { createUserManager, currentUser } from './lib/auth.ts';
import { hasAvailabilityRoute } from './lib/availability.ts';
import { loadConfig } from './lib/config.ts';
import { LiveClient } from './lib/live.ts';
import { callerOf } from './lib/permissions.ts';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

async function boot() {
  const config = await loadConfig();
  const manager = createUserManager(config);
  const user = await currentUser(manager);
  if (!user) {
    root.render(
      <main id="main" className="signin">
        <h1>LCM console</h1>
        <p>Sign in with your organisation's account to see the fleet and the sessions.</p>
        <button type="button" className="primary" onClick={() => void manager.signinRedirect()}>
          Sign in
        </button>
      </main>,
    );
    return;
  }
  let token: string | null = user.access_token;
  manager.events.addUserLoaded((u) => {
    token = u.access_token;
  });
  manager.events.addAccessTokenExpired(() => {
    token = null;
    void manager.removeUser().then(() => window.location.reload());
  });
  const api = createApi(config.apiUrl, () => token);
  const live = new LiveClient({ url: config.wsUrl, token: () => token });
  live.start();
  const doc = await fetch(`${config.apiUrl}/v1/openapi.json`)
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  root.render(
    <App
      ctx={{ config, api, caller: callerOf(user.access_token), token: () => token, live }}
      hasAvailability={hasAvailabilityRoute(doc)}
      onSignOut={() => {
        live.stop();
        void manager.removeUser().then(() => window.location.assign(window.location.pathname));
      }}
    />,
  );
}

boot().catch((e: unknown) => {
  root.render(
    <main id="main">
      <h1>LCM console</h1>
      <p role="alert">The console could not start: {e instanceof Error ? e.message : String(e)}</p>
    </main>,
  );
});
