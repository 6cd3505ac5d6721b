import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENTS_SPEC_VERSION, signatureHeaders } from '@lcm/shared/events';

/**
 * What the partner simulators share: an HTTP server on a free loopback port that closes every
 * connection on stop, JSON replies, a request log, failure injection (programmatic and over
 * `POST /_sim/faults`) and signed CloudEvent delivery.
 */

// ---------------------------------------------------------------------------------------------
// Failure injection

export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string | undefined;
  /** Regular expression matched against the request path (no query string). */
  path: string | RegExp;
  /** Reply with this status instead of handling the call (omit to only delay, or with `reset`). */
  status?: number | undefined;
  /** Reply body (JSON); default: the simulator's error body for `status`. */
  body?: unknown;
  /** Wait this long first (then reply `status`, or handle the call normally when no status). */
  delayMs?: number | undefined;
  /** Destroy the connection without a reply (a network error for the client). */
  reset?: boolean | undefined;
  /** How many matching calls it affects (default 1); `'always'` until cleared. */
  times?: number | 'always' | undefined;
}

interface ActiveFault {
  id: string;
  method: string | undefined;
  path: RegExp;
  pathText: string;
  status: number | undefined;
  body: unknown;
  delayMs: number;
  reset: boolean;
  remaining: number;
  hits: number;
}

export interface FaultSnapshot {
  id: string;
  method?: string | undefined;
  path: string;
  status?: number | undefined;
  remaining: number | 'always';
  hits: number;
}

export class FaultRegistry {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): string {
    const times = spec.times ?? 1;
    if (times !== 'always' && (!Number.isInteger(times) || times < 1)) {
      throw new RangeError("fault times must be an integer >= 1 or 'always'");
    }
    if (spec.status === undefined && !spec.reset && !spec.delayMs) {
      throw new RangeError('a fault needs a status, a delay or reset');
    }
    const fault: ActiveFault = {
      id: randomUUID(),
      method: spec.method?.toUpperCase(),
      path: typeof spec.path === 'string' ? new RegExp(spec.path) : spec.path,
      pathText: typeof spec.path === 'string' ? spec.path : spec.path.source,
      status: spec.status,
      body: spec.body,
      delayMs: spec.delayMs ?? 0,
      reset: spec.reset ?? false,
      remaining: times === 'always' ? Number.POSITIVE_INFINITY : times,
      hits: 0,
    };
    this.faults.push(fault);
    return fault.id;
  }

  /** The first active fault matching the call (consumed once). */
  take(method: string, path: string): ActiveFault | undefined {
    const f = this.faults.find(
      (x) => x.remaining > 0 && (!x.method || x.method === method) && x.path.test(path),
    );
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    return f;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): FaultSnapshot[] {
    return this.faults.map((f) => ({
      id: f.id,
      ...(f.method ? { method: f.method } : {}),
      path: f.pathText,
      ...(f.status !== undefined ? { status: f.status } : {}),
      remaining: Number.isFinite(f.remaining) ? f.remaining : 'always',
      hits: f.hits,
    }));
  }
}

/** Validates a fault posted to `/_sim/faults` (JSON: path is a regex source string). */
export function faultFromJson(body: unknown): FaultSpec {
  if (!body || typeof body !== 'object') throw new RangeError('fault must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.path !== 'string' || b.path === '') throw new RangeError('fault.path must be a regex string');
  try {
    new RegExp(b.path);
  } catch {
    throw new RangeError('fault.path is not a valid regular expression');
  }
  const num = (k: string) => {
    const v = b[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`fault.${k} must be a number`);
    return v;
  };
  const status = num('status');
  if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
    throw new RangeError('fault.status must be an HTTP status');
  }
  const times = b.times === 'always' ? 'always' : num('times');
  return {
    method: typeof b.method === 'string' ? b.method : undefined,
    path: b.path,
    status,
    body: b.body,
    delayMs: num('delayMs'),
    reset: b.reset === true,
    times,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  status: number;
  /** Set when a fault answered the call. */
  faultId?: string | undefined;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** The body as JSON; throws HttpError 400 when it is not JSON. */
  json(): unknown;
}

export interface SimReply {
  status: number;
  body?: unknown;
  /** Send `body` as is (string) with this content type instead of JSON. */
  contentType?: string;
  headers?: Record<string, string>;
}

export type SimHandler = (req: SimRequest) => Promise<SimReply> | SimReply;

export interface SimServerOptions {
  host?: string | undefined;
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  /** The simulator's error body for a status and message. */
  errorBody: (status: number, message: string) => unknown;
  faults: FaultRegistry;
  /** Paths that are never subject to faults (control API). */
  controlPrefix?: string;
  handler: SimHandler;
  /** Keep at most this many log entries (default 2000). */
  logLimit?: number;
}

export interface SimServer {
  url: string;
  port: number;
  log: RequestLogEntry[];
  close(): Promise<void>;
}

const MAX_BODY = 5 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startSimServer(opts: SimServerOptions): Promise<SimServer> {
  const log: RequestLogEntry[] = [];
  const logLimit = opts.logLimit ?? 2000;
  const control = opts.controlPrefix ?? '/_sim/';
  const sockets = new Set<Socket>();
  let closing = false;

  const record = (entry: RequestLogEntry) => {
    log.push(entry);
    if (log.length > logLimit) log.splice(0, log.length - logLimit);
  };

  const send = (res: ServerResponse, reply: SimReply) => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...reply.headers };
    let payload: string | undefined;
    if (reply.body !== undefined && reply.status !== 204) {
      if (reply.contentType) {
        headers['content-type'] = reply.contentType;
        payload = String(reply.body);
      } else {
        headers['content-type'] = 'application/json';
        payload = JSON.stringify(reply.body);
      }
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  };

  const server: Server = createServer(async (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname;
    const entry: RequestLogEntry = { at: new Date().toISOString(), method, path, status: 0 };
    try {
      const fault = path.startsWith(control) ? undefined : opts.faults.take(method, path);
      if (fault) {
        entry.faultId = fault.id;
        if (fault.delayMs > 0) await sleep(fault.delayMs);
        if (fault.reset) {
          entry.status = -1;
          record(entry);
          req.socket.destroy();
          return;
        }
        if (fault.status !== undefined) {
          // Drain the body so the client sees a clean reply.
          await readBody(req).catch(() => '');
          entry.status = fault.status;
          record(entry);
          send(res, {
            status: fault.status,
            body: fault.body ?? opts.errorBody(fault.status, `injected fault (HTTP ${fault.status})`),
          });
          return;
        }
      }
      const body = await readBody(req);
      const simReq: SimRequest = {
        method,
        path,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: () => {
          try {
            return JSON.parse(body);
          } catch {
            throw new HttpError(400, 'request body is not valid JSON');
          }
        },
      };
      const reply = await opts.handler(simReq);
      entry.status = reply.status;
      record(entry);
      send(res, reply);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      entry.status = status;
      record(entry);
      send(res, {
        status,
        body: e instanceof HttpError && e.body !== undefined ? e.body : opts.errorBody(status, message),
      });
    }
  });
  server.on('connection', (s) => {
    if (closing) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers the shared control routes (`/_sim/faults`, `/_sim/requests`); undefined if not one. */
export function controlRoute(
  req: SimRequest,
  faults: FaultRegistry,
  log: () => RequestLogEntry[],
): SimReply | undefined {
  if (req.path === '/_sim/faults') {
    if (req.method === 'GET') return { status: 200, body: faults.list() };
    if (req.method === 'DELETE') {
      faults.clear();
      return { status: 204 };
    }
    if (req.method === 'POST') {
      let spec: FaultSpec;
      try {
        spec = faultFromJson(req.json());
        return { status: 201, body: { id: faults.add(spec) } };
      } catch (e) {
        if (e instanceof HttpError) throw e;
        throw new HttpError(400, (e as Error).message);
      }
    }
  }
  const one = /^\/_sim\/faults\/([^/]+)$/.exec(req.path);
  if (one && req.method === 'DELETE') {
    return faults.remove(decodeURIComponent(one[1]!))
      ? { status: 204 }
      : { status: 404, body: { error: 'no such fault' } };
  }
  if (req.path === '/_sim/requests' && req.method === 'GET') return { status: 200, body: log() };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Signed CloudEvent delivery

export interface EventDelivery {
  eventId: string;
  type: string;
  url: string;
  /** HTTP status of the last attempt, or -1 after a network error. */
  status: number;
  attempts: number;
  ok: boolean;
  at: string;
}

export interface EventSenderOptions {
  /** Where events go (LCM's `POST /v1/events`). */
  eventsUrl: string;
  /** The partner secret the signature is made with. */
  secret: string;
  keyId?: string | undefined;
  /** Attempts per event on network errors and 5xx (default 3). */
  attempts?: number | undefined;
  retryDelayMs?: number | undefined;
  timeoutMs?: number | undefined;
  /** Aborts delivery (the simulator is stopping). */
  signal?: AbortSignal | undefined;
}

/**
 * POSTs one CloudEvent in structured mode (`application/cloudevents+json`) with the
 * `x-lcm-signature` header over the exact bytes sent.
 */
export async function deliverCloudEvent(
  opts: EventSenderOptions,
  event: { id: string; type: string } & Record<string, unknown>,
): Promise<EventDelivery> {
  const raw = JSON.stringify(event);
  const attempts = Math.max(1, opts.attempts ?? 3);
  let status = -1;
  let n = 0;
  for (n = 1; n <= attempts; n++) {
    try {
      const res = await fetch(opts.eventsUrl, {
        method: 'POST',
        headers: {
          'content-type': CLOUDEVENTS_CONTENT_TYPE,
          ...signatureHeaders(opts.secret, raw, opts.keyId),
        },
        body: raw,
        signal: opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 5000)])
          : AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      status = res.status;
      if (res.status < 500) break;
    } catch {
      status = -1;
    }
    if (opts.signal?.aborted) break;
    if (n < attempts) await sleep(opts.retryDelayMs ?? 200);
  }
  return {
    eventId: event.id,
    type: event.type,
    url: opts.eventsUrl,
    status,
    attempts: Math.min(n, attempts),
    ok: status >= 200 && status < 300,
    at: new Date().toISOString(),
  };
}

/** The event options the partner simulators take (no delivery unless eventsUrl and eventSecret). */
export interface PartnerEventOptions {
  eventsUrl?: string | undefined;
  eventSecret?: string | undefined;
  eventKeyId?: string | undefined;
  eventAttempts?: number | undefined;
  eventRetryDelayMs?: number | undefined;
}

/**
 * Builds a partner CloudEvent (new id, JSON data) and delivers it signed with the simulator's
 * event options; undefined (nothing sent) when no eventsUrl or eventSecret is configured.
 */
export async function emitPartnerEvent(
  opts: PartnerEventOptions,
  signal: AbortSignal,
  event: { source: string; type: string; subject: string; data: Record<string, unknown>; time?: string },
): Promise<EventDelivery | undefined> {
  if (!opts.eventsUrl || !opts.eventSecret) return undefined;
  return deliverCloudEvent(
    {
      eventsUrl: opts.eventsUrl,
      secret: opts.eventSecret,
      keyId: opts.eventKeyId,
      attempts: opts.eventAttempts,
      retryDelayMs: opts.eventRetryDelayMs,
      signal,
    },
    {
      specversion: CLOUDEVENTS_SPEC_VERSION,
      id: randomUUID(),
      source: event.source,
      type: event.type,
      time: event.time ?? new Date().toISOString(),
      subject: event.subject,
      datacontenttype: 'application/json',
      data: event.data,
    },
  );
}

/** Reads a bearer-style header value. */
export function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Timer bookkeeping so stop() cancels everything a simulator scheduled. */
export class Timers {
  private readonly handles = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<Promise<unknown>>();
  private stopped = false;

  after(ms: number, fn: () => unknown): void {
    if (this.stopped) return;
    const h = setTimeout(() => {
      this.handles.delete(h);
      if (this.stopped) return;
      const p = Promise.resolve()
        .then(fn)
        .catch(() => undefined);
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }, ms);
    this.handles.add(h);
  }

  /** Tracks a background task so stop() can await it. */
  track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined);
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const h of this.handles) clearTimeout(h);
    this.handles.clear();
    await Promise.allSettled([...this.pending]);
  }

  /** Resolves once no task is running or scheduled (for tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.handles.size > 0) {
      await Promise.allSettled([...this.pending]);
      if (this.handles.size > 0) await sleep(10);
    }
  }
}
