import { type FallbackProps, getErrorMessage } from 'react-error-boundary';

/**
 * What an error boundary shows instead of a part of the page that threw while rendering (or whose
 * code could not be loaded, e.g. a chunk fetched while the server was away): what failed and a
 * way to try again, while the rest of the console (header, live state, navigation) stays.
 */
export function Failed({ what, error, resetErrorBoundary }: FallbackProps & { what: string }) {
  return (
    <div role="alert" className="problem" data-testid="render-failed">
      <strong>{what} could not be shown</strong>
      <p>{getErrorMessage(error) ?? String(error)}</p>
      <button type="button" onClick={resetErrorBoundary}>
        Try again
      </button>
    </div>
  );
}
