import { apiStores } from '@lcm/shared/api/deps';
import { operationsHandler } from '@lcm/shared/api/dispatch';
import { getFleetCapacity } from '@lcm/shared/fleet/capacity-view';
import { listScalingDecisions } from '@lcm/shared/fleet/scalers';
import { json } from '@lcm/shared/platform/http/problem';

/** /v1/fleet: capacity view and the scaling audit trail. */
export const handler = operationsHandler('fleet', {
  getFleetCapacity: async () =>
    json(200, await getFleetCapacity(apiStores()), { 'cache-control': 'no-store' }),

  getFleetScaling: async ({ query }) =>
    json(200, await listScalingDecisions(apiStores(), query), { 'cache-control': 'no-store' }),
});
