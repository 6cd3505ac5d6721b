import * as z from 'zod';
import { type ScoreReport, ScoreSectionSchema } from '../kernel/index.ts';

/**
 * CloudEvents 1.0 (DESIGN §7): every event type string LCM sends or receives, the envelope
 * schema, and the schemas of the inbound events' `data`. This file is the one place for
 * event type strings; nothing else spells them.
 */

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

/** Source of every event LCM publishes. */
export const LCM_EVENT_SOURCE = 'lcm.control-plane';

// ---------------------------------------------------------------------------------------------
// Type names

/** Events LCM receives from its partners. */
export const INBOUND_EVENT_TYPES = {
  ldsSessionRunning: 'io.lablet.lds.session.running.v1',
  ldsSessionPaused: 'io.lablet.lds.session.paused.v1',
  ldsSessionEnded: 'io.lablet.lds.session.ended.v1',
  ldsSessionUserFinished: 'io.lablet.lds.session.user-finished.v1',
  gradingSessionCompleted: 'io.lablet.grading.session.completed.v1',
  gradingSessionFailed: 'io.lablet.grading.session.failed.v1',
} as const;
export type InboundEventType = (typeof INBOUND_EVENT_TYPES)[keyof typeof INBOUND_EVENT_TYPES];

/** Events LCM publishes (source `lcm.control-plane`): `io.lablet.lcm.<entity>.<event>.v1`. */
export const OUTBOUND_EVENT_TYPES = {
  sessionCreated: 'io.lablet.lcm.session.created.v1',
  sessionStatusChanged: 'io.lablet.lcm.session.status-changed.v1',
  sessionReady: 'io.lablet.lcm.session.ready.v1',
  sessionScored: 'io.lablet.lcm.session.scored.v1',
  sessionPortDriftDetected: 'io.lablet.lcm.session.port-drift-detected.v1',
  sessionTeardownFailed: 'io.lablet.lcm.session.teardown-failed.v1',
  sessionIdleWarning: 'io.lablet.lcm.session.idle-warning.v1',
  sessionExtended: 'io.lablet.lcm.session.extended.v1',
  workerStatusChanged: 'io.lablet.lcm.worker.status-changed.v1',
  scalingScaleUpDecided: 'io.lablet.lcm.scaling.scale-up-decided.v1',
  scalingDrainDecided: 'io.lablet.lcm.scaling.drain-decided.v1',
  definitionVersionCreated: 'io.lablet.lcm.definition.version-created.v1',
  poolLabChanged: 'io.lablet.lcm.pool.lab-changed.v1',
} as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[keyof typeof OUTBOUND_EVENT_TYPES];

/** Prefixes of the partner type families (e.g. for EventBridge rule patterns). */
export const LDS_EVENT_TYPE_PREFIX = 'io.lablet.lds.';
export const GRADING_EVENT_TYPE_PREFIX = 'io.lablet.grading.';
export const LCM_EVENT_TYPE_PREFIX = 'io.lablet.lcm.';

export const INBOUND_EVENT_TYPE_LIST: readonly InboundEventType[] = Object.values(INBOUND_EVENT_TYPES);
export const OUTBOUND_EVENT_TYPE_LIST: readonly OutboundEventType[] = Object.values(OUTBOUND_EVENT_TYPES);

export const isInboundEventType = (t: unknown): t is InboundEventType =>
  typeof t === 'string' && (INBOUND_EVENT_TYPE_LIST as readonly string[]).includes(t);

// ---------------------------------------------------------------------------------------------
// Envelope

/** RFC 3339 timestamp (CloudEvents `time`); a `Z` or an explicit offset is required. */
const Rfc3339 = z.iso.datetime({ offset: true });
const NonEmpty = z.string().min(1).max(1024);

/** Context attributes defined by the spec (anything else is an extension attribute). */
const SPEC_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);
/** Extension attribute names: lower-case letters and digits (CloudEvents 1.0 §Naming). */
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** Any CloudEvent 1.0 in structured JSON form; `data` unchecked. */
export const CloudEventEnvelopeSchema = z
  .looseObject({
    specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
    id: NonEmpty,
    source: NonEmpty,
    type: NonEmpty,
    time: Rfc3339.optional(),
    subject: NonEmpty.optional(),
    datacontenttype: z.string().min(1).max(256).optional(),
    dataschema: z.string().min(1).max(2048).optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .superRefine((e, ctx) => {
    for (const key of Object.keys(e)) {
      if (!SPEC_ATTRIBUTES.has(key) && !EXTENSION_NAME.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'extension attribute names are 1-20 lower-case letters or digits',
        });
      }
    }
    if (e.data !== undefined && e.data_base64 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['data_base64'], message: 'data and data_base64 are exclusive' });
    }
  });
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelopeSchema>;

/** JSON data: `datacontenttype` absent, `application/json` or any `+json` type. */
const JsonContentType = z
  .string()
  .refine((ct) => /^application\/(?:[\w.-]+\+)?json\s*(?:;.*)?$/i.test(ct), 'data must be JSON')
  .optional();

// ---------------------------------------------------------------------------------------------
// Inbound data schemas

const SessionRef = z.string().min(1).max(256);

export const LdsSessionEventDataSchema = z.object({
  ldsSessionId: SessionRef,
  lcmSessionId: SessionRef,
  /** When it happened at LDS (defaults to the envelope `time`). */
  at: Rfc3339.optional(),
});
export type LdsSessionEventData = z.infer<typeof LdsSessionEventDataSchema>;

export const GradingCompletedDataSchema = z
  .object({
    gradingSessionId: SessionRef,
    lcmSessionId: SessionRef,
    score: z.number().finite().nonnegative(),
    maxScore: z.number().finite().nonnegative(),
    passed: z.boolean(),
    sections: z.array(ScoreSectionSchema).max(500).default([]),
    reportedAt: Rfc3339.optional(),
  })
  .refine((d) => d.score <= d.maxScore, { message: 'score must not exceed maxScore', path: ['score'] });
export type GradingCompletedData = z.infer<typeof GradingCompletedDataSchema>;

export const GradingFailedDataSchema = z.object({
  gradingSessionId: SessionRef,
  lcmSessionId: SessionRef,
  error: z.string().min(1).max(4000),
});
export type GradingFailedData = z.infer<typeof GradingFailedDataSchema>;

/** type → schema of its `data`. */
export const INBOUND_DATA_SCHEMAS = {
  [INBOUND_EVENT_TYPES.ldsSessionRunning]: LdsSessionEventDataSchema,
  [INBOUND_EVENT_TYPES.ldsSessionPaused]: LdsSessionEventDataSchema,
  [INBOUND_EVENT_TYPES.ldsSessionEnded]: LdsSessionEventDataSchema,
  [INBOUND_EVENT_TYPES.ldsSessionUserFinished]: LdsSessionEventDataSchema,
  [INBOUND_EVENT_TYPES.gradingSessionCompleted]: GradingCompletedDataSchema,
  [INBOUND_EVENT_TYPES.gradingSessionFailed]: GradingFailedDataSchema,
} as const satisfies Record<InboundEventType, z.ZodType>;

export type InboundEventData<T extends InboundEventType> = z.output<(typeof INBOUND_DATA_SCHEMAS)[T]>;

/** A validated inbound event: the envelope with its type-specific data. */
export type InboundCloudEvent<T extends InboundEventType = InboundEventType> = T extends InboundEventType
  ? Omit<CloudEventEnvelope, 'type' | 'data' | 'data_base64'> & { type: T; data: InboundEventData<T> }
  : never;

const inboundVariant = <T extends InboundEventType>(type: T) =>
  z.looseObject({
    specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
    id: NonEmpty,
    source: NonEmpty,
    type: z.literal(type),
    time: Rfc3339.optional(),
    subject: NonEmpty.optional(),
    datacontenttype: JsonContentType,
    dataschema: z.string().min(1).max(2048).optional(),
    data: INBOUND_DATA_SCHEMAS[type],
  });

/** Discriminated on `type`: validates the envelope and the `data` of every inbound type. */
export const InboundCloudEventSchema = z.discriminatedUnion('type', [
  inboundVariant(INBOUND_EVENT_TYPES.ldsSessionRunning),
  inboundVariant(INBOUND_EVENT_TYPES.ldsSessionPaused),
  inboundVariant(INBOUND_EVENT_TYPES.ldsSessionEnded),
  inboundVariant(INBOUND_EVENT_TYPES.ldsSessionUserFinished),
  inboundVariant(INBOUND_EVENT_TYPES.gradingSessionCompleted),
  inboundVariant(INBOUND_EVENT_TYPES.gradingSessionFailed),
]);

export interface EventIssue {
  path: string;
  message: string;
}

export type InboundParseResult =
  | { ok: true; event: InboundCloudEvent }
  | { ok: false; reason: 'INVALID_ENVELOPE' | 'UNKNOWN_TYPE' | 'INVALID_DATA'; issues: EventIssue[] };

const issuesOf = (error: z.ZodError): EventIssue[] =>
  error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

/**
 * Validates one structured inbound CloudEvent: first the envelope (any CloudEvent 1.0), then
 * whether LCM knows the type, then the type's data. The reason lets the ingest handler answer
 * 400 with the offending field paths.
 */
export function parseInboundEvent(raw: unknown): InboundParseResult {
  const envelope = CloudEventEnvelopeSchema.safeParse(raw);
  if (!envelope.success) return { ok: false, reason: 'INVALID_ENVELOPE', issues: issuesOf(envelope.error) };
  if (!isInboundEventType(envelope.data.type)) {
    return {
      ok: false,
      reason: 'UNKNOWN_TYPE',
      issues: [{ path: 'type', message: `unknown event type ${envelope.data.type}` }],
    };
  }
  if (envelope.data.data_base64 !== undefined) {
    return {
      ok: false,
      reason: 'INVALID_DATA',
      issues: [{ path: 'data_base64', message: 'data must be JSON' }],
    };
  }
  const parsed = InboundCloudEventSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'INVALID_DATA', issues: issuesOf(parsed.error) };
  return { ok: true, event: parsed.data as InboundCloudEvent };
}

/** The score report a completed-grading event carries (the ScoreReport entity's fields). */
export function scoreReportFromEvent(data: GradingCompletedData, receivedAt: string): ScoreReport {
  return {
    score: data.score,
    maxScore: data.maxScore,
    passed: data.passed,
    sections: data.sections,
    reportedAt: data.reportedAt ?? receivedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Outbound envelope

export interface LcmCloudEvent<D = unknown> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  id: string;
  source: typeof LCM_EVENT_SOURCE;
  type: OutboundEventType;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: D;
}

/** Builds an outbound event; the id must be stable for the change it reports (idempotent consumers). */
export function lcmCloudEvent<D>(opts: {
  type: OutboundEventType;
  id: string;
  time: string;
  subject?: string | undefined;
  data: D;
}): LcmCloudEvent<D> {
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: opts.id,
    source: LCM_EVENT_SOURCE,
    type: opts.type,
    time: opts.time,
    ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
    datacontenttype: 'application/json',
    data: opts.data,
  };
}
