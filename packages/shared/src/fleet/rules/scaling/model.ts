import type { LabletSession, Worker, WorkerStatus, WorkerTemplate } from '../../../kernel/index.ts';
import {
  BILLABLE_WORKER_STATUSES,
  BOOTING_WORKER_STATUSES,
  SERVING_WORKER_STATUSES,
  ValidationError,
} from '../../../kernel/index.ts';

/**
 * What the scaling planners read of the fleet, and how they count it.
 *
 * Fleet counts used by the limits:
 * - serving fleet = PENDING + PROVISIONING + STARTING + RUNNING (what `minWorkers` guarantees);
 * - fleet size = serving + DRAINING + STOPPING, i.e. every worker holding a running instance
 *   (what `maxWorkers` caps); STOPPED workers hold only their volumes and count toward neither;
 * - in flight = PENDING + PROVISIONING + STARTING (what `maxConcurrentLaunches` caps).
 */

/** What the planners read of a worker. */
export type ScalingWorker = Pick<
  Worker,
  | 'id'
  | 'templateName'
  | 'status'
  | 'license'
  | 'podType'
  | 'amiId'
  | 'amiName'
  | 'declaredCapacity'
  | 'allocatedCapacity'
  | 'portRange'
  | 'leasedPortCount'
> &
  Partial<Pick<Worker, 'desiredStatus' | 'launchedAt' | 'idleSince' | 'lastActivityAt' | 'createdAt'>>;

/** What the planners read of a session. */
export type ScalingSession = Pick<
  LabletSession,
  'id' | 'status' | 'timeslot' | 'requirements' | 'licenseAffinity' | 'podType'
> &
  Partial<Pick<LabletSession, 'workerId' | 'amiRequirement' | 'portTemplate' | 'placementRejections'>>;

/** What the planners read of a template. */
export type ScalingTemplate = Pick<
  WorkerTemplate,
  'name' | 'capacity' | 'costPerHourUsd' | 'bootMinutes' | 'licenseType' | 'podType' | 'enabled' | 'portRange'
> &
  Partial<Pick<WorkerTemplate, 'amiId' | 'amiNamePattern'>>;

export const IN_FLIGHT: ReadonlySet<WorkerStatus> = new Set(BOOTING_WORKER_STATUSES);
const SERVING: ReadonlySet<WorkerStatus> = new Set(SERVING_WORKER_STATUSES);
const HOLDING_INSTANCE: ReadonlySet<WorkerStatus> = new Set(BILLABLE_WORKER_STATUSES);

export const MINUTE = 60_000;

export function parseInstant(value: string | undefined, field: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ValidationError(field, `must be an ISO date-time, got ${String(value)}`);
  return ms;
}

/** Fleet counts by the definitions at the top of this module. */
export function fleetCounts(workers: readonly ScalingWorker[]): {
  fleetSize: number;
  serving: number;
  inFlight: number;
  running: number;
  stopped: number;
} {
  let fleetSize = 0;
  let serving = 0;
  let inFlight = 0;
  let running = 0;
  let stopped = 0;
  for (const w of workers) {
    if (HOLDING_INSTANCE.has(w.status)) fleetSize++;
    if (SERVING.has(w.status)) serving++;
    if (IN_FLIGHT.has(w.status)) inFlight++;
    if (w.status === 'RUNNING') running++;
    if (w.status === 'STOPPED') stopped++;
  }
  return { fleetSize, serving, inFlight, running, stopped };
}

export const minutesText = (ms: number): string => `${Math.round(ms / MINUTE)} min`;
