import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { inboundDeps } from '@lcm/shared/app';
import { annotate, logger, traced } from '@lcm/shared/platform';
import {
  handleInboundEvent,
  type InboundDeps,
  type InboundResult,
  LEARNER_EVENT_TYPES,
} from '@lcm/shared/sessions';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';

/**
 * EventBridge rule target of the LDS learner events (rules.ts: lds-session-running, -paused,
 * -ended): running → LOGIN, ended/user-finished → END, paused → recorded. Idempotent on
 * (source, id); see packages/shared/src/sessions/partner-events.ts. Throws only when a retry may help.
 * Environment: TABLE_NAME, WORKFLOW_ENGINE (+ the engine's own settings).
 */
export function learnerEventsHandler(deps: () => InboundDeps = inboundDeps) {
  return middy<EventBridgeEvent<string, unknown>, InboundResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('learner-events', async () => {
        const result = await handleInboundEvent(deps(), event, LEARNER_EVENT_TYPES);
        annotate({ sessionId: result.sessionId });
        return result;
      }),
    );
}

export const handler = learnerEventsHandler();
