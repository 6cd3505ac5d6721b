import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { asFleetError } from '../fleet/index.ts';
import type { IntegrationLogger } from '../platform/index.ts';
import { FLEET_ENV_KEYS, type FleetRuntimeDeps, fleetDepsFromEnv } from './fleet-env.ts';

/**
 * The wrappers of the fleet Lambda handlers: `fleetTask` for the provisioning and drain
 * workflows' tasks (functions/tasks/fleet/*.ts), `fleetJob` for the schedules
 * (functions/schedules/*.ts). Powertools Logger with the Lambda context and the worker id,
 * dependencies from the environment once per cold start (plus the override below), and task
 * errors reported under the names the state machines match (`asFleetError`).
 */

export const fleetLogger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lcm-fleet' });

const integrationLogger: IntegrationLogger = {
  debug: (message, extra) => fleetLogger.debug(message, { ...extra }),
  warn: (message, extra) => fleetLogger.warn(message, { ...extra }),
};

let cached: { key: string; deps: FleetRuntimeDeps } | undefined;
let override: Partial<FleetRuntimeDeps> | undefined;

/**
 * Replaces parts of the environment-built dependencies in this process: the local stack passes
 * the sandbox compute provider (there is no local EC2 endpoint), tests pass their fakes.
 * `undefined` removes the override.
 */
export function setFleetDepsOverride(parts: Partial<FleetRuntimeDeps> | undefined): void {
  override = parts;
}

/** The process's fleet dependencies, rebuilt when the environment they come from changes. */
export function fleetDeps(): FleetRuntimeDeps {
  const key = FLEET_ENV_KEYS.map((k) => process.env[k] ?? '').join('\u0000');
  if (cached?.key !== key) cached = { key, deps: fleetDepsFromEnv(process.env, integrationLogger) };
  return override ? { ...cached.deps, ...override } : cached.deps;
}

/** Expected outcomes a workflow handles by design: logged as warnings, not errors. */
const EXPECTED: ReadonlySet<string> = new Set(['Fleet.LicensePending', 'Fleet.InsufficientCapacity']);

export function fleetTask<I, O>(
  taskName: string,
  step: (deps: FleetRuntimeDeps, input: I) => Promise<O>,
  opts: { deps?: () => FleetRuntimeDeps } = {},
): (event: I, context?: Context) => Promise<O> {
  const depsOf = opts.deps ?? fleetDeps;
  return async (event, context) => {
    if (context) fleetLogger.addContext(context);
    const workerId = (event as { workerId?: unknown } | null)?.workerId;
    fleetLogger.appendKeys({ task: taskName, workerId: typeof workerId === 'string' ? workerId : undefined });
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const out = await step(depsOf(), event);
      fleetLogger.info('task completed', { durationMs: durationMs() });
      return out;
    } catch (e) {
      const error = asFleetError(e);
      const details = { durationMs: durationMs(), errorName: error.name, errorMessage: error.message };
      if (EXPECTED.has(error.name)) fleetLogger.warn('task failed (retried by the workflow)', details);
      else fleetLogger.error('task failed', { ...details, error: e as Error });
      throw error;
    } finally {
      fleetLogger.removeKeys(['task', 'workerId']);
    }
  };
}

/** A scheduled job: logs its result (the summary a run returns) and rethrows failures. */
export function fleetJob<O>(
  jobName: string,
  run: (deps: FleetRuntimeDeps) => Promise<O>,
  opts: { deps?: () => FleetRuntimeDeps } = {},
): (event?: unknown, context?: Context) => Promise<O> {
  const depsOf = opts.deps ?? fleetDeps;
  return async (_event, context) => {
    if (context) fleetLogger.addContext(context);
    fleetLogger.appendKeys({ job: jobName });
    const started = performance.now();
    try {
      const out = await run(depsOf());
      fleetLogger.info('job completed', { durationMs: Math.round(performance.now() - started), result: out });
      return out;
    } catch (e) {
      fleetLogger.error('job failed', { error: e as Error });
      throw e;
    } finally {
      fleetLogger.removeKeys(['job']);
    }
  };
}
