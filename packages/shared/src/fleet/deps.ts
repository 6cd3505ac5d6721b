import type { DefinitionStore } from '../catalogue/definition-store.ts';
import type { Worker, WorkerTemplate } from '../kernel/schemas.ts';
import type { ComputeProvider, InstanceInfo } from '../platform/compute/provider.ts';
import type { CmlApi } from '../platform/partners/cml-client.ts';
import type { WorkflowEngine } from '../platform/workflow/engine.ts';
import type { FleetWorkflows } from '../platform/workflow/fleet-engine.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { SessionTeardown } from '../sessions/stuck-sessions.ts';
import type { FleetConfig } from './config.ts';
import type { ScalingConfig } from './rules/scaling.ts';
import type { PortLeaseStore } from './stores/port-lease-store.ts';
import type { ScalingStore } from './stores/scaling-store.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';

/** The CML client of one worker (its base URL and its credentials). */
export type CmlFactory = (worker: Pick<Worker, 'id'> & { cmlBaseUrl: string }) => CmlApi;

/**
 * Everything the worker-lifecycle commands may use; each command takes the `Pick` it needs, so
 * tests pass only that. Built once per cold start by functions/tasks/fleet/deps.ts and
 * functions/schedules/deps.ts.
 */
export interface LifecycleDeps {
  workers: WorkerStore;
  templates: Pick<WorkerTemplateStore, 'get' | 'list'>;
  sessions: SessionStore;
  definitions: Pick<DefinitionStore, 'getLatest' | 'getVersion'>;
  /** listByWorker, and deleteLeases for the leftover leases of a drained worker. */
  leases: Pick<PortLeaseStore, 'listByWorker' | 'deleteLeases'>;
  compute: ComputeProvider;
  cml: CmlFactory;
  /** The CML license token (Smart Licensing), when one is configured. */
  licenseToken: () => Promise<string | undefined>;
  /** Worker workflows (reconciliation starts the one a worker's status needs). */
  workflows: FleetWorkflows;
  /** Session workflow engine (fails a session's pending wait when its worker is lost). */
  engine: WorkflowEngine;
  /** The session workflow's teardown steps, for sessions whose execution is gone. */
  sessionTeardown: SessionTeardown;
  /** Scaling audit trail and scaler state. */
  scaling: ScalingStore;
  scalingConfig: ScalingConfig;
  config: FleetConfig;
  clock?: (() => Date) | undefined;
}

export const nowOf = (deps: { clock?: (() => Date) | undefined }): Date => deps.clock?.() ?? new Date();

/** Where a worker's CML API answers: the provider's endpoint, else the configured URL template. */
export function cmlBaseUrlOf(
  config: Pick<FleetConfig, 'cmlBaseUrlTemplate'>,
  instance: Pick<InstanceInfo, 'cmlBaseUrl' | 'privateIp' | 'publicIp'>,
): string | undefined {
  if (instance.cmlBaseUrl) return instance.cmlBaseUrl;
  const ip = instance.privateIp ?? instance.publicIp;
  return ip ? config.cmlBaseUrlTemplate.replaceAll('{ip}', ip) : undefined;
}

/** Seconds the CML readiness poll may take for a template. */
export function cmlReadyBoundSeconds(
  config: Pick<FleetConfig, 'cmlReadyTimeoutSeconds' | 'cmlReadyMarginMinutes'>,
  template: Pick<WorkerTemplate, 'bootMinutes'>,
): number {
  return config.cmlReadyTimeoutSeconds ?? (template.bootMinutes + config.cmlReadyMarginMinutes) * 60;
}
