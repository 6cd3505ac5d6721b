import { BOOTING_WORKER_STATUSES, type WorkerStatus } from '../kernel/index.ts';
import { ENTITY, type MetricPoint, TABLE } from '../platform/index.ts';
import { type ChangeRecord, digestOf, type Item, reportOf } from './outbox.ts';

/**
 * The business metrics a table change stands for (PURE; issue 13, item 1). The session and
 * worker facts are entity changes, and every change reaches the outbox consumer once per
 * delivery of its stream record with the old and new image, so the metrics are derived here
 * instead of in the use cases that write them:
 *
 *   LabletSession INSERT                    → SessionsBooked {definition}
 *                 status → READY            → SessionsReady, SessionReadyLate (1 late / 0 on time),
 *                                             SessionLatenessSeconds when late (READY's updatedAt
 *                                             minus the timeslot start)
 *                 status → TERMINATED       → SessionsTerminated {reason: failureReason or COMPLETED},
 *                                             SessionsNoCapacity when NO_CAPACITY,
 *                                             GradingOutcomes {reason} when GRADING_FAILED,
 *                                             GRADING_TIMEOUT or GRADING_UNAVAILABLE
 *   ScoreReport   new report                → GradingOutcomes {reason: PASSED | FAILED}
 *   Worker        PENDING → PROVISIONING,
 *                 STOPPED → STARTING        → WorkerLaunches {template}
 *                 STARTING → RUNNING        → WorkerBootSeconds {template}: from the launch (the
 *                                             last such transition in stateHistory) to RUNNING
 *                 → FAILED                  → WorkersFailed {template}, and WorkerLaunchesFailed
 *                                             {template} when it was booting
 *                 → DRAINING                → WorkerDrains
 *
 * The same conditions as the events (outbox.ts): a MODIFY that does not change the status (or
 * the report) counts nothing. Delivery semantics: outbox-publisher.ts records a change's points
 * only once its events are published, and they are printed when the invocation returns, so a
 * record counts once per successful processing — a batch retried after a crash or timeout counts
 * once, and only a record processed again after its invocation printed (a shard re-read, a
 * partial-batch report lost) counts twice: at least once, like the events themselves.
 */

/** Failure reasons of the session workflow that are a grading outcome (sessions/steps/errors.ts). */
const GRADING_FAILURES: ReadonlySet<string> = new Set([
  'GRADING_FAILED',
  'GRADING_TIMEOUT',
  'GRADING_UNAVAILABLE',
]);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const instant = (v: unknown): number | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
};

export function metricsFor(record: ChangeRecord): MetricPoint[] {
  if (record.eventName === 'REMOVE' || !record.newImage) return [];
  const item = record.newImage;
  switch (item[TABLE.entityAttribute]) {
    case ENTITY.session:
      return sessionMetrics(record, item);
    case ENTITY.score:
      return scoreMetrics(record, item);
    case ENTITY.worker:
      return workerMetrics(record, item);
    default:
      return [];
  }
}

function sessionMetrics(record: ChangeRecord, s: Item): MetricPoint[] {
  if (record.eventName === 'INSERT') {
    return [{ key: 'sessionsBooked', value: 1, dimensions: { definition: str(s.definitionId) } }];
  }
  const from = record.oldImage?.status;
  const to = s.status;
  if (from === to) return [];
  if (to === 'READY') {
    const start = instant((s.timeslot as Item | undefined)?.start);
    const at = instant(s.updatedAt) ?? instant(record.approximateCreationTime);
    const lateSeconds = start !== undefined && at !== undefined ? (at - start) / 1000 : 0;
    const late = lateSeconds > 0;
    return [
      { key: 'sessionsReady', value: 1 },
      { key: 'sessionReadyLate', value: late ? 1 : 0 },
      ...(late ? [{ key: 'sessionLatenessSeconds' as const, value: lateSeconds }] : []),
    ];
  }
  if (to === 'TERMINATED') {
    const reason = str(s.failureReason) ?? 'COMPLETED';
    return [
      { key: 'sessionsTerminated', value: 1, dimensions: { reason } },
      ...(reason === 'NO_CAPACITY' ? [{ key: 'sessionsNoCapacity' as const, value: 1 }] : []),
      ...(GRADING_FAILURES.has(reason)
        ? [{ key: 'gradingOutcomes' as const, value: 1, dimensions: { reason } }]
        : []),
    ];
  }
  return [];
}

function scoreMetrics(record: ChangeRecord, s: Item): MetricPoint[] {
  if (record.eventName === 'MODIFY' && digestOf(reportOf(record.oldImage)) === digestOf(reportOf(s)))
    return [];
  return [
    { key: 'gradingOutcomes', value: 1, dimensions: { reason: s.passed === true ? 'PASSED' : 'FAILED' } },
  ];
}

const isLaunch = (from: unknown, to: unknown): boolean =>
  (from === 'PENDING' && to === 'PROVISIONING') || (from === 'STOPPED' && to === 'STARTING');

function workerMetrics(record: ChangeRecord, w: Item): MetricPoint[] {
  const from = record.eventName === 'INSERT' ? null : record.oldImage?.status;
  const to = w.status;
  if (from === to) return [];
  const template = { template: str(w.templateName) };
  const points: MetricPoint[] = [];
  if (isLaunch(from, to)) points.push({ key: 'launches', value: 1, dimensions: template });
  if (to === 'RUNNING' && from === 'STARTING') {
    const history = Array.isArray(w.stateHistory) ? (w.stateHistory as Item[]) : [];
    const launch = history.findLast((h) => isLaunch(h.from, h.to));
    const launchedAt = instant(launch?.at) ?? instant(w.launchedAt);
    const runningAt = instant(w.updatedAt);
    if (launchedAt !== undefined && runningAt !== undefined && runningAt >= launchedAt) {
      points.push({ key: 'bootSeconds', value: (runningAt - launchedAt) / 1000, dimensions: template });
    }
  }
  if (to === 'FAILED') {
    points.push({ key: 'workersFailed', value: 1, dimensions: template });
    if (BOOTING_WORKER_STATUSES.includes(from as WorkerStatus)) {
      points.push({ key: 'launchesFailed', value: 1, dimensions: template });
    }
  }
  if (to === 'DRAINING') points.push({ key: 'drains', value: 1 });
  return points;
}
