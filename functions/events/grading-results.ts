import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { inboundDeps } from '@lcm/shared/app';
import { annotate, logger, traced } from '@lcm/shared/platform';
import {
  GRADING_EVENT_TYPES,
  handleInboundEvent,
  type InboundDeps,
  type InboundResult,
} from '@lcm/shared/sessions';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';

/**
 * EventBridge rule target of the Grading Engine's results (rules.ts: grading-session-result):
 * completed → ScoreReport recorded and the GRADING wait resolved; failed → grading FAULTED and
 * the wait failed, so the workflow continues to teardown. Idempotent on (source, id); see
 * packages/shared/src/sessions/partner-events.ts. Environment: TABLE_NAME, WORKFLOW_ENGINE.
 */
export function gradingResultsHandler(deps: () => InboundDeps = inboundDeps) {
  return middy<EventBridgeEvent<string, unknown>, InboundResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) =>
      traced('grading-results', async () => {
        const result = await handleInboundEvent(deps(), event, GRADING_EVENT_TYPES);
        annotate({ sessionId: result.sessionId });
        return result;
      }),
    );
}

export const handler = gradingResultsHandler();
