import { apiStores } from '@lcm/shared/api/deps';
import { operationsHandler } from '@lcm/shared/api/dispatch';
import { getFleetCapacity } from '@lcm/shared/commands/fleet';
import { json } from '@lcm/shared/http/problem';

/** /v1/fleet: capacity view (fleet scaling routes join this group later). */
export const handler = operationsHandler('fleet', {
  getFleetCapacity: async () =>
    json(200, await getFleetCapacity(apiStores()), { 'cache-control': 'no-store' }),
});
