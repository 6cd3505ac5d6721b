import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { REPO_ROOT } from '../e2e/support.ts';

/**
 * The console in a real browser: Debian's Chromium driven by playwright-core (no browser
 * download), axe-core's check, and how a test reaches and signs in to the console of a local
 * stack (`npm start`). Used by test/e2e/console.test.ts and `npm run screenshots`.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CONSOLE_DIST = join(REPO_ROOT, 'packages/console/dist');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (.ci/run does), or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

const axeSource = (): string =>
  readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core over the page as it is now; the serious and critical violations. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: axeSource() });
  const violations = await page.evaluate(async () => {
    // Runs in the page (this file is type-checked without the DOM library).
    const g = globalThis as unknown as {
      axe: { run: (ctx: unknown, o: object) => Promise<{ violations: unknown[] }> };
      document: unknown;
    };
    return (await g.axe.run(g.document, { resultTypes: ['violations'] })).violations;
  });
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
}

/** What the stack serves for the console, when it does (`/config.json`; issue 14, item 4). */
async function stackConfig(stackUrl: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`${stackUrl}/config.json`);
    if (!res.ok) return null;
    const body = (await res.json()) as Record<string, unknown>;
    return typeof body.apiUrl === 'string' ? body : null;
  } catch {
    return null;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface ConsoleOrigin {
  /** Where the browser opens the console. */
  readonly url: string;
  /** true: `npm start` serves the console and /config.json itself; false: the fallback server below. */
  readonly servedByStack: boolean;
  close(): Promise<void>;
}

/**
 * The console's origin for a stack. When `npm start` serves the console (the stack answers
 * /config.json) the browser opens the stack itself. Otherwise (a stack without the console
 * serving), a small server here serves the built dist/, a /config.json pointing at itself, and
 * passes every other path to the stack, so the page still talks to one origin, the real API.
 */
export async function consoleOrigin(stackUrl: string): Promise<ConsoleOrigin> {
  if (await stackConfig(stackUrl)) return { url: `${stackUrl}/`, servedByStack: true, close: async () => {} };
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error('packages/console/dist is not built: run `npm run build:console` first');
  }
  const stack = new URL(stackUrl);
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiUrl: origin,
          wsUrl: `${origin.replace(/^http/, 'ws')}/ws`,
          oidc: { authority: stackUrl, clientId: 'lcm-console', scope: 'openid' },
        }),
      );
      return;
    }
    const file = normalize(join(CONSOLE_DIST, path === '/' ? 'index.html' : path));
    if (file.startsWith(CONSOLE_DIST) && existsSync(file) && !file.endsWith('/')) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    const upstream = httpRequest(
      { host: stack.hostname, port: stack.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url: `${origin}/`,
    servedByStack: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * Signs the page in as one of the local stack's roles. With the local issuer's authorize
 * endpoint (discovery names `authorization_endpoint`) it goes through the real code + PKCE flow:
 * the console's Sign in button, the role picked on the local login page. Without it, it writes
 * the signed-in user where oidc-client-ts keeps it (sessionStorage, `oidc.user:<authority>:<clientId>`)
 * with the stack's token for that role from local.json: what the code exchange would have stored.
 */
export async function signIn(
  page: Page,
  origin: ConsoleOrigin,
  role: 'admin' | 'operator' | 'viewer' | 'portal',
  tokens: Record<string, string>,
): Promise<'oidc' | 'stored-token'> {
  const config = (await (await fetch(new URL('config.json', origin.url))).json()) as {
    oidc: { authority: string; clientId: string; scope: string };
  };
  const discovery: Record<string, unknown> = await fetch(
    `${config.oidc.authority.replace(/\/$/, '')}/.well-known/openid-configuration`,
  )
    .then((r) => (r.ok ? (r.json() as Promise<Record<string, unknown>>) : {}))
    .catch(() => ({}) as Record<string, unknown>);
  if (typeof discovery.authorization_endpoint === 'string') {
    await page.goto(origin.url);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(discovery.authorization_endpoint as string));
    await page
      .getByRole('button', { name: new RegExp(role, 'i') })
      .or(page.getByRole('link', { name: new RegExp(role, 'i') }))
      .first()
      .click();
    await page.getByTestId('caller').waitFor();
    return 'oidc';
  }
  const token = tokens[role];
  if (!token) throw new Error(`no ${role} token in local.json`);
  const claims = claimsOf(token);
  const user = {
    access_token: token,
    token_type: 'Bearer',
    scope: config.oidc.scope,
    profile: {
      sub: String(claims.sub),
      iss: String(claims.iss),
      aud: config.oidc.clientId,
      exp: claims.exp,
      iat: claims.iat,
    },
    expires_at: claims.exp,
  };
  const key = `oidc.user:${config.oidc.authority}:${config.oidc.clientId}`;
  await page.addInitScript(
    ([k, v]) => {
      // Runs in the page.
      (
        globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }
      ).sessionStorage.setItem(k as string, v as string);
    },
    [key, JSON.stringify(user)],
  );
  await page.goto(origin.url);
  await page.getByTestId('caller').waitFor();
  return 'stored-token';
}
