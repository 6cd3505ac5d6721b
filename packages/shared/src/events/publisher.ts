import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { eventBridgeClient } from '../platform/index.ts';

/**
 * Publishes CloudEvents to the EventBridge bus (DESIGN §7): `Source` = CloudEvent source,
 * `DetailType` = CloudEvent type, `Detail` = the whole CloudEvent as structured JSON,
 * `Time` = the CloudEvent time. PutEvents takes at most 10 entries and 256 KiB per call, so
 * events are sent in chunks within both limits. Entries a call reports as failed with a
 * retryable code (throttling, internal failure) are sent again a few times with backoff; what
 * still fails is a PublishError listing every failed event, so the caller can answer 503/502
 * (ingest) or report the stream record as failed (outbox). Publishing is at least once: the
 * CloudEvent `id` (with `source`) is what consumers deduplicate on.
 */

/** The CloudEvent fields the publisher needs; the rest goes into Detail as it is. */
export interface PublishableEvent {
  id: string;
  source: string;
  type: string;
  time?: string | undefined;
}

export interface EventPublisher {
  /** Resolves when every event is on the bus; throws PublishError otherwise. */
  publish(events: readonly PublishableEvent[]): Promise<void>;
}

export interface FailedPublish {
  id: string;
  source: string;
  type: string;
  errorCode: string;
  errorMessage: string;
}

export class PublishError extends Error {
  /** true when every failure is transient (throttling, internal failure, network). */
  readonly retryable: boolean;
  constructor(
    readonly failed: readonly FailedPublish[],
    opts: { retryable: boolean; cause?: unknown },
  ) {
    const codes = [...new Set(failed.map((f) => f.errorCode))].join(', ');
    super(`${failed.length} event(s) were not published (${codes})`, { cause: opts.cause });
    this.name = 'PublishError';
    this.retryable = opts.retryable;
  }
}

export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
/** PutEvents entry size: Time (14 bytes when set) + Source + DetailType + Detail + Resources. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (s) size += Buffer.byteLength(s, 'utf8');
  }
  return size;
}

export const RETRYABLE_ENTRY_CODES: ReadonlySet<string> = new Set(['ThrottlingException', 'InternalFailure']);

export function toPutEventsEntry(event: PublishableEvent, eventBusName: string): PutEventsRequestEntry {
  const time = event.time !== undefined ? new Date(event.time) : undefined;
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event.type,
    Detail: JSON.stringify(event),
    ...(time && !Number.isNaN(time.getTime()) ? { Time: time } : {}),
  };
}

/** Splits entries into PutEvents calls of at most 10 entries and 256 KiB. */
export function chunkEntries<T extends PutEventsRequestEntry>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length > 0 && (current.length === MAX_ENTRIES_PER_CALL || bytes + size > MAX_REQUEST_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface EventBridgePublisherOptions {
  client: Pick<EventBridgeClient, 'send'>;
  eventBusName: string;
  /** Calls per entry including the first (default 3). */
  maxAttempts?: number;
  /** Backoff before retry n (1-based); default 50 ms · 2^(n-1) with jitter. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultBackoff = (attempt: number) => 50 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Pending {
  event: PublishableEvent;
  entry: PutEventsRequestEntry;
}

export class EventBridgePublisher implements EventPublisher {
  readonly eventBusName: string;
  private readonly client: Pick<EventBridgeClient, 'send'>;
  private readonly maxAttempts: number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: EventBridgePublisherOptions) {
    this.client = opts.client;
    this.eventBusName = opts.eventBusName;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.backoffMs = opts.backoffMs ?? defaultBackoff;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  async publish(events: readonly PublishableEvent[]): Promise<void> {
    const failed: FailedPublish[] = [];
    let pending: Pending[] = [];
    for (const event of events) {
      const entry = toPutEventsEntry(event, this.eventBusName);
      if (entrySize(entry) > MAX_REQUEST_BYTES) {
        failed.push(failure(event, 'EntryTooLarge', `the event is larger than ${MAX_REQUEST_BYTES} bytes`));
      } else {
        pending.push({ event, entry });
      }
    }
    let lastError: unknown;
    for (let attempt = 1; pending.length > 0 && attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs(attempt - 1));
      const retry: Pending[] = [];
      for (const chunk of chunkEntries(pending.map((p) => p.entry))) {
        const batch = pending.filter((p) => chunk.includes(p.entry));
        let results: PutEventsResultEntry[];
        try {
          const out = await this.client.send(new PutEventsCommand({ Entries: chunk }));
          results = out.Entries ?? [];
          if ((out.FailedEntryCount ?? 0) === 0 && results.length === chunk.length) continue;
        } catch (e) {
          // The whole call failed (network, throttled request, access denied).
          lastError = e;
          const code = (e as { name?: string }).name ?? 'Error';
          if (isRetryableCallError(e)) retry.push(...batch);
          else failed.push(...batch.map((p) => failure(p.event, code, (e as Error).message ?? code)));
          continue;
        }
        batch.forEach((p, i) => {
          const r = results[i];
          if (r?.EventId && !r.ErrorCode) return;
          const code = r?.ErrorCode ?? 'MissingResult';
          if (RETRYABLE_ENTRY_CODES.has(code) || code === 'MissingResult') retry.push(p);
          else failed.push(failure(p.event, code, r?.ErrorMessage ?? code));
        });
      }
      pending = retry;
      if (attempt === this.maxAttempts) {
        failed.push(
          ...pending.map((p) => failure(p.event, 'RetriesExhausted', 'still failing after retries')),
        );
      }
    }
    if (failed.length > 0) {
      const retryable = failed.every((f) => f.errorCode === 'RetriesExhausted');
      throw new PublishError(failed, { retryable, cause: lastError });
    }
  }
}

const failure = (event: PublishableEvent, errorCode: string, errorMessage: string): FailedPublish => ({
  id: event.id,
  source: event.source,
  type: event.type,
  errorCode,
  errorMessage,
});

const RETRYABLE_CALL_ERRORS = new Set([
  'ThrottlingException',
  'InternalException',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
]);

function isRetryableCallError(e: unknown): boolean {
  const err = e as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (err.$retryable) return true;
  if (err.name && RETRYABLE_CALL_ERRORS.has(err.name)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // No HTTP status: the request never got an answer (connection refused/reset).
  return true;
}

export const EVENT_BUS_ENV = 'EVENT_BUS_NAME';

/**
 * The publisher on the bus named by EVENT_BUS_NAME, through the runtime kit's EventBridge client
 * (AWS_ENDPOINT_URL_EVENTBRIDGE points it at the local bus). The handlers' dependency builders
 * (app/) call it once per cold start.
 */
export function eventPublisherFromEnv(env: Readonly<Record<string, string | undefined>>): EventPublisher {
  const eventBusName = env[EVENT_BUS_ENV];
  if (!eventBusName) throw new Error(`${EVENT_BUS_ENV} is not set`);
  return new EventBridgePublisher({ client: eventBridgeClient(), eventBusName });
}
