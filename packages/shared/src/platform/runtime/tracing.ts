import { tracer } from './tracer.ts';

/** The X-Ray SDK's Subsegment, as Powertools' provider hands it over. */
type Subsegment = NonNullable<Parameters<Parameters<typeof tracer.provider.captureAsyncFunc>[1]>[0]>;

/**
 * Traces (issue 13, item 2), through the runtime kit's one Powertools `tracer`. In Lambda with
 * active tracing the X-Ray SDK gives each invocation a facade segment that cannot carry data; so
 * every handler wrapper runs its invocation in a subsegment `## <handler>` (`traced`) with the
 * Powertools annotations `ColdStart` and `Service`, and puts the ids it knows on it (`annotate`):
 * `sessionId` and `workerId`, searchable in X-Ray (`annotation.sessionId = "..."`). The AWS SDK
 * clients are captured where they are built (aws/client.ts) and the partner calls (CML, LDS,
 * grading) are subsegments named after the partner (`tracedCall`, from partners/http.ts).
 *
 * Subsegments are opened with the X-Ray SDK's captureAsyncFunc, which gives the callback its own
 * async context: concurrent calls of one invocation (the health sweep probes workers in parallel)
 * each nest under the right parent. Wherever tracing is off (tests, the local stack, outside
 * Lambda) each helper only runs its function.
 */

/** The ids a subsegment is annotated with: what a handler's parsed input names. */
export interface TraceSubjects {
  readonly sessionId?: string | undefined;
  readonly workerId?: string | undefined;
}

const SUBJECT_KEYS = ['sessionId', 'workerId'] as const;

/** The `sessionId` and `workerId` of a handler's input (top-level string fields), when present. */
export function traceSubjectsOf(input: unknown): TraceSubjects {
  if (typeof input !== 'object' || input === null) return {};
  const out: Record<string, string> = {};
  for (const key of SUBJECT_KEYS) {
    const v = (input as Record<string, unknown>)[key];
    if (typeof v === 'string' && v.length > 0) out[key] = v;
  }
  return out;
}

/** Annotates the current subsegment with the ids given (the handler's, inside `traced`). */
export function annotate(subjects: TraceSubjects): void {
  if (!tracer.isTracingEnabled()) return;
  for (const key of SUBJECT_KEYS) {
    const v = subjects[key];
    if (typeof v === 'string' && v.length > 0) tracer.putAnnotation(key, v);
  }
}

/**
 * Runs `fn` in a new subsegment `name` of the current segment, closed when it settles; what it
 * throws is recorded on the subsegment as its exception (a fault) unless `isFault` says otherwise.
 */
function inSubsegment<T>(
  name: string,
  fn: (sub: Subsegment | undefined) => Promise<T>,
  opts: { opened?: (sub: Subsegment) => void; isFault?: (e: unknown) => boolean } = {},
): Promise<T> {
  if (!tracer.isTracingEnabled()) return fn(undefined);
  return tracer.provider.captureAsyncFunc(name, async (sub?: Subsegment) => {
    if (!sub) return fn(undefined);
    try {
      opts.opened?.(sub);
      const out = await fn(sub);
      sub.close();
      return out;
    } catch (e) {
      if (opts.isFault?.(e) ?? true) sub.close(e as Error);
      else sub.close();
      throw e;
    }
  }) as Promise<T>;
}

/**
 * Runs one invocation of a handler in its subsegment `## <name>`, annotated with `ColdStart`,
 * `Service` and the `subjects` known from its input (more can be added inside with `annotate`).
 * What it throws is recorded on the subsegment as a fault (unless `isFault` says it is not one:
 * an API's 4xx answer) and thrown on.
 */
export function traced<T>(
  name: string,
  fn: () => Promise<T>,
  subjects: TraceSubjects = {},
  isFault?: (e: unknown) => boolean,
): Promise<T> {
  return inSubsegment(`## ${name}`, () => fn(), {
    opened: () => {
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
      annotate(subjects);
    },
    ...(isFault ? { isFault } : {}),
  });
}

/** One call to a partner, as its subsegment records it (nothing from headers, query or body). */
export interface TracedCall {
  readonly method: string;
  /** The path below the partner's base URL, query string excluded. */
  readonly route: string;
  /** The client's name of the operation (`importLab`, `createSession`, ...). */
  readonly operation: string;
}

/** What the call ended with, for its subsegment. */
export interface CallOutcome {
  readonly status?: number | undefined;
  readonly attempts?: number | undefined;
}

/**
 * Runs a call to `partner` (`cml`, `lds`, `grading`) in a remote subsegment named after it, with
 * the method, route, operation, final status and attempts as metadata (namespace `partner`), the
 * partner and operation as annotations, and the HTTP block X-Ray's service map reads; a 4xx
 * marks it error (429 throttle), a 5xx or no answer fault. `outcomeOf` reads the status from what
 * the call returned or threw.
 */
export function tracedCall<T>(
  partner: string,
  call: TracedCall,
  fn: () => Promise<T>,
  outcomeOf: (result: { value?: T; error?: unknown }) => CallOutcome,
): Promise<T> {
  const isFault = (status: number | undefined) => status === undefined || status >= 500;
  return inSubsegment(
    partner,
    async (sub) => {
      if (!sub) return fn();
      sub.addAttribute('namespace', 'remote');
      sub.addAnnotation('partner', partner);
      sub.addAnnotation('operation', call.operation);
      const record = (outcome: CallOutcome) => {
        const { status, attempts } = outcome;
        sub.addMetadata('call', { ...call, status, attempts }, 'partner');
        const http = { request: { method: call.method, url: call.route }, response: { status } };
        sub.addAttribute('http', http);
        if (status === 429) sub.addThrottleFlag();
        if (status !== undefined && status >= 400 && status < 500) sub.addErrorFlag();
        if (isFault(status)) sub.addFaultFlag();
      };
      try {
        const value = await fn();
        record(outcomeOf({ value }));
        return value;
      } catch (error) {
        record(outcomeOf({ error }));
        throw error;
      }
    },
    { isFault: (error) => isFault(outcomeOf({ error }).status) },
  );
}
