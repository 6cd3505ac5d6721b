import { randomUUID } from 'node:crypto';
import { CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENTS_SPEC_VERSION, webhookHeaders } from '@lcm/shared/events';

/**
 * Signed CloudEvent delivery from the partner simulators to LCM's `POST /v1/events`, and the
 * timers a simulator schedules its own events with.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  /** Kept for callers that name their key; the Standard Webhooks form sends no key id. */
  keyId?: string | undefined;
  /** Attempts per event on network errors and 5xx (default 3). */
  attempts?: number | undefined;
  retryDelayMs?: number | undefined;
  timeoutMs?: number | undefined;
  /** Aborts delivery (the simulator is stopping). */
  signal?: AbortSignal | undefined;
}

/**
 * POSTs one CloudEvent in structured mode (`application/cloudevents+json`) signed in the Standard
 * Webhooks form (`webhook-id` = the event id, `webhook-timestamp`, `webhook-signature` over the
 * exact bytes sent), signed afresh on every attempt so a retry is inside LCM's replay window.
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
          ...webhookHeaders(opts.secret, event.id, raw),
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
  /** LCM's CloudEvents endpoint; without it no event is sent. */
  eventsUrl?: string | undefined;
  /** Partner secret the events are signed with (required with eventsUrl). */
  eventSecret?: string | undefined;
  eventKeyId?: string | undefined;
  /** Delivery attempts per event (default 3) and delay between them (default 200 ms). */
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
