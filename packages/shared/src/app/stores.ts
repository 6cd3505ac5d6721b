import { DynamoLiveStore } from '../api/index.ts';
import { DynamoDefinitionStore } from '../catalogue/index.ts';
import { DynamoStreamFailureLedger } from '../events/index.ts';
import {
  DynamoLeftoverLabStore,
  DynamoPortLeaseStore,
  DynamoScalingStore,
  DynamoWorkerStore,
  DynamoWorkerTemplateStore,
} from '../fleet/index.ts';
import { documentClient, type StoreConfig } from '../platform/index.ts';
import {
  DynamoPlacementStore,
  DynamoPoolStore,
  DynamoProcessedEventStore,
  DynamoSessionStore,
} from '../sessions/index.ts';

/** Every repository on one table and client: what a handler builds once per cold start. */
export function createStores(cfg: StoreConfig) {
  return {
    templates: new DynamoWorkerTemplateStore(cfg),
    workers: new DynamoWorkerStore(cfg),
    definitions: new DynamoDefinitionStore(cfg),
    sessions: new DynamoSessionStore(cfg),
    leases: new DynamoPortLeaseStore(cfg),
    placement: new DynamoPlacementStore(cfg),
    pools: new DynamoPoolStore(cfg),
    processedEvents: new DynamoProcessedEventStore(cfg),
    scaling: new DynamoScalingStore(cfg),
    leftoverLabs: new DynamoLeftoverLabStore(cfg),
    live: new DynamoLiveStore(cfg),
    streamFailures: new DynamoStreamFailureLedger(cfg),
  };
}
export type Stores = ReturnType<typeof createStores>;

/** The stores on `tableName` and the runtime kit's document client, built on first use. */
export function tableStores(tableName: string): () => Stores {
  let stores: Stores | undefined;
  return () => {
    stores ??= createStores({ client: documentClient(), tableName });
    return stores;
  };
}
