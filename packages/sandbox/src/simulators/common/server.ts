import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FaultRegistry, type FaultSpec, faultFromJson } from './faults.ts';

/**
 * The simulators' HTTP plumbing: a server on a free loopback port that closes every connection
 * on stop, JSON replies, a request log, injected faults applied before the handler (or after it,
 * `after: true`: the call takes effect and its answer is lost), and the
 * shared `/_sim` control routes answered before it.
 */

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
  /** Where the faults are kept (default: a registry of its own); `injectFault` and `/_sim/faults` add to it. */
  faults?: FaultRegistry | undefined;
  /** Paths that are never subject to faults (control API). */
  controlPrefix?: string;
  /** The simulator's routes; the shared control routes (`controlRoute`) are answered first. */
  handler: SimHandler;
  /** Keep at most this many log entries (default 2000). */
  logLimit?: number;
}

export interface SimServer {
  url: string;
  port: number;
  /** The request log, oldest first (the live array: a test may empty it). */
  log: RequestLogEntry[];
  close(): Promise<void>;
  /** Adds a fault (also `POST /_sim/faults`); returns its id. */
  injectFault(spec: FaultSpec): string;
  clearFaults(): void;
  /** A copy of the request log: the calls answered so far (method, path, status). */
  requests(): RequestLogEntry[];
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
  const faults = opts.faults ?? new FaultRegistry();
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
      const fault = path.startsWith(control) ? undefined : faults.take(method, path);
      if (fault && !fault.after) {
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
      const reply = controlRoute(simReq, faults, () => [...log]) ?? (await opts.handler(simReq));
      if (fault?.after) {
        // The call was handled; its answer is lost.
        entry.faultId = fault.id;
        if (fault.delayMs > 0) await sleep(fault.delayMs);
        if (fault.reset) {
          entry.status = -1;
          record(entry);
          req.socket.destroy();
          return;
        }
        const status = fault.status ?? 500;
        entry.status = status;
        record(entry);
        send(res, { status, body: fault.body ?? opts.errorBody(status, `injected fault (HTTP ${status})`) });
        return;
      }
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
    injectFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    requests: () => [...log],
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

/** Reads a bearer-style header value. */
export function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
