import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EVENT_RULES, type EventRule, rulesMatching } from '@lcm/shared/events';
import { invokeLambda, type LambdaHandler, LOCAL_ACCOUNT_ID, type LocalFunction } from '../lambda-runtime.ts';

/**
 * A local EventBridge bus: an HTTP endpoint speaking the EventBridge JSON protocol for
 * PutEvents (`X-Amz-Target: AWSEvents.PutEvents`, `application/x-amz-json-1.1`), so the unchanged
 * SDK client publishes to it through `AWS_ENDPOINT_URL_EVENTBRIDGE`. Each accepted entry becomes
 * an EventBridge event, is matched against the SAME rules the CDK deploys
 * (packages/shared/src/events/rules.ts, matcher: events/pattern.ts — exact, prefix, suffix,
 * anything-but, exists, numeric, equals-ignore-case; no third-party matcher is installed) and is
 * delivered to each matching rule's target handler in this process, asynchronously, like
 * EventBridge → Lambda: retried on error/timeout, then put on a dead-letter list. Everything
 * published is kept in a log for tests and inspection (`GET /_lcm/events`).
 */

export const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';
const JSON_11 = 'application/x-amz-json-1.1';
const MAX_ENTRIES = 10;
const MAX_LOG = 10_000;
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** An event as EventBridge hands it to a target. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface PublishedEvent {
  event: BusEvent;
  eventBusName: string;
  /** Names of the rules it matched. */
  rules: string[];
  receivedAt: string;
}

export interface Delivery {
  rule: string;
  target: string;
  eventId: string;
  attempts: number;
  outcome: 'ok' | 'error' | 'timeout' | 'pending';
  result?: unknown;
  error?: string;
}

export interface DeadLetter {
  rule: string;
  target: string;
  event: BusEvent;
  attempts: number;
  error: string;
}

export interface EntryFailure {
  code: string;
  message: string;
}

/** A PutEvents request entry as it arrives over the wire. */
export interface WireEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

export interface LocalEventBridgeOptions {
  /** The bus the rules are on (LCM's bus, EVENT_BUS_NAME); entries for other buses fail. */
  eventBusName: string;
  port?: number;
  host?: string;
  region?: string;
  rules?: readonly EventRule[];
  /** Target handlers by module; default: import `<repo>/<module>` and use its `handler`. */
  targets?: Readonly<Record<string, LambdaHandler>>;
  /** Attempts per delivery including the first (default 3: Lambda async invoke = 1 + 2 retries). */
  attempts?: number;
  /** Delay before retry n: default 100 ms · 2^(n-1). */
  retryDelayMs?: (attempt: number) => number;
  /** Target function settings (timeout etc.). */
  functionFor?: (rule: EventRule) => LocalFunction;
  /** Makes an entry fail as EventBridge would (tests of FailedEntryCount handling). */
  injectFailure?: (entry: WireEntry) => EntryFailure | undefined;
  log?: (line: string) => void;
}

export interface LocalEventBridge {
  url: string;
  port: number;
  eventBusName: string;
  readonly published: readonly PublishedEvent[];
  readonly deliveries: readonly Delivery[];
  readonly deadLetters: readonly DeadLetter[];
  /** Resolves once no delivery (or retry) is in flight. */
  idle(): Promise<void>;
  /** Empties the logs. */
  clear(): void;
  /** Stops accepting, waits for deliveries in flight (bounded), closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

class ProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ProtocolError('ValidationException', `request larger than ${limit} bytes`, 413));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** `2026-04-01T10:00:00Z`: EventBridge's time format (seconds precision). */
const eventTime = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

function timeOf(value: unknown): Date {
  if (typeof value === 'number') return new Date(value * 1000); // the SDK sends epoch seconds
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  return new Date();
}

export async function startLocalEventBridge(opts: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const rules = opts.rules ?? EVENT_RULES;
  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? ((n: number) => 100 * 2 ** (n - 1));
  const log = opts.log ?? (() => {});
  const busArn = `arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:event-bus/${opts.eventBusName}`;

  const published: PublishedEvent[] = [];
  const deliveries: Delivery[] = [];
  const deadLetters: DeadLetter[] = [];
  const inFlight = new Set<Promise<void>>();
  const loaded = new Map<string, Promise<LambdaHandler>>();
  let stopping = false;

  const handlerFor = (module: string): Promise<LambdaHandler> => {
    const given = opts.targets?.[module];
    if (given) return Promise.resolve(given);
    let p = loaded.get(module);
    if (!p) {
      p = (async () => {
        const entry = join(REPO_ROOT, module);
        if (!existsSync(entry)) throw new Error(`target module ${module} does not exist`);
        const mod = (await import(pathToFileURL(entry).href)) as { handler?: unknown };
        if (typeof mod.handler !== 'function') throw new Error(`${module} exports no handler function`);
        return mod.handler as LambdaHandler;
      })();
      loaded.set(module, p);
      p.catch(() => loaded.delete(module));
    }
    return p;
  };

  const deliver = async (rule: EventRule, event: BusEvent): Promise<void> => {
    const record: Delivery = {
      rule: rule.name,
      target: rule.target.module,
      eventId: event.id,
      attempts: 0,
      outcome: 'pending',
    };
    deliveries.push(record);
    if (deliveries.length > MAX_LOG) deliveries.shift();
    const fn = opts.functionFor?.(rule) ?? {
      functionName: `lcm-local-${rule.target.function}`,
      region,
      timeoutMs: 30_000,
    };
    let lastError = '';
    for (let n = 1; n <= attempts; n++) {
      if (n > 1) await sleep(retryDelayMs(n - 1));
      record.attempts = n;
      let handler: LambdaHandler;
      try {
        handler = await handlerFor(rule.target.module);
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
        record.outcome = 'error';
        record.error = lastError;
        continue;
      }
      const outcome = await invokeLambda(handler, event, fn);
      if (outcome.kind === 'ok') {
        record.outcome = 'ok';
        record.result = outcome.result;
        delete record.error;
        return;
      }
      record.outcome = outcome.kind;
      lastError =
        outcome.kind === 'timeout'
          ? `timed out after ${fn.timeoutMs ?? 30_000} ms`
          : outcome.error instanceof Error
            ? `${outcome.error.name}: ${outcome.error.message}`
            : String(outcome.error);
      record.error = lastError;
      log(`eventbridge: ${rule.name} → ${rule.target.module} attempt ${n}/${attempts} failed: ${lastError}`);
    }
    deadLetters.push({ rule: rule.name, target: rule.target.module, event, attempts, error: lastError });
    log(`eventbridge: ${rule.name} → ${rule.target.module}: event ${event.id} dead-lettered`);
  };

  const schedule = (rule: EventRule, event: BusEvent) => {
    const p = deliver(rule, event).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const busNameOk = (name: unknown) =>
    name === undefined || name === null || name === ''
      ? false
      : name === opts.eventBusName || name === busArn;

  const putEvents = (body: unknown) => {
    if (
      typeof body !== 'object' ||
      body === null ||
      !Array.isArray((body as { Entries?: unknown }).Entries)
    ) {
      throw new ProtocolError('ValidationException', 'Entries must be a list');
    }
    const entries = (body as { Entries: WireEntry[] }).Entries;
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw new ProtocolError('ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
    }
    let failed = 0;
    const results = entries.map((entry) => {
      const fail = (code: string, message: string) => {
        failed++;
        return { ErrorCode: code, ErrorMessage: message };
      };
      const injected = opts.injectFailure?.(entry);
      if (injected) return fail(injected.code, injected.message);
      if (
        typeof entry.Source !== 'string' ||
        typeof entry.DetailType !== 'string' ||
        typeof entry.Detail !== 'string'
      ) {
        return fail('InvalidArgument', 'Parameters Source, DetailType and Detail must be specified.');
      }
      if (!busNameOk(entry.EventBusName ?? 'default')) {
        return fail(
          'InvalidArgument',
          `Event bus ${String(entry.EventBusName ?? 'default')} does not exist.`,
        );
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return fail('MalformedDetail', 'Detail is malformed.');
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        return fail('MalformedDetail', 'Detail must be a JSON object.');
      }
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: LOCAL_ACCOUNT_ID,
        time: eventTime(timeOf(entry.Time)),
        region,
        resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
        detail,
      };
      const matched = rulesMatching(event, rules);
      published.push({
        event,
        eventBusName: opts.eventBusName,
        rules: matched.map((r) => r.name),
        receivedAt: new Date().toISOString(),
      });
      if (published.length > MAX_LOG) published.shift();
      for (const rule of matched) schedule(rule, event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: failed, Entries: results };
  };

  const send = (res: ServerResponse, status: number, body: unknown, type = JSON_11) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method === 'GET' && req.url?.startsWith('/_lcm/events')) {
          send(res, 200, { published, deliveries, deadLetters }, 'application/json');
          return;
        }
        if (req.method !== 'POST') throw new ProtocolError('UnknownOperationException', 'POST only', 405);
        const target = req.headers['x-amz-target'];
        const raw = await readBody(req, 1024 * 1024);
        if (target !== PUT_EVENTS_TARGET) {
          throw new ProtocolError(
            'UnknownOperationException',
            `operation ${String(target)} is not supported locally`,
          );
        }
        if (stopping) throw new ProtocolError('ServiceUnavailable', 'the local bus is stopping', 503);
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new ProtocolError('SerializationException', 'the request is not JSON');
        }
        send(res, 200, putEvents(body));
      } catch (e) {
        if (e instanceof ProtocolError) {
          send(res, e.status, { __type: e.type, message: e.message });
        } else {
          log(`eventbridge: internal error: ${e instanceof Error ? e.stack : String(e)}`);
          send(res, 500, { __type: 'InternalException', message: 'internal error' });
        }
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    eventBusName: opts.eventBusName,
    published,
    deliveries,
    deadLetters,
    idle,
    clear() {
      published.length = 0;
      deliveries.length = 0;
      deadLetters.length = 0;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await Promise.race([idle(), sleep(5000)]);
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), 2000);
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
      })();
      return stopped;
    },
  };
}
