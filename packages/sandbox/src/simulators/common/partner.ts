import { type EventDelivery, emitPartnerEvent, type PartnerEventOptions, Timers } from './events.ts';
import type { FaultSpec } from './faults.ts';
import {
  HttpError,
  header,
  type RequestLogEntry,
  type SimReply,
  type SimRequest,
  startSimServer,
} from './server.ts';

/**
 * The kit of the partner simulators (LDS, Grading Engine): their error body
 * (`{error: {code, message}}`), the API under `/api/v1/` behind an `x-api-key`, signed events
 * recorded as deliveries, timers, and the control surface their handles share. Each simulator
 * keeps only its own domain: its state, its routes, when it sends which event.
 */

/** The server and event options every partner simulator takes. */
export interface PartnerSimulatorOptions extends PartnerEventOptions {
  host?: string | undefined;
  port?: number | undefined;
}

/** What every partner simulator's handle offers. */
export interface PartnerSimulator {
  url: string;
  port: number;
  /** Aborts deliveries in flight, cancels the timers (awaiting what runs), closes the server. */
  stop(): Promise<void>;
  /** Events sent so far. */
  deliveries(): EventDelivery[];
  /** Resolves when no timer or delivery is pending. */
  idle(): Promise<void>;
  injectFault(spec: FaultSpec): string;
  clearFaults(): void;
  requests(): RequestLogEntry[];
}

/** A partner's error body. */
export const partnerError = (status: number, message: string) => ({ error: { code: status, message } });

/** An error the partner answers with its error body. */
export const partnerFail = (status: number, message: string): HttpError =>
  new HttpError(status, message, partnerError(status, message));

/** A required string field of a request body, 1 to `max` characters (400 naming the field otherwise). */
export const stringField = (v: unknown, field: string, max: number): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw partnerFail(400, `${field} must be a string of 1-${max} characters`);
  return v;
};

/** Routes of a partner simulator: a reply, or undefined when the call is not one of them. */
export type PartnerRoute = (req: SimRequest) => SimReply | undefined;

export interface PartnerRoutes {
  /** Routes answered without an API key (the simulator's own `/_sim` views, pages). */
  open?: PartnerRoute;
  /** The partner's API under `/api/v1/`, called once the `x-api-key` matched; undefined = 404. */
  api: PartnerRoute;
}

export interface PartnerSimulatorKit {
  /** The simulator's timers; stop() cancels them and idle() waits for them. */
  readonly timers: Timers;
  /** Sends a signed event from the partner's source and records its delivery (undefined: events are off). */
  emit(event: {
    type: string;
    subject: string;
    data: Record<string, unknown>;
    time?: string;
  }): Promise<EventDelivery | undefined>;
  /** Starts the server with the simulator's routes (after the shared `/_sim` control routes). */
  serve(routes: PartnerRoutes): Promise<PartnerSimulator>;
}

/**
 * The kit of one partner simulator: `apiKey` is the key its API expects, `source` the CloudEvent
 * source of its events. Throws when events have a URL but no secret to sign them with.
 */
export function partnerSimulatorKit(
  opts: PartnerSimulatorOptions,
  partner: { apiKey: string; source: string },
): PartnerSimulatorKit {
  if (opts.eventsUrl && !opts.eventSecret) throw new Error('eventSecret is required with eventsUrl');
  const timers = new Timers();
  const abort = new AbortController();
  const deliveries: EventDelivery[] = [];

  const api = (routes: PartnerRoutes, req: SimRequest): SimReply => {
    if (!req.path.startsWith('/api/v1/')) throw partnerFail(404, 'Not found');
    if (header(req, 'x-api-key') !== partner.apiKey) throw partnerFail(401, 'missing or invalid API key');
    const reply = routes.api(req);
    if (!reply) throw partnerFail(404, 'Not found');
    return reply;
  };

  return {
    timers,
    emit: async (event) => {
      const delivery = await emitPartnerEvent(opts, abort.signal, { source: partner.source, ...event });
      if (delivery) deliveries.push(delivery);
      return delivery;
    },
    serve: async (routes) => {
      const server = await startSimServer({
        host: opts.host,
        port: opts.port,
        errorBody: partnerError,
        handler: (req) => routes.open?.(req) ?? api(routes, req),
      });
      return {
        url: server.url,
        port: server.port,
        stop: async () => {
          abort.abort();
          await timers.stop();
          await server.close();
        },
        deliveries: () => deliveries.map((d) => ({ ...d })),
        idle: () => timers.idle(),
        injectFault: server.injectFault,
        clearFaults: server.clearFaults,
        requests: server.requests,
      };
    },
  };
}
