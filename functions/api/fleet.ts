import { operationsHandler } from '@lcm/shared/api';
import { apiStoresOf } from '@lcm/shared/app';
import {
  DynamoScalingStore,
  DynamoWorkerStore,
  getFleetCapacity,
  listScalingDecisions,
} from '@lcm/shared/fleet';
import { json } from '@lcm/shared/platform';

/** /v1/fleet: capacity view and the scaling audit trail, over the two stores they read. */
const apiStores = apiStoresOf((cfg) => ({
  workers: new DynamoWorkerStore(cfg),
  scaling: new DynamoScalingStore(cfg),
}));

export const handler = operationsHandler('fleet', {
  getFleetCapacity: async () =>
    json(200, await getFleetCapacity(apiStores()), { 'cache-control': 'no-store' }),

  getFleetScaling: async ({ query }) =>
    json(200, await listScalingDecisions(apiStores(), query), { 'cache-control': 'no-store' }),
});
