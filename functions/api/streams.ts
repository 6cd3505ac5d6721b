import { operationsHandler } from '@lcm/shared/api';
import { apiStreamFailures } from '@lcm/shared/app';
import { StreamFailureReplayError, StreamRecordsExpiredError, streamFailureView } from '@lcm/shared/events';
import { HttpError, json } from '@lcm/shared/platform';

/**
 * /v1/stream-failures (issue 11, item 5): the table-stream records a consumer gave up on, listed
 * and replayed through the deployment's failure destination (app/api-env.ts, apiStreamFailures:
 * the on-failure queues, the table, the stream and the consumer functions in AWS; the local
 * stack's file-backed queue and in-process consumers). Operators and admins only.
 */

const noStore = { 'cache-control': 'no-store' };

export const handler = operationsHandler('streams', {
  listStreamFailures: async ({ query }) =>
    json(200, await apiStreamFailures().operations.list(query), noStore),

  replayStreamFailure: async ({ params, caller }) => {
    try {
      return json(200, await apiStreamFailures().operations.replay(params.id, caller?.sub ?? 'anonymous'));
    } catch (e) {
      // Failed again: recorded on the failure (still PENDING); the reply shows the attempt.
      if (e instanceof StreamFailureReplayError) return json(200, streamFailureView(e.failure));
      if (e instanceof StreamRecordsExpiredError) throw new HttpError(410, e.message, { title: 'Gone' });
      throw e;
    }
  },
});
