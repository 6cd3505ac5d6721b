import { METRICS_NAMESPACE } from './service.ts';

/**
 * The business metrics of LCM: one namespace (METRICS_NAMESPACE, `LCM`), one name per fact, written
 * once here so the code that emits them (through the runtime kit's `metrics`) and the alarms and
 * dashboard of the observability stack (infra/lib/observability-stack.ts) cannot disagree.
 *
 * Contract for the emitters: every metric carries the `stage` dimension (LCM_STAGE) beside
 * Powertools' `service`, plus exactly the `dimensions` of its entry, and each data point is
 * emitted once with that one dimension set. The alarms aggregate with a Metrics Insights query
 * over the namespace filtered by `stage` (`SELECT SUM(<name>) FROM LCM WHERE stage = '<stage>'`),
 * so they do not depend on which service emits a metric; a second dimension set for the same
 * data point would be counted twice.
 *
 * The emitters (business-metrics.ts: `recordMetric`, published by the handlers' one wrapper):
 * the session and worker metrics are derived from table changes by the outbox consumer
 * (events/outbox-metrics.ts), the inbound ones where ingest decides (events/ingest.ts), the
 * placement ones where placement decides (sessions/place-session.ts), `LicenseDeregistrations` by
 * the worker drain before a stop or termination (fleet/steps/drain.ts), `TeardownFailures` by the
 * stuck-session sweep (sessions/stuck-sessions.ts). `OutboxLagSeconds` comes from the outbox
 * consumer too. The `Fleet*` gauges come from the scale-up scaler's run (fleet/scalers.ts, every
 * minute) through the pure rule fleet/rules/fleet-gauges.ts: each run records the fleet as it
 * read it, so a gauge's MAXIMUM (or AVERAGE) over a period is its level, never its SUM. An alarm on a metric with no data in its period stays in
 * INSUFFICIENT_DATA, treated as not breaching.
 */
export const METRIC_NAMESPACE = METRICS_NAMESPACE;

/** Dimension names of the business metrics. */
export const METRIC_DIMENSIONS = {
  stage: 'stage',
  template: 'template',
  definition: 'definition',
  partner: 'partner',
  reason: 'reason',
  /** A worker status (the fleet gauges). */
  status: 'status',
  /** A capacity dimension of kernel/capacity.ts: cpuCores, memoryGb, storageGb, maxNodes. */
  resource: 'resource',
} as const;

export interface BusinessMetric {
  /** The CloudWatch metric name. */
  readonly name: string;
  /** Powertools MetricUnit name (`Count`, `Seconds`, `None`). */
  readonly unit: 'Count' | 'Seconds' | 'None';
  /** Dimensions besides `stage` (and Powertools' `service`). */
  readonly dimensions: readonly (keyof typeof METRIC_DIMENSIONS)[];
  /** When it is recorded and what one data point means. */
  readonly meaning: string;
}

const metric = (
  name: string,
  unit: BusinessMetric['unit'],
  meaning: string,
  dimensions: BusinessMetric['dimensions'] = [],
): BusinessMetric => ({ name, unit, meaning, dimensions });

/** Every business metric, by key. */
export const BUSINESS_METRICS = {
  sessionsBooked: metric(
    'SessionsBooked',
    'Count',
    'a session was created (POST /v1/sessions, not a replay)',
    ['definition'],
  ),
  sessionsReady: metric('SessionsReady', 'Count', 'a session reached READY'),
  /**
   * Recorded once per session reaching READY: 1 when it was late (READY after its timeslot start),
   * 0 when on time. Its average over a period is the late-READY share.
   */
  sessionReadyLate: metric(
    'SessionReadyLate',
    'None',
    'per session reaching READY: 1 when READY came after the timeslot start, else 0 (the average is the late share)',
  ),
  sessionLatenessSeconds: metric(
    'SessionLatenessSeconds',
    'Seconds',
    'per late session: seconds from the timeslot start to READY',
  ),
  sessionsNoCapacity: metric(
    'SessionsNoCapacity',
    'Count',
    'a session ended NO_CAPACITY: no worker could take it before its start',
  ),
  sessionsTerminated: metric('SessionsTerminated', 'Count', 'a session reached TERMINATED', ['reason']),
  teardownFailures: metric(
    'TeardownFailures',
    'Count',
    'a session teardown step failed for good (capacity, ports, CML lab or LDS session left behind)',
  ),
  gradingOutcomes: metric('GradingOutcomes', 'Count', 'a grading finished', ['reason']),
  placementAttempts: metric(
    'PlacementAttempts',
    'Count',
    'a placement decided for a PENDING session: reason PLACED or NO_FIT (nothing fits now; the workflow retries)',
    ['reason'],
  ),
  placementRejections: metric(
    'PlacementRejections',
    'Count',
    'per placement that found no fit: workers rejected, by category (reason: capacity, ports, license, ...)',
    ['reason'],
  ),
  workersFailed: metric(
    'WorkersFailed',
    'Count',
    'a worker was marked FAILED (provisioning or health sweep)',
    ['template'],
  ),
  launches: metric('WorkerLaunches', 'Count', 'an instance launch or start was requested', ['template']),
  launchesFailed: metric('WorkerLaunchesFailed', 'Count', 'an instance launch or start failed', ['template']),
  launchCapacityFailures: metric(
    'WorkerLaunchCapacityFailures',
    'Count',
    'a RunInstances attempt of a worker launch failed for capacity (InsufficientInstanceCapacity, ...); the launch went on to the next subnet or template',
    ['template'],
  ),
  bootSeconds: metric('WorkerBootSeconds', 'Seconds', 'seconds from launch to CML ready', ['template']),
  drains: metric('WorkerDrains', 'Count', 'a worker drain was started'),
  licenseDeregistrations: metric(
    'LicenseDeregistrations',
    'Count',
    "a worker's licence deregistration before its stop or termination, by outcome (DEREGISTERED, LOCAL_ONLY, FAILED)",
    ['reason'],
  ),
  inboundAccepted: metric(
    'InboundEventsAccepted',
    'Count',
    'a partner CloudEvent was accepted at POST /v1/events',
    ['partner'],
  ),
  inboundRejected: metric(
    'InboundEventsRejected',
    'Count',
    'a partner CloudEvent was rejected at POST /v1/events (signature, clock skew, schema, unknown partner)',
    ['partner', 'reason'],
  ),
  fleetWorkers: metric(
    'FleetWorkers',
    'Count',
    'gauge, per scale-up run: workers in the status (every status but TERMINATED, zeros included)',
    ['status'],
  ),
  fleetBillableWorkers: metric(
    'FleetBillableWorkers',
    'Count',
    'gauge, per scale-up run: workers of the template holding a running instance (serving, draining, stopping)',
    ['template'],
  ),
  fleetTemplateCostPerHourUsd: metric(
    'FleetTemplateCostPerHourUsd',
    'None',
    "gauge, per scale-up run: the template's billable workers × its costPerHourUsd",
    ['template'],
  ),
  fleetCostPerHourUsd: metric(
    'FleetCostPerHourUsd',
    'None',
    "gauge, per scale-up run: USD per hour of the billable workers (sum of their templates' costPerHourUsd)",
  ),
  fleetCapacityDeclared: metric(
    'FleetCapacityDeclared',
    'None',
    'gauge, per scale-up run: declared capacity of the live workers (RUNNING, DRAINING) in the resource',
    ['resource'],
  ),
  fleetCapacityAllocated: metric(
    'FleetCapacityAllocated',
    'None',
    'gauge, per scale-up run: capacity the placed sessions hold on the live workers in the resource',
    ['resource'],
  ),
  outboxLagSeconds: metric(
    'OutboxLagSeconds',
    'Seconds',
    'per published outbox event: seconds from the table write to the bus',
  ),
} as const satisfies Record<string, BusinessMetric>;

export type BusinessMetricKey = keyof typeof BUSINESS_METRICS;
