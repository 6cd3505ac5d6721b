import { operationsHandler } from '@lcm/shared/api';
import { apiStoresOf } from '@lcm/shared/app';
import { DynamoDefinitionStore } from '@lcm/shared/catalogue';
import {
  DynamoScalingStore,
  DynamoWorkerStore,
  DynamoWorkerTemplateStore,
  getFleetCapacity,
  listScalingDecisions,
} from '@lcm/shared/fleet';
import { json } from '@lcm/shared/platform';
import {
  DynamoPoolStore,
  DynamoSessionStore,
  getDefinitionCost,
  getFleetCost,
  getFleetPools,
  getFleetUsage,
} from '@lcm/shared/sessions';

/**
 * /v1/fleet: capacity view, the hot-start pools, the scaling audit trail, cost and usage over a window (the cost and
 * usage read models read the workers', templates' and sessions' histories: sessions/cost.ts).
 */
const apiStores = apiStoresOf((cfg) => ({
  workers: new DynamoWorkerStore(cfg),
  templates: new DynamoWorkerTemplateStore(cfg),
  sessions: new DynamoSessionStore(cfg),
  scaling: new DynamoScalingStore(cfg),
  definitions: new DynamoDefinitionStore(cfg),
  pools: new DynamoPoolStore(cfg),
}));

const noStore = { 'cache-control': 'no-store' };

export const handler = operationsHandler('fleet', {
  getFleetCapacity: async () => json(200, await getFleetCapacity(apiStores()), noStore),

  getFleetPools: async () => json(200, await getFleetPools(apiStores()), noStore),

  getFleetScaling: async ({ query }) => json(200, await listScalingDecisions(apiStores(), query), noStore),

  getFleetCost: async ({ query }) => json(200, await getFleetCost(apiStores(), query), noStore),

  getDefinitionCost: async ({ params, query }) =>
    json(200, await getDefinitionCost(apiStores(), params.id, query), noStore),

  getFleetUsage: async ({ query }) => json(200, await getFleetUsage(apiStores(), query), noStore),
});
