import { isDomainError } from '../../kernel/index.ts';
import { IntegrationError, isComputeError } from '../../platform/index.ts';

/**
 * Errors of the fleet workflow tasks. A Lambda task's failure reaches Step Functions as its
 * error's `name`, so these names are what the state machines' Retry and Catch match on:
 *
 * | name                       | meaning                                                    |
 * |----------------------------|------------------------------------------------------------|
 * | Fleet.Transient            | throttling, 5xx, network, a lost optimistic-locking race   |
 * | Fleet.InsufficientCapacity | EC2 has no capacity for the instance type now              |
 * | Fleet.ImageNotFound        | the AMI id does not exist / nothing matches the pattern    |
 * | Fleet.LaunchFailed         | RunInstances refused (limits, bad parameters)              |
 * | Fleet.InstanceNotRunning   | the instance did not reach running (with an IP) in time    |
 * | Fleet.InstanceLost         | the instance stopped or vanished underneath                |
 * | Fleet.CmlNotReady          | CML did not report ready within boot minutes + margin      |
 * | Fleet.LicensePending       | registration sent, CML does not report COMPLETED yet       |
 * | Fleet.LicenseFailed        | the template asks for a license and registration failed    |
 * | Fleet.CmlError             | CML refused a call (non-retryable HTTP error)              |
 * | Fleet.WorkerChanged        | the worker is not in a status this step can act on         |
 * | Fleet.WorkerNotFound       | the worker does not exist                                  |
 *
 * FLEET_ERROR_HANDLING says which the state machines retry.
 */
export const FLEET_ERRORS = [
  'Fleet.Transient',
  'Fleet.InsufficientCapacity',
  'Fleet.ImageNotFound',
  'Fleet.LaunchFailed',
  'Fleet.InstanceNotRunning',
  'Fleet.InstanceLost',
  'Fleet.CmlNotReady',
  'Fleet.LicensePending',
  'Fleet.LicenseFailed',
  'Fleet.CmlError',
  'Fleet.WorkerChanged',
  'Fleet.WorkerNotFound',
] as const;
export type FleetErrorName = (typeof FLEET_ERRORS)[number];

/**
 * How a workflow's state machine treats an error name (this table and the session workflow's
 * WORKFLOW_ERROR_HANDLING): `retried` by a Retry that names it, `caught` by a Catch that names it,
 * or `raised-only` (thrown by a task or sent as a task failure, handled by the catch-all
 * `States.ALL` and told apart in code).
 */
export type AslErrorHandling = 'retried' | 'caught' | 'raised-only';

/**
 * What statemachines/worker-provisioning.asl.json and worker-drain.asl.json do with each name, over
 * both: `retried` (with backoff; Transient everywhere, InsufficientCapacity and LicensePending a few
 * times while provisioning) or `raised-only` (the catch-all `States.ALL` sends it to the Fail*
 * handler). test/workflows/error-names.test.ts checks it against the ASL both ways.
 */
export const FLEET_ERROR_HANDLING: Readonly<Record<FleetErrorName, AslErrorHandling>> = {
  'Fleet.Transient': 'retried',
  'Fleet.InsufficientCapacity': 'retried',
  'Fleet.ImageNotFound': 'raised-only',
  'Fleet.LaunchFailed': 'raised-only',
  'Fleet.InstanceNotRunning': 'raised-only',
  'Fleet.InstanceLost': 'raised-only',
  'Fleet.CmlNotReady': 'raised-only',
  'Fleet.LicensePending': 'retried',
  'Fleet.LicenseFailed': 'raised-only',
  'Fleet.CmlError': 'raised-only',
  'Fleet.WorkerChanged': 'raised-only',
  'Fleet.WorkerNotFound': 'raised-only',
};

export class FleetTaskError extends Error {
  constructor(name: FleetErrorName, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = name;
  }
}

export const fleetError = (name: FleetErrorName, message: string, cause?: unknown): FleetTaskError =>
  new FleetTaskError(name, message, { cause });

/**
 * Any error thrown inside a fleet task, as the FleetTaskError the state machine should see:
 * compute and integration errors by their code, domain errors by kind; anything unknown is
 * Transient (retried, then caught as a failure).
 */
export function asFleetError(e: unknown): FleetTaskError {
  if (e instanceof FleetTaskError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (isComputeError(e)) {
    switch (e.code) {
      case 'IMAGE_NOT_FOUND':
        return fleetError('Fleet.ImageNotFound', message, e);
      case 'INSUFFICIENT_CAPACITY':
        return fleetError('Fleet.InsufficientCapacity', message, e);
      case 'LIMIT_EXCEEDED':
      case 'INVALID_REQUEST':
        return fleetError('Fleet.LaunchFailed', message, e);
      case 'INSTANCE_NOT_FOUND':
        return fleetError('Fleet.InstanceLost', message, e);
      case 'INCORRECT_STATE':
        return fleetError('Fleet.WorkerChanged', message, e);
      default:
        return fleetError('Fleet.Transient', message, e);
    }
  }
  if (isDomainError(e)) {
    if (e.code === 'VERSION_CONFLICT') return fleetError('Fleet.Transient', message, e);
    if (e.code === 'NOT_FOUND') return fleetError('Fleet.WorkerNotFound', message, e);
    return fleetError('Fleet.WorkerChanged', message, e);
  }
  if (e instanceof IntegrationError) {
    return fleetError(e.retryable ? 'Fleet.Transient' : 'Fleet.CmlError', message, e);
  }
  return fleetError('Fleet.Transient', message, e);
}
