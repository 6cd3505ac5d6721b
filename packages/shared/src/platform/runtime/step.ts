import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { logger } from './logger.ts';
import { flushMetrics } from './metric-buffer.ts';
import { traced, traceSubjectsOf } from './tracing.ts';

/**
 * The one wrapper of the Lambda handlers a workflow or a schedule invokes with a JSON input:
 * the Lambda context and the handler's keys on every log line, dependencies from the function's
 * builder (resolved inside the invocation, so a bad environment is a failed task, not a crashed
 * cold start), one line when it completes (with its duration), and errors mapped to the names
 * the state machine matches; the business metrics it recorded are published when it ends
 * (metric-buffer.ts). In Lambda with tracing on, the invocation is the subsegment `## <name>`,
 * annotated with the `sessionId` and `workerId` its input names (tracing.ts); an expected outcome
 * is not recorded as a fault. What differs between the session workflow, the fleet workflows and the
 * schedules is a `StepKind` (app/session-task.ts, app/fleet-task.ts).
 */
export interface StepKind {
  /** The log key holding the handler's name, and the first word of its messages. */
  readonly key: 'task' | 'job';
  /** The input field logged with every line (`sessionId`, `workerId`). */
  readonly subject?: string;
  /** The error the workflow sees for what the step threw; its `name` is what the ASL matches. */
  readonly toError?: (e: unknown) => Error;
  /** Outcomes the workflow handles by design: logged at `level` with `message`, not as errors. */
  readonly expected?: {
    readonly names: ReadonlySet<string>;
    readonly level: 'info' | 'warn';
    readonly message: string;
  };
  /** Log what the step returned with the completion line (the schedules' run summaries). */
  readonly logResult?: boolean;
}

export type StepHandler<I, O> = (event: I, context?: Context) => Promise<O>;

export function stepHandler<D, I, O>(
  kind: StepKind,
  name: string,
  step: (deps: D, input: I) => Promise<O>,
  deps: () => D,
  log: Logger = logger,
): StepHandler<I, O> {
  const keys = kind.subject ? [kind.key, kind.subject] : [kind.key];
  // An outcome the workflow handles by design (kind.expected) is not a fault of the trace.
  const isFault = (e: unknown) => !(e instanceof Error && kind.expected?.names.has(e.name));
  return (event, context) => traced(name, () => invoke(event, context), traceSubjectsOf(event), isFault);
  async function invoke(event: I, context?: Context): Promise<O> {
    if (context) log.addContext(context);
    const appended: Record<string, unknown> = { [kind.key]: name };
    if (kind.subject) {
      const subject = (event as Record<string, unknown> | null | undefined)?.[kind.subject];
      appended[kind.subject] = typeof subject === 'string' ? subject : undefined;
    }
    log.appendKeys(appended);
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const out = await step(deps(), event);
      log.info(`${kind.key} completed`, {
        durationMs: durationMs(),
        ...(kind.logResult ? { result: out } : {}),
      });
      return out;
    } catch (e) {
      const error = kind.toError ? kind.toError(e) : e instanceof Error ? e : new Error(String(e));
      const details = { durationMs: durationMs(), errorName: error.name, errorMessage: error.message };
      if (kind.expected?.names.has(error.name)) log[kind.expected.level](kind.expected.message, details);
      else log.error(`${kind.key} failed`, { ...details, error: e as Error });
      throw kind.toError ? error : e;
    } finally {
      // The business metrics the step recorded (business-metrics.ts), once per invocation.
      flushMetrics();
      log.removeKeys(keys);
    }
  }
}
