import { DynamoDefinitionStore } from '../catalogue/definition-store.ts';
import { DynamoPlacementStore } from '../fleet/stores/placement-store.ts';
import { DynamoPortLeaseStore } from '../fleet/stores/port-lease-store.ts';
import { DynamoScalingStore } from '../fleet/stores/scaling-store.ts';
import { DynamoWorkerStore } from '../fleet/stores/worker-store.ts';
import { DynamoWorkerTemplateStore } from '../fleet/stores/worker-template-store.ts';
import type { StoreConfig } from '../platform/dynamodb/dynamo.ts';
import { DynamoProcessedEventStore } from '../sessions/processed-event-store.ts';
import { DynamoSessionStore } from '../sessions/session-store.ts';

/** Every repository on one table and client: what a handler builds once per cold start. */
export function createStores(cfg: StoreConfig) {
  return {
    templates: new DynamoWorkerTemplateStore(cfg),
    workers: new DynamoWorkerStore(cfg),
    definitions: new DynamoDefinitionStore(cfg),
    sessions: new DynamoSessionStore(cfg),
    leases: new DynamoPortLeaseStore(cfg),
    placement: new DynamoPlacementStore(cfg),
    processedEvents: new DynamoProcessedEventStore(cfg),
    scaling: new DynamoScalingStore(cfg),
  };
}
export type Stores = ReturnType<typeof createStores>;
