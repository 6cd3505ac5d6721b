import { assertValidPattern, type EventPattern, matchesPattern } from './pattern.ts';
import { INBOUND_EVENT_TYPES, type InboundEventType, LCM_EVENT_SOURCE } from './schemas.ts';

/**
 * The EventBridge rules of LCM's bus, defined once: the CDK events stack creates one rule per
 * entry (raw JSON pattern, e.g. `CfnRule.eventPattern` or `events.Rule` with the same JSON) with
 * the Lambda built from `target` as its target, and the local event bus
 * (packages/sandbox/src/eventbridge) routes PutEvents entries by the same patterns to the same
 * modules. Patterns match the EventBridge envelope: `source` = CloudEvent source, `detail-type` =
 * CloudEvent type, `detail` = the whole CloudEvent (DESIGN §7).
 *
 * Partner sources are deployment configuration (the partner registry's allow-lists), so rules
 * do not name them: they select by CloudEvent type and exclude LCM's own source, which keeps
 * LCM's outbound events from ever looping back into its handlers. The ingest endpoint has
 * already checked each event's source against its partner's allow-list before it reached the bus.
 */

export interface EventRuleTarget {
  /** Lambda entry module relative to the repository root, exporting `handler`. */
  readonly module: string;
  /** Short name for the function (`lcm-<stage>-<function>`). */
  readonly function: string;
}

export interface EventRule {
  /** Unique, [A-Za-z0-9-]; the CDK rule id and the local bus's rule name. */
  readonly name: string;
  readonly description: string;
  readonly pattern: EventPattern;
  /** CloudEvent types this rule selects (what `pattern['detail-type']` lists). */
  readonly types: readonly InboundEventType[];
  readonly target: EventRuleTarget;
}

const NOT_LCM = [{ 'anything-but': [LCM_EVENT_SOURCE] }] as const;

const inboundRule = (
  name: string,
  description: string,
  types: readonly InboundEventType[],
  target: EventRuleTarget,
): EventRule => ({
  name,
  description,
  types,
  pattern: { source: NOT_LCM, 'detail-type': [...types] },
  target,
});

/** Learner events from LDS; functions/events/learner-events.ts resolves LOGIN / END waits. */
export const LEARNER_EVENTS_TARGET: EventRuleTarget = {
  module: 'functions/events/learner-events.ts',
  function: 'learner-events',
};
/** Grading results; functions/events/grading-results.ts records them and resolves GRADING waits. */
export const GRADING_RESULTS_TARGET: EventRuleTarget = {
  module: 'functions/events/grading-results.ts',
  function: 'grading-results',
};

export const EVENT_RULES: readonly EventRule[] = [
  inboundRule(
    'lds-session-running',
    'The learner logged in: READY → RUNNING (resolves the LOGIN wait)',
    [INBOUND_EVENT_TYPES.ldsSessionRunning],
    LEARNER_EVENTS_TARGET,
  ),
  inboundRule(
    'lds-session-paused',
    'The learner paused: recorded on the session',
    [INBOUND_EVENT_TYPES.ldsSessionPaused],
    LEARNER_EVENTS_TARGET,
  ),
  inboundRule(
    'lds-session-ended',
    'End of work (ended or user-finished): RUNNING → COLLECTING (resolves the END wait)',
    [INBOUND_EVENT_TYPES.ldsSessionEnded, INBOUND_EVENT_TYPES.ldsSessionUserFinished],
    LEARNER_EVENTS_TARGET,
  ),
  inboundRule(
    'grading-session-result',
    'Grading completed (ScoreReport) or failed (FAULTED); the workflow continues either way',
    [INBOUND_EVENT_TYPES.gradingSessionCompleted, INBOUND_EVENT_TYPES.gradingSessionFailed],
    GRADING_RESULTS_TARGET,
  ),
];

for (const rule of EVENT_RULES) assertValidPattern(rule.pattern, `rule ${rule.name}`);

/** The distinct rule targets (one Lambda each), in rule order. */
export const EVENT_RULE_TARGETS: readonly EventRuleTarget[] = [
  ...new Map(EVENT_RULES.map((r) => [r.target.module, r.target])).values(),
];

/** The envelope an EventBridge rule matches (the fields patterns may use). */
export interface BusEventEnvelope {
  source: string;
  'detail-type': string;
  detail: unknown;
}

/** The rules an event matches, in definition order. */
export const rulesMatching = (event: BusEventEnvelope, rules: readonly EventRule[] = EVENT_RULES) =>
  rules.filter((r) => matchesPattern(r.pattern, event));

/** The event pattern as EventBridge's JSON (for `CfnRule.eventPattern` / the PutRule API). */
export const eventPatternJson = (rule: Pick<EventRule, 'pattern'>): string => JSON.stringify(rule.pattern);
