import { DynamoDefinitionStore } from './definition-store.ts';
import type { StoreConfig } from './dynamo.ts';
import { DynamoPlacementStore } from './placement-store.ts';
import { DynamoPortLeaseStore } from './port-lease-store.ts';
import { DynamoProcessedEventStore } from './processed-event-store.ts';
import { DynamoScalingStore } from './scaling-store.ts';
import { DynamoSessionStore } from './session-store.ts';
import { DynamoWorkerStore } from './worker-store.ts';
import { DynamoWorkerTemplateStore } from './worker-template-store.ts';

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
