import type { DefinitionStore } from '../catalogue/index.ts';
import type { LabletSession, SessionStatus, Worker, WorkerTemplate } from '../kernel/index.ts';
import type {
  CmlApi,
  ComputeProvider,
  FleetWorkflows,
  InstanceInfo,
  Page,
  PageRequest,
} from '../platform/index.ts';
import type { FleetConfig } from './config.ts';
import type { ScalingConfig } from './rules/scaling/index.ts';
import type { LeftoverLabStore } from './stores/leftover-lab-store.ts';
import type { PortLeaseStore } from './stores/port-lease-store.ts';
import type { ScalingStore } from './stores/scaling-store.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';

/** The CML client of one worker (its base URL and its credentials). */
export type CmlFactory = (worker: Pick<Worker, 'id'> & { cmlBaseUrl: string }) => CmlApi;

/**
 * What the fleet reads of the sessions (the sessions context's store satisfies it): the fleet
 * depends on this port, never on the sessions context itself.
 */
export interface FleetSessionQueries {
  listByStatus(
    status: SessionStatus,
    opts?: PageRequest & { startFrom?: string; startTo?: string },
  ): Promise<Page<LabletSession>>;
  listActiveOnWorker(workerId: string, page?: PageRequest): Promise<Page<LabletSession>>;
}

/**
 * Fails every session on a lost or terminated worker into teardown and returns their ids; the
 * sessions context implements it (sessions/worker-loss.ts), the composition root wires it.
 */
export type FailSessionsOn = (workerId: string, reason: string) => Promise<string[]>;

/** Reason recorded on sessions whose worker was lost (unreachable, or its instance gone). */
export const WORKER_LOST = 'WORKER_LOST';

/**
 * Everything the worker-lifecycle commands may use; each command takes the `Pick` it needs, so
 * tests pass only that. Built once per cold start by the composition root (packages/shared/src/app/).
 */
export interface FleetDeps {
  workers: WorkerStore;
  templates: Pick<WorkerTemplateStore, 'get' | 'list'>;
  sessions: FleetSessionQueries;
  definitions: Pick<DefinitionStore, 'getLatest' | 'getVersion'>;
  /** listByWorker, and deleteLeases for the leftover leases of a drained worker. */
  leases: Pick<PortLeaseStore, 'listByWorker' | 'deleteLeases'>;
  /** CML labs force-released sessions left on live workers (the health sweep deletes them). */
  leftoverLabs: Pick<LeftoverLabStore, 'listAll' | 'noteAttempt' | 'remove'>;
  compute: ComputeProvider;
  cml: CmlFactory;
  /** The CML license token (Smart Licensing), when one is configured. */
  licenseToken: () => Promise<string | undefined>;
  /** Worker workflows (reconciliation starts the one a worker's status needs). */
  workflows: FleetWorkflows;
  /** The sessions context's reaction to a lost worker. */
  failSessionsOn: FailSessionsOn;
  /** Scaling audit trail and scaler state. */
  scaling: ScalingStore;
  scalingConfig: ScalingConfig;
  config: FleetConfig;
  clock?: (() => Date) | undefined;
}

/** Where a worker's CML API answers: the provider's endpoint, else the configured URL template. */
export function cmlBaseUrlOf(
  config: Pick<FleetConfig, 'cmlBaseUrlTemplate'>,
  instance: Pick<InstanceInfo, 'cmlBaseUrl' | 'privateIp' | 'publicIp'>,
): string | undefined {
  if (instance.cmlBaseUrl) return instance.cmlBaseUrl;
  const ip = instance.privateIp ?? instance.publicIp;
  return ip ? config.cmlBaseUrlTemplate.replaceAll('{ip}', ip) : undefined;
}

/**
 * Where a registered worker's CML API answers: the `cmlBaseUrl` its provisioning recorded (from
 * `cmlBaseUrlOf` above, so one rule decides the address). A worker without one has no CML yet.
 */
export function workerCmlBaseUrl(worker: Pick<Worker, 'id' | 'cmlBaseUrl'>): string {
  if (worker.cmlBaseUrl) return worker.cmlBaseUrl;
  throw new Error(
    `worker ${worker.id} has no CML address yet (cmlBaseUrl is recorded when its instance runs)`,
  );
}

/** Seconds the CML readiness poll may take for a template. */
export function cmlReadyBoundSeconds(
  config: Pick<FleetConfig, 'cmlReadyTimeoutSeconds' | 'cmlReadyMarginMinutes'>,
  template: Pick<WorkerTemplate, 'bootMinutes'>,
): number {
  return config.cmlReadyTimeoutSeconds ?? (template.bootMinutes + config.cmlReadyMarginMinutes) * 60;
}
