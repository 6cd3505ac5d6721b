import { createHash } from 'node:crypto';
import { ENTITY, sessionIdOfPartition, TABLE } from '../platform/index.ts';
import { definitionSyncEvents } from './content-events.ts';
import { type LcmCloudEvent, lcmCloudEvent, OUTBOUND_EVENT_TYPES } from './schemas.ts';

/** An outbound CloudEvent (LCM's source; types beyond OUTBOUND_EVENT_TYPES come from events/content-events.ts). */
export type OutboxEvent = Omit<LcmCloudEvent, 'type'> & { type: string };

/**
 * The transactional outbox (DESIGN §7): every write that lands in the table reaches the stream,
 * and this PURE function turns one stream record (images already unmarshalled) into the
 * CloudEvents it stands for. functions/streams/outbox.ts publishes them; nothing else emits
 * domain events, so a change that was written always gets its event and one that was not never
 * does.
 *
 *   LabletSession        INSERT                         → session.created
 *                        MODIFY, status changed         → session.status-changed
 *                        MODIFY, status → READY         → + session.ready (never the login URL:
 *                                                          the portal reads it through the API)
 *                        MODIFY, failureReason → TEARDOWN_FAILED → session.teardown-failed (what
 *                                                          was left: lab, worker, capacity, ports)
 *                        MODIFY, idleWarnedAt set       → session.idle-warning (paused since, finish at)
 *                        MODIFY, timeslot.end changed   → session.extended (previous and new end)
 *   ScoreReport          INSERT / MODIFY, new report    → session.scored
 *   ResourceObservation  INSERT with drift.hasDrift     → session.port-drift-detected
 *   Worker               INSERT, MODIFY status changed  → worker.status-changed (from null on INSERT)
 *   LabletDefinitionVersion INSERT                      → definition.version-created
 *   LabletDefinition (LATEST) sync → FAILED             → definition.sync-failed (events/content-events.ts)
 *   PooledLab            INSERT, MODIFY status changed  → pool.lab-changed (placed, booting, ready,
 *                                                          claimed by a session, released and why)
 *   ScalingDecision      INSERT SCALE_UP/START_STOPPED  → scaling.scale-up-decided
 *                        INSERT DRAIN                   → scaling.drain-decided
 *
 * Event ids are deterministic — entity, key and the item's version (or, for items without a
 * version, a hash of the image) plus the event name — so a redelivered record produces the same
 * ids and consumers deduplicate on (source, id). `time` is the change's own timestamp from the
 * image, never "now". Data carries what subscribers need and nothing internal (no task tokens) and
 * no capability: `session.ready` says the session is ready, not how to log in as its learner (the
 * login URL logs whoever opens it in, and every subscriber of the bus would see it); the portal
 * that booked the session reads `userSession.loginUrl` from `GET /v1/sessions/{id}` (api/views.ts).
 */

export type Item = Record<string, unknown>;

export interface ChangeRecord {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The item's keys (PK, SK). */
  keys: Item;
  oldImage?: Item | undefined;
  newImage?: Item | undefined;
  /** ApproximateCreationDateTime of the record, ISO (fallback time). */
  approximateCreationTime?: string | undefined;
}

/** Entity types whose changes the outbox turns into events: the stream filter (streams.ts). */
export const OUTBOX_ENTITIES = [
  ENTITY.session,
  ENTITY.score,
  ENTITY.observation,
  ENTITY.worker,
  ENTITY.definitionVersion,
  ENTITY.definitionLatest,
  ENTITY.scalingDecision,
  ENTITY.pooledLab,
] as const;

/** The data of session.ready: which session, where and when; no login URL (least privilege). */
export interface SessionReadyData {
  sessionId: string;
  reservationId: unknown;
  definitionId: unknown;
  definitionVersion: unknown;
  workerId: unknown;
  timeslot: unknown;
  userId: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Only the fields that are set (undefined members are dropped from event data). */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

/** A stable digest of JSON data (sorted keys), for ids of items without a version. */
export function digestOf(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, canonical((v as Item)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex')
    .slice(0, 16);
}

/** Id of an outbound event: `<subject>/v<version or digest>/<event>`. */
const eventId = (subject: string, revision: string, event: string) => `${subject}/${revision}/${event}`;

const timeOf = (record: ChangeRecord, ...candidates: unknown[]): string => {
  for (const c of candidates) {
    if (typeof c === 'string' && !Number.isNaN(Date.parse(c))) return c;
  }
  return record.approximateCreationTime ?? new Date(0).toISOString();
};

/** The CloudEvents for one stream record (none for changes no subscriber cares about). */
export function outboxEventsFor(record: ChangeRecord): OutboxEvent[] {
  if (record.eventName === 'REMOVE') return [];
  const item = record.newImage;
  if (!item) return [];
  switch (item[TABLE.entityAttribute]) {
    case ENTITY.session:
      return sessionEvents(record, item);
    case ENTITY.score:
      return scoreEvents(record, item);
    case ENTITY.observation:
      return observationEvents(record, item);
    case ENTITY.worker:
      return workerEvents(record, item);
    case ENTITY.definitionVersion:
      return record.eventName === 'INSERT' ? definitionEvents(record, item) : [];
    case ENTITY.definitionLatest:
      // The content sync's failure event is defined with the content sync (events/content-events.ts).
      return definitionSyncEvents(record);
    case ENTITY.scalingDecision:
      return record.eventName === 'INSERT' ? scalingEvents(record, item) : [];
    case ENTITY.pooledLab:
      return pooledLabEvents(record, item);
    default:
      return [];
  }
}

/**
 * The teardown gave up (issue 12, item 4): failureReason became TEARDOWN_FAILED. The data says
 * what was left for an operator (POST /v1/sessions/{id}/release frees it).
 */
function teardownFailedEvents(
  record: ChangeRecord,
  s: Item,
  subject: string,
  version: string,
  base: Item,
): LcmCloudEvent[] {
  if (s.failureReason !== 'TEARDOWN_FAILED' || record.oldImage?.failureReason === 'TEARDOWN_FAILED')
    return [];
  const failure = (s.teardownFailure ?? {}) as Item;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionTeardownFailed,
      id: eventId(subject, version, 'teardown-failed'),
      time: timeOf(record, failure.at, s.updatedAt),
      subject,
      data: defined({
        ...base,
        status: s.status,
        workerId: s.workerId,
        cmlLabId: s.cmlLabId,
        previousReason: failure.previousReason ?? null,
        step: failure.step,
        error: failure.error,
        capacityHeld: failure.capacityHeld,
        portsHeld: failure.portsHeld,
        at: failure.at,
      }),
    }),
  ];
}

/**
 * The idle sweep warned the learner (issue 15, item 2): idleWarnedAt became set. The data says
 * since when the learner is paused and when the session will be finished unless they come back.
 */
function idleWarningEvents(record: ChangeRecord, s: Item, subject: string, version: string, base: Item) {
  if (typeof s.idleWarnedAt !== 'string' || record.oldImage?.idleWarnedAt === s.idleWarnedAt) return [];
  const policy = (s.idlePolicy ?? {}) as Item;
  const graceMinutes = typeof policy.graceMinutes === 'number' ? policy.graceMinutes : 0;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionIdleWarning,
      id: eventId(subject, version, 'idle-warning'),
      time: timeOf(record, s.idleWarnedAt),
      subject,
      data: defined({
        ...base,
        userId: (s.owner as Item | undefined)?.userId,
        pausedAt: s.pausedAt,
        warnedAt: s.idleWarnedAt,
        finishAt: new Date(Date.parse(s.idleWarnedAt) + graceMinutes * 60_000).toISOString(),
      }),
    }),
  ];
}

/**
 * An extension (issue 15, item 1): the timeslot end moved on a MODIFY. The data says the end
 * before and after, the minutes extended in all, and the status the session was extended in.
 */
function extendedEvents(record: ChangeRecord, s: Item, subject: string, version: string, base: Item) {
  const end = (s.timeslot as Item | undefined)?.end;
  const previousEnd = (record.oldImage?.timeslot as Item | undefined)?.end;
  if (typeof end !== 'string' || typeof previousEnd !== 'string' || end === previousEnd) return [];
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionExtended,
      id: eventId(subject, version, 'extended'),
      time: timeOf(record, s.updatedAt),
      subject,
      data: defined({
        ...base,
        userId: (s.owner as Item | undefined)?.userId,
        status: s.status,
        previousEnd,
        end,
        extendedMinutes: s.extendedMinutes,
      }),
    }),
  ];
}

function sessionEvents(record: ChangeRecord, s: Item): LcmCloudEvent[] {
  const id = String(s.id);
  const subject = `sessions/${id}`;
  const version = `v${String(s.version)}`;
  const base = {
    sessionId: id,
    reservationId: s.reservationId,
    definitionId: s.definitionId,
    definitionVersion: s.definitionVersion,
  };
  if (record.eventName === 'INSERT') {
    return [
      lcmCloudEvent({
        type: OUTBOUND_EVENT_TYPES.sessionCreated,
        id: eventId(subject, version, 'created'),
        time: timeOf(record, s.createdAt),
        subject,
        data: defined({
          ...base,
          status: s.status,
          timeslot: s.timeslot,
          userId: (s.owner as Item | undefined)?.userId,
          createdAt: s.createdAt,
        }),
      }),
    ];
  }
  const from = record.oldImage?.status;
  const to = s.status;
  const teardownFailed = [
    ...teardownFailedEvents(record, s, subject, version, base),
    ...idleWarningEvents(record, s, subject, version, base),
    ...extendedEvents(record, s, subject, version, base),
  ];
  if (from === to) return teardownFailed;
  const time = timeOf(record, s.updatedAt);
  const events = [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionStatusChanged,
      id: eventId(subject, version, 'status-changed'),
      time,
      subject,
      data: defined({
        ...base,
        from: from ?? null,
        to,
        version: s.version,
        at: s.updatedAt,
        workerId: s.workerId,
        failureReason: s.failureReason,
        terminationReason: to === 'TERMINATED' ? s.terminationReason : undefined,
      }),
    }),
  ];
  if (to === 'READY') {
    const data: SessionReadyData = {
      ...base,
      workerId: s.workerId,
      timeslot: s.timeslot,
      userId: (s.owner as Item | undefined)?.userId,
    };
    events.push(
      lcmCloudEvent({
        type: OUTBOUND_EVENT_TYPES.sessionReady,
        id: eventId(subject, version, 'ready'),
        time,
        subject,
        data: defined(data as unknown as Item),
      }),
    );
  }
  return [...events, ...teardownFailed];
}

/** The score fields that make a report (a MODIFY that changes none of them is not a new score). */
export const reportOf = (i: Item | undefined) =>
  i
    ? {
        score: i.score,
        maxScore: i.maxScore,
        passed: i.passed,
        sections: i.sections,
        reportedAt: i.reportedAt,
      }
    : undefined;

/** Sections are left out of session.scored above this size (EventBridge takes 256 KiB per event). */
export const MAX_SCORE_SECTIONS_BYTES = 64 * 1024;

function scoreEvents(record: ChangeRecord, s: Item): LcmCloudEvent[] {
  const report = reportOf(s)!;
  if (record.eventName === 'MODIFY' && digestOf(reportOf(record.oldImage)) === digestOf(report)) return [];
  const pk = String(record.keys.PK);
  const sessionId = str(s.sessionId) ?? sessionIdOfPartition(pk) ?? pk;
  const subject = `sessions/${sessionId}`;
  const sectionsSize = Buffer.byteLength(JSON.stringify(s.sections ?? []), 'utf8');
  const withSections = sectionsSize <= MAX_SCORE_SECTIONS_BYTES;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionScored,
      id: eventId(subject, `r${digestOf(report)}`, 'scored'),
      time: timeOf(record, s.reportedAt),
      subject,
      data: defined({
        sessionId,
        score: s.score,
        maxScore: s.maxScore,
        passed: s.passed,
        reportedAt: s.reportedAt,
        sections: withSections ? (s.sections ?? []) : undefined,
        sectionsOmitted: withSections ? undefined : true,
      }),
    }),
  ];
}

function observationEvents(record: ChangeRecord, o: Item): LcmCloudEvent[] {
  if (record.eventName !== 'INSERT') return [];
  const drift = o.drift as Item | undefined;
  if (drift?.hasDrift !== true) return [];
  const sessionId = String(o.sessionId);
  const subject = `sessions/${sessionId}`;
  const observedAt = String(o.observedAt);
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionPortDriftDetected,
      id: eventId(subject, `obs-${observedAt}`, 'port-drift-detected'),
      time: timeOf(record, o.observedAt),
      subject,
      data: defined({
        sessionId,
        definitionId: o.definitionId,
        definitionVersion: o.definitionVersion,
        workerId: o.workerId,
        cmlLabId: o.cmlLabId,
        observedAt: o.observedAt,
        drift,
      }),
    }),
  ];
}

function workerEvents(record: ChangeRecord, w: Item): LcmCloudEvent[] {
  const from = record.eventName === 'INSERT' ? null : record.oldImage?.status;
  if (from === w.status) return [];
  const id = String(w.id);
  const subject = `workers/${id}`;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.workerStatusChanged,
      id: eventId(subject, `v${String(w.version)}`, 'status-changed'),
      time: timeOf(record, w.updatedAt, w.createdAt),
      subject,
      data: defined({
        workerId: id,
        templateName: w.templateName,
        from: from ?? null,
        to: w.status,
        desiredStatus: w.desiredStatus,
        version: w.version,
        at: w.updatedAt,
        ec2InstanceId: w.ec2InstanceId,
        ipAddress: w.ipAddress,
      }),
    }),
  ];
}

/** A hot-start pool's lab changed status (issue 15, item 3): the pool's subject is its definition. */
function pooledLabEvents(record: ChangeRecord, l: Item): LcmCloudEvent[] {
  const from = record.eventName === 'INSERT' ? null : record.oldImage?.status;
  if (from === l.status) return [];
  const id = String(l.id);
  const subject = `pools/${String(l.definitionId)}`;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.poolLabChanged,
      id: eventId(`pools/${String(l.definitionId)}/${id}`, `v${String(l.version)}`, 'lab-changed'),
      time: timeOf(record, l.updatedAt, l.createdAt),
      subject,
      data: defined({
        labId: id,
        definitionId: l.definitionId,
        definitionVersion: l.definitionVersion,
        from: from ?? null,
        to: l.status,
        workerId: l.workerId,
        claimedBy: l.claimedBy,
        reason: l.releaseReason,
        version: l.version,
        at: l.updatedAt,
      }),
    }),
  ];
}

function definitionEvents(record: ChangeRecord, d: Item): LcmCloudEvent[] {
  const id = String(d.id);
  const subject = `definitions/${id}`;
  return [
    lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.definitionVersionCreated,
      id: eventId(subject, `v${String(d.version)}`, 'version-created'),
      time: timeOf(record, d.createdAt),
      subject,
      data: defined({
        definitionId: id,
        version: d.version,
        name: d.name,
        status: d.status,
        contentHash: d.contentHash,
        contentUri: d.contentUri,
        formQualifiedName: d.formQualifiedName,
        podType: d.podType,
        resourceRequirements: d.resourceRequirements,
        createdAt: d.createdAt,
        createdBy: d.createdBy,
      }),
    }),
  ];
}

function scalingEvents(record: ChangeRecord, d: Item): LcmCloudEvent[] {
  const kind = d.kind;
  const type =
    kind === 'SCALE_UP' || kind === 'START_STOPPED'
      ? OUTBOUND_EVENT_TYPES.scalingScaleUpDecided
      : kind === 'DRAIN'
        ? OUTBOUND_EVENT_TYPES.scalingDrainDecided
        : undefined;
  if (!type) return [];
  const id = String(d.id);
  const subject = `scaling/decisions/${id}`;
  return [
    lcmCloudEvent({
      type,
      id: eventId(
        subject,
        'v1',
        type === OUTBOUND_EVENT_TYPES.scalingDrainDecided ? 'drain-decided' : 'scale-up-decided',
      ),
      time: timeOf(record, d.at),
      subject,
      data: defined({
        decisionId: id,
        kind,
        at: d.at,
        workerId: d.workerId,
        templateName: d.templateName,
        reason: d.reason,
      }),
    }),
  ];
}
