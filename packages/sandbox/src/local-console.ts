import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

/**
 * The console's runtime config and its static files on the local stack (issue 14, item 4).
 *
 * - GET `/config.json`: `{ apiUrl, wsUrl, oidc: { authority, clientId, scope } }`, the document the
 *   console fetches at start (in AWS the console stack writes the same shape into its bucket).
 * - The built console (`packages/console/dist`, when it exists) at `/`: a file that exists is
 *   served as is; any other GET outside the API (`/v1/…`), the issuer's and the local stack's own
 *   paths falls back to `index.html` (the SPA's client-side routes), as CloudFront's error
 *   responses do in AWS.
 */

export const CONSOLE_CONFIG_PATH = '/config.json';

export interface ConsoleRuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  oidc: { authority: string; clientId: string; scope: string };
}

/** The console's runtime config for a local stack listening at `apiUrl`. */
export const localConsoleConfig = (
  apiUrl: string,
  clientId: string,
  wsPath: string,
): ConsoleRuntimeConfig => ({
  apiUrl,
  wsUrl: `${apiUrl.replace(/^http/, 'ws')}${wsPath}`,
  oidc: { authority: apiUrl, clientId, scope: 'openid' },
});

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Paths that are never the SPA's: the API, the issuer's, the local stack's. */
const NOT_THE_CONSOLE = /^\/(v1|oauth2|\.well-known|_lcm|ws)(\/|$)/;

export interface ConsoleFiles {
  readonly dir: string;
  /** Whether the build exists (checked per request: a build made after start is served). */
  present(): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean>;
}

export function consoleFiles(dir: string): ConsoleFiles {
  const root = normalize(dir);
  const index = join(root, 'index.html');
  const present = () => existsSync(index);
  const send = (res: ServerResponse, file: string, method: string, cache: string) => {
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(statSync(file).size),
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
    });
    if (method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };
  return {
    dir: root,
    present,
    async handle(_req, res, path, method) {
      if ((method !== 'GET' && method !== 'HEAD') || NOT_THE_CONSOLE.test(path) || !present()) return false;
      const file = normalize(join(root, path));
      if ((file === root || file.startsWith(root + sep)) && existsSync(file) && statSync(file).isFile()) {
        // Vite names built assets by content hash: those may be cached for good.
        const immutable = path.startsWith('/assets/');
        send(res, file, method, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        return true;
      }
      send(res, index, method, 'no-cache');
      return true;
    },
  };
}
