import { useEffect } from 'react';
import { ErrorBoundary } from 'react-error-boundary';
import { Failed } from './components/Failed.tsx';
import { type ConsoleContext, Ctx } from './lib/context.ts';
import { useLiveState } from './lib/hooks.ts';
import { type PageId, visiblePages } from './lib/permissions.ts';
import { href, useRoute } from './lib/route.ts';
import { CapacityPage } from './pages/Capacity.tsx';
import { DefinitionDetailPage, DefinitionsPage } from './pages/Definitions.tsx';
import { FleetPage } from './pages/Fleet.tsx';
import { SessionDetailPage } from './pages/SessionDetail.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { StreamFailuresPage } from './pages/StreamFailures.tsx';
import { TemplatesPage } from './pages/Templates.tsx';

export function App(props: { ctx: ConsoleContext; hasAvailability: boolean; onSignOut: () => void }) {
  const { ctx } = props;
  const route = useRoute();
  const pages = visiblePages(ctx.caller, props.hasAvailability);
  const liveState = useLiveState(ctx.live);
  const requested = route.parts[0] as PageId | undefined;
  const current = pages.find((p) => p.id === requested) ?? pages[0];
  useEffect(() => {
    if (current && requested !== current.id) window.location.replace(href([current.id]));
  }, [current, requested]);
  const detail = route.parts[1];
  return (
    <Ctx.Provider value={ctx}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>LCM console</h1>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.id}>
                <a href={href([p.id])} aria-current={p.id === current?.id ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="caller">
            {ctx.caller.subject} ({ctx.caller.roles.join(', ') || 'no role'})
          </span>{' '}
          <span role="status" className={`live live-${liveState}`} data-testid="live-state">
            live: {liveState}
          </span>{' '}
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <ErrorBoundary
          resetKeys={[route.parts.join('/')]}
          fallbackRender={(p) => <Failed what={`The ${current?.label ?? ''} page`} {...p} />}
        >
          {!current ? (
            <p>This role may see none of the console's pages.</p>
          ) : current.id === 'fleet' ? (
            <FleetPage />
          ) : current.id === 'sessions' ? (
            detail ? (
              <SessionDetailPage id={detail} />
            ) : (
              <SessionsPage route={route} />
            )
          ) : current.id === 'definitions' ? (
            detail ? (
              <DefinitionDetailPage id={detail} />
            ) : (
              <DefinitionsPage />
            )
          ) : current.id === 'stream-failures' ? (
            <StreamFailuresPage />
          ) : current.id === 'templates' ? (
            <TemplatesPage edit={detail} />
          ) : (
            <CapacityPage />
          )}
        </ErrorBoundary>
      </main>
    </Ctx.Provider>
  );
}
