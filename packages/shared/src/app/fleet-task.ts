import { asFleetError } from '../fleet/index.ts';
import type { DepsParts, StepHandler, StepKind } from '../platform/index.ts';
import { stepHandler } from '../platform/index.ts';
import type { FleetEnv } from './env.ts';
import { type FleetRuntimeDeps, fleetDeps } from './fleet-env.ts';

/**
 * The fleet handlers through the runtime kit's step wrapper: `fleetTask` for the provisioning
 * and drain workflows' tasks (functions/tasks/fleet/*.ts), `fleetJob` for the schedules
 * (functions/schedules/*.ts). The task and worker id (or the job) on every log line, task errors
 * under the names the state machines match (`asFleetError`). A handler is one line, wiring the
 * heavy parts it uses: `export const handler = fleetTask('LaunchInstance', launchInstance,
 * { compute: ec2Compute });`.
 */

export type FleetParts = DepsParts<FleetRuntimeDeps, FleetEnv>;

export const FLEET_TASK: StepKind = {
  key: 'task',
  subject: 'workerId',
  toError: asFleetError,
  expected: {
    names: new Set(['Fleet.LicensePending', 'Fleet.InsufficientCapacity']),
    level: 'warn',
    message: 'task failed (retried by the workflow)',
  },
};

/** A schedule: logs the summary a run returns, rethrows failures as they are. */
export const FLEET_JOB: StepKind = { key: 'job', logResult: true };

export function fleetTask<I, O>(
  name: string,
  step: (deps: FleetRuntimeDeps, input: I) => Promise<O>,
  parts: FleetParts = {},
): StepHandler<I, O> {
  return stepHandler(FLEET_TASK, name, step, fleetDeps.with(parts));
}

export function fleetJob<O>(
  name: string,
  run: (deps: FleetRuntimeDeps) => Promise<O>,
  parts: FleetParts = {},
): StepHandler<unknown, O> {
  return stepHandler(FLEET_JOB, name, (deps: FleetRuntimeDeps) => run(deps), fleetDeps.with(parts));
}
