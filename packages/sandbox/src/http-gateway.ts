import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileContentBlobs, problem, verifyLocalPresignedUrl } from '@lcm/shared/platform';
import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
} from 'aws-lambda';
import { invokeLambda, type LambdaHandler, type LocalFunction, newTraceId } from './lambda-runtime.ts';

/**
 * A local stand-in for API Gateway HTTP API (payload format 2.0, Lambda proxy integrations):
 * route matching, the event, the JWT authorizer seam, the response mapping, and the answers
 * API Gateway itself gives (401, 413, 500 on a crashed handler, 503 on a timeout). A request
 * with no route gets problem+json 404 / 405 (what a `$default` route would answer in AWS).
 */

export interface GatewayRoute {
  readonly method: string;
  readonly path: string;
  readonly group: string;
  readonly auth: boolean;
}

export type JwtAuthorizer = APIGatewayEventRequestContextJWTAuthorizer;

export interface IncomingCall {
  method: string;
  path: string;
  /** Lower-cased names, duplicates joined by commas. */
  headers: Record<string, string>;
}

/**
 * What the JWT authorizer decided: the claims and scopes of an accepted token; `null` when there
 * is no token; `{ error }` for a token it refused (expired, wrong audience, bad signature...),
 * which API Gateway reports in the `www-authenticate` header. Both refusals are a 401.
 */
export type AuthenticateResult = JwtAuthorizer['jwt'] | { error: string } | null;

/** The JWT authorizer of routes with `auth: true`. Not called for other routes. */
export type Authenticate = (call: IncomingCall) => Promise<AuthenticateResult>;

export interface ApiGatewayOptions {
  routes: readonly GatewayRoute[];
  /** One handler per route group. */
  handlers: ReadonlyMap<string, LambdaHandler>;
  /** Lambda function settings of a group (name, region, timeout). */
  functionFor: (group: string) => LocalFunction;
  port: number;
  host?: string;
  authenticate?: Authenticate;
  /**
   * JSON documents served on GET outside the API's routes, e.g. the local issuer's
   * `/.well-known/jwks.json`; the function is called per request.
   */
  documents?: Readonly<Record<string, () => unknown>>;
  /**
   * Requests no API route matches, before the 404: the local stack's own pages (the local
   * issuer's OAuth endpoints, the built console). Returns true when it answered.
   */
  fallback?: (req: IncomingMessage, res: ServerResponse, path: string, method: string) => Promise<boolean>;
  /** Request bodies above this are refused like API Gateway does (10 MB). */
  maxPayloadBytes?: number;
  /**
   * The content bucket's pre-signed URLs (what S3 serves in AWS; issue 11, item 1): PUT and GET of
   * `<path>/<key>` signed with `secret` (platform/evidence/blobs.ts), on the objects under `dir()`
   * (EVIDENCE_DIR, read per request). A PUT may have at most `maxBytes`, or exactly the signed size.
   */
  bucket?: { path: string; dir: () => string | undefined; secret: string; maxBytes: number };
  log?: (line: string) => void;
}

export interface ApiGateway {
  url: string;
  port: number;
  /** The HTTP server (the local WebSocket endpoint attaches to its upgrades). */
  server: Server;
  stop(): Promise<void>;
}

const API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024;

/** Where the local stack serves the content bucket's pre-signed URLs (uploads, large topologies). */
export const LOCAL_BUCKET_PATH = '/_lcm/bucket';
const STOP_GRACE_MS = 3000;

/** No authorizer configured yet: behave like a JWT authorizer that accepts no token. */
const rejectAll: Authenticate = async () => null;

export async function startApiGateway(opts: ApiGatewayOptions): Promise<ApiGateway> {
  for (const route of opts.routes) {
    if (!opts.handlers.has(route.group)) throw new Error(`no handler for route group ${route.group}`);
  }
  const table = compileRoutes(opts.routes);
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const server = createServer((req, res) => {
    handleRequest(req, res, table, opts, log).catch((error) => {
      log(`api gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) sendGatewayError(res, 500, 'Internal Server Error', '');
      else res.destroy();
    });
  });
  await listen(server, opts.port, host);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    server,
    stop: () => closeServer(server),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} is already in use; set LCM_PORT to a free port`)
          : new Error(`cannot listen on ${host}:${port}: ${error.message}`),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    // In-flight requests get a grace period; idle keep-alive sockets would hold close() forever.
    const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

// ---------------------------------------------------------------------------------------------
// Routing: literal segments beat {param}, which beats {proxy+} (API Gateway's "most specific").

interface CompiledRoute {
  route: GatewayRoute;
  segments: { kind: 'literal' | 'param' | 'greedy'; value: string }[];
}

function compileRoutes(routes: readonly GatewayRoute[]): CompiledRoute[] {
  return routes.map((route) => ({
    route,
    segments: route.path
      .split('/')
      .slice(1)
      .map((s) => {
        const greedy = /^\{(\w+)\+\}$/.exec(s);
        if (greedy) return { kind: 'greedy' as const, value: greedy[1]! };
        const param = /^\{(\w+)\}$/.exec(s);
        if (param) return { kind: 'param' as const, value: param[1]! };
        return { kind: 'literal' as const, value: s };
      }),
  }));
}

interface RouteMatch {
  route: GatewayRoute;
  pathParameters: Record<string, string>;
  /** Per segment: 2 literal, 1 param, 0 greedy; compared lexicographically. */
  rank: number[];
}

function matchPath(compiled: CompiledRoute, segments: string[]): RouteMatch | undefined {
  const pathParameters: Record<string, string> = {};
  const rank: number[] = [];
  for (let i = 0; i < compiled.segments.length; i++) {
    const pattern = compiled.segments[i]!;
    const segment = segments[i];
    if (pattern.kind === 'greedy') {
      const rest = segments.slice(i);
      if (rest.length === 0 || rest.every((s) => s === '')) return undefined;
      pathParameters[pattern.value] = rest.join('/');
      rank.push(0);
      return { route: compiled.route, pathParameters, rank };
    }
    if (segment === undefined || segment === '') return undefined;
    if (pattern.kind === 'literal') {
      if (pattern.value !== segment) return undefined;
      rank.push(2);
    } else {
      pathParameters[pattern.value] = segment;
      rank.push(1);
    }
  }
  if (segments.length !== compiled.segments.length) return undefined;
  return { route: compiled.route, pathParameters, rank };
}

const moreSpecific = (a: RouteMatch, b: RouteMatch): number => {
  for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
    const d = (b.rank[i] ?? -1) - (a.rank[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

// ---------------------------------------------------------------------------------------------

type HttpApiEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & { authorizer?: JwtAuthorizer }
>;

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  table: CompiledRoute[],
  opts: ApiGatewayOptions,
  log: (line: string) => void,
): Promise<void> {
  const received = new Date();
  const requestId = randomBytes(11).toString('base64');
  res.setHeader('apigw-requestid', requestId);

  const url = new URL(req.url ?? '/', 'http://local');
  const method = (req.method ?? 'GET').toUpperCase();
  let segments: string[];
  try {
    // API Gateway HTTP APIs hand the path (rawPath, path parameters) to Lambda decoded.
    segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    sendProblem(res, 400, 'The request path is not valid percent-encoding.', url.pathname, requestId);
    return;
  }
  const rawPath = `/${segments.join('/')}`;
  if (opts.bucket && rawPath.startsWith(`${opts.bucket.path}/`)) {
    await serveBucket(req, res, method, rawPath.slice(opts.bucket.path.length + 1), url, opts.bucket);
    return;
  }
  const document = method === 'GET' ? opts.documents?.[rawPath] : undefined;
  if (document) {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    res.end(JSON.stringify(document()));
    return;
  }
  const matches = table.map((c) => matchPath(c, segments)).filter((m): m is RouteMatch => m !== undefined);
  if (matches.length === 0) {
    if (opts.fallback && (await opts.fallback(req, res, rawPath, method))) return;
    sendProblem(res, 404, `No route for ${method} ${rawPath}.`, rawPath, requestId);
    return;
  }
  const forMethod = matches.filter((m) => m.route.method === method || m.route.method === 'ANY');
  if (forMethod.length === 0) {
    const allow = [...new Set(matches.map((m) => m.route.method))].sort().join(', ');
    sendProblem(res, 405, `${method} is not allowed on ${rawPath}; allowed: ${allow}.`, rawPath, requestId, {
      allow,
    });
    return;
  }
  const match = forMethod.sort(moreSpecific)[0]!;

  const body = await readBody(req, opts.maxPayloadBytes ?? API_GATEWAY_MAX_PAYLOAD);
  if (body === 'too-large') {
    sendGatewayError(res, 413, 'Request Entity Too Large', requestId);
    return;
  }

  const headers = gatewayHeaders(req);
  let authorizer: JwtAuthorizer | undefined;
  if (match.route.auth) {
    const verdict = await (opts.authenticate ?? rejectAll)({ method, path: rawPath, headers });
    if (verdict === null || 'error' in verdict) {
      // API Gateway's header: `Bearer scope="" error="invalid_token" error_description="..."`.
      res.setHeader(
        'www-authenticate',
        verdict === null
          ? 'Bearer'
          : `Bearer scope="" error="invalid_token" error_description="${verdict.error.replaceAll('"', "'")}"`,
      );
      sendGatewayError(res, 401, 'Unauthorized', requestId);
      return;
    }
    authorizer = { jwt: verdict, principalId: '', integrationLatency: 0 };
  }

  const event = buildEvent({
    req,
    url,
    method,
    rawPath,
    headers,
    body,
    match,
    requestId,
    received,
    authorizer,
  });
  const group = match.route.group;
  const fn = opts.functionFor(group);
  const outcome = await invokeLambda(opts.handlers.get(group)!, event, fn, {
    traceId: headers['x-amzn-trace-id'],
  });

  if (outcome.kind === 'timeout') {
    log(`${fn.functionName}: Task timed out after ${(fn.timeoutMs ?? 30_000) / 1000} seconds`);
    sendGatewayError(res, 503, 'Service Unavailable', requestId);
    return;
  }
  if (outcome.kind === 'error') {
    const e = outcome.error;
    log(
      `${fn.functionName}: Invoke Error ${e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e)}`,
    );
    sendGatewayError(res, 500, 'Internal Server Error', requestId);
    return;
  }
  if (!writeLambdaResult(res, outcome.result)) {
    log(`${fn.functionName}: malformed Lambda response ${JSON.stringify(outcome.result)?.slice(0, 500)}`);
    sendGatewayError(res, 500, 'Internal Server Error', requestId);
  }
}

/** A pre-signed PUT or GET of the local content bucket, answered the way S3 would (XML-less). */
async function serveBucket(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  key: string,
  url: URL,
  bucket: NonNullable<ApiGatewayOptions['bucket']>,
): Promise<void> {
  const answer = (status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(message);
  };
  const check = verifyLocalPresignedUrl(bucket.secret, method, key, url.searchParams);
  if (!check.ok) {
    req.resume();
    answer(check.status, `AccessDenied: ${check.reason}`);
    return;
  }
  const dir = bucket.dir();
  if (!dir) {
    req.resume();
    answer(503, 'the local content bucket has no directory (EVIDENCE_DIR)');
    return;
  }
  const blobs = new FileContentBlobs(dir);
  if (method === 'GET') {
    let path: string;
    try {
      path = blobs.path(key);
    } catch {
      answer(403, 'AccessDenied: invalid key');
      return;
    }
    try {
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      answer(404, `NoSuchKey: ${key}`);
    }
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (check.sizeBytes !== undefined && declared !== check.sizeBytes) {
    req.resume();
    answer(403, `SignatureDoesNotMatch: signed for ${check.sizeBytes} bytes, Content-Length is ${declared}`);
    return;
  }
  const body = await readBody(req, check.sizeBytes ?? bucket.maxBytes);
  if (body === 'too-large') {
    answer(400, `EntityTooLarge: at most ${check.sizeBytes ?? bucket.maxBytes} bytes`);
    return;
  }
  await blobs.put(key, body);
  res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` });
  res.end();
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function gatewayHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values && name !== 'cookie') headers[name] = values.join(',');
  }
  // What API Gateway adds in front of the integration.
  const sourceIp = clientIp(req);
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
  headers['x-amzn-trace-id'] ??= newTraceId().split(';')[0]!;
  return headers;
}

const clientIp = (req: IncomingMessage): string =>
  (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

/** API Gateway sends text bodies as they are and everything else base64-encoded. */
const TEXT_MEDIA_TYPE =
  /^(text\/[\w.+-]+|application\/([\w.-]+\+)?(json|xml)|application\/(javascript|x-www-form-urlencoded|yaml|x-yaml))$/;

function buildEvent(input: {
  req: IncomingMessage;
  url: URL;
  method: string;
  rawPath: string;
  headers: Record<string, string>;
  body: Buffer;
  match: RouteMatch;
  requestId: string;
  received: Date;
  authorizer: JwtAuthorizer | undefined;
}): HttpApiEvent {
  const { req, url, method, rawPath, headers, body, match, requestId, received, authorizer } = input;
  const routeKey = `${match.route.method} ${match.route.path}`;
  const domainName = headers.host ?? 'localhost';

  const cookies = (req.headersDistinct.cookie ?? [])
    .flatMap((c) => c.split(';'))
    .map((c) => c.trim())
    .filter((c) => c !== '');

  const queryStringParameters: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) {
    queryStringParameters[key] = url.searchParams.getAll(key).join(',');
  }

  const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // A text body whose bytes are not UTF-8 goes to the handler base64-encoded, exactly as sent,
  // so the handler refuses it (400) instead of seeing U+FFFD where the bytes were.
  const isText = TEXT_MEDIA_TYPE.test(mediaType) && isUtf8(body);

  const event: HttpApiEvent = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0]!.split(':')[0]!,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: clientIp(req),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: clfTime(received),
      timeEpoch: received.getTime(),
      ...(authorizer ? { authorizer } : {}),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(queryStringParameters).length > 0) event.queryStringParameters = queryStringParameters;
  if (Object.keys(match.pathParameters).length > 0) event.pathParameters = match.pathParameters;
  if (body.length > 0) {
    event.body = isText ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = !isText;
  }
  return event;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** requestContext.time format: `12/Mar/2020:19:03:58 +0000`. */
function clfTime(d: Date): string {
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/**
 * Payload 2.0 response mapping: an object with `statusCode` is a structured result; anything
 * else is a 200 application/json whose body is the value (a string as is, else its JSON).
 * Returns false for a structured result API Gateway would reject.
 */
function writeLambdaResult(res: ServerResponse, result: unknown): boolean {
  if (result === null || typeof result !== 'object' || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return true;
  }
  const structured = result as {
    statusCode: unknown;
    headers?: Record<string, unknown>;
    body?: unknown;
    isBase64Encoded?: unknown;
    cookies?: unknown;
  };
  const status = structured.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return false;
  if (structured.body !== undefined && structured.body !== null && typeof structured.body !== 'string') {
    return false;
  }
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined && value !== null) res.setHeader(name.toLowerCase(), String(value));
  }
  if (Array.isArray(structured.cookies) && structured.cookies.length > 0) {
    res.setHeader('set-cookie', structured.cookies.map(String));
  }
  const body = typeof structured.body === 'string' ? structured.body : '';
  res.statusCode = status;
  res.end(structured.isBase64Encoded === true ? Buffer.from(body, 'base64') : body);
  return true;
}

/** What API Gateway answers by itself: `{"message": "..."}`. */
function sendGatewayError(res: ServerResponse, status: number, message: string, requestId: string): void {
  if (requestId) res.setHeader('apigw-requestid', requestId);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
}

function sendProblem(
  res: ServerResponse,
  status: number,
  detail: string,
  instance: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  const reply = problem({ status, detail, instance, headers, extensions: { requestId } });
  res.writeHead(status, reply.headers as Record<string, string>);
  res.end(reply.body);
}
