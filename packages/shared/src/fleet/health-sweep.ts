import { workerDefinitionsFromCml } from '../catalogue/index.ts';
import type { ServiceStatus, Worker, WorkerMetrics } from '../kernel/index.ts';
import { LIVE_WORKER_STATUSES } from '../kernel/index.ts';
import type { CmlSystemHealth, CmlSystemInformation, CmlSystemStats, CpuReading } from '../platform/index.ts';
import { nowOf, retryOnConflict } from '../platform/index.ts';
import { type FleetDeps, WORKER_LOST } from './deps.ts';

/**
 * Health sweep (every 5 minutes, DESIGN §7): for every live worker (RUNNING, DRAINING) it reads
 * CML `system_information` (no auth), and when CML answers `system_health` and `system_stats`,
 * plus the CloudWatch CPU of all instances in one GetMetricData, and stores them as the worker's
 * metrics snapshot and serviceStatus. A worker whose CML is unreachable or not ready counts one
 * consecutive failure (kept in `metrics.consecutiveFailures`); at `maxConsecutiveFailures` it is
 * marked FAILED, its instance terminated, and its sessions are failed into teardown with reason
 * WORKER_LOST. A healthy answer resets the count. A ready CML is also asked its node and image
 * definitions (`GET /node_definitions`, `GET /image_definitions`), stored as the worker's
 * `cmlDefinitions` (placement rejects a worker lacking one a lab uses; issue 11, item 3); when
 * either call fails the previous ones stay.
 */

const BY = 'fleet-health';
const GB = 1024 ** 3;

export interface WorkerProbe {
  reachable: boolean;
  ready: boolean;
  serviceStatus: ServiceStatus;
  info?: CmlSystemInformation | undefined;
  health?: CmlSystemHealth | undefined;
  stats?: CmlSystemStats | undefined;
  /** CML's node and image definitions (raw), when both calls answered. */
  definitions?: { nodeDefinitions: unknown[]; imageDefinitions: unknown[] } | undefined;
  error?: string | undefined;
}

export interface HealthSweepResult {
  checked: number;
  healthy: string[];
  unhealthy: Array<{ workerId: string; consecutiveFailures: number; error?: string | undefined }>;
  failed: Array<{ workerId: string; sessions: string[] }>;
}

type Deps = Pick<
  FleetDeps,
  'workers' | 'sessions' | 'failSessionsOn' | 'compute' | 'cml' | 'config' | 'clock'
>;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One worker's CML, asked the three system calls (auth ones only once it answers ready). */
export async function probeWorker(deps: Pick<Deps, 'cml'>, worker: Worker): Promise<WorkerProbe> {
  if (!worker.cmlBaseUrl) {
    return { reachable: false, ready: false, serviceStatus: 'UNAVAILABLE', error: 'no CML address' };
  }
  const cml = deps.cml({ id: worker.id, cmlBaseUrl: worker.cmlBaseUrl });
  let info: CmlSystemInformation;
  try {
    info = await cml.systemInformation();
  } catch (e) {
    return { reachable: false, ready: false, serviceStatus: 'UNAVAILABLE', error: message(e) };
  }
  if (!info.controllerUp) {
    return {
      reachable: false,
      ready: false,
      serviceStatus: 'UNAVAILABLE',
      info,
      error: 'CML controller down (502)',
    };
  }
  if (!info.ready) {
    return { reachable: true, ready: false, serviceStatus: 'ERROR', info, error: 'CML reports not ready' };
  }
  const [health, stats, nodeDefinitions, imageDefinitions] = await Promise.all([
    cml.systemHealth().catch(() => undefined),
    cml.systemStats().catch(() => undefined),
    cml.nodeDefinitions().catch(() => undefined),
    cml.imageDefinitions().catch(() => undefined),
  ]);
  const valid = health?.valid !== false;
  const definitions = nodeDefinitions && imageDefinitions ? { nodeDefinitions, imageDefinitions } : undefined;
  return {
    reachable: true,
    ready: true,
    serviceStatus: valid ? 'AVAILABLE' : 'ERROR',
    info,
    health,
    stats,
    definitions,
  };
}

/** The metrics snapshot from a probe and the CloudWatch reading (CML's own CPU when CloudWatch has none). */
export function metricsOf(
  probe: WorkerProbe,
  cpu: CpuReading | undefined,
  at: string,
  consecutiveFailures: number,
  previous?: WorkerMetrics | undefined,
): WorkerMetrics {
  const all = probe.stats?.all;
  let running: number | undefined;
  let total: number | undefined;
  for (const c of Object.values(probe.stats?.computes ?? {})) {
    const d = c.stats?.dominfo;
    if (typeof d?.running_nodes === 'number') running = (running ?? 0) + d.running_nodes;
    if (typeof d?.total_nodes === 'number') total = (total ?? 0) + d.total_nodes;
  }
  const gb = (v: number | null | undefined) =>
    typeof v === 'number' ? Math.round((v / GB) * 100) / 100 : undefined;
  const cpuPercent = cpu?.cpuPercent ?? all?.cpu?.percent ?? undefined;
  const snapshot: WorkerMetrics = {
    collectedAt: at,
    cpuPercent: typeof cpuPercent === 'number' ? Math.round(cpuPercent * 100) / 100 : undefined,
    memoryUsedGb: gb(all?.memory?.used),
    memoryTotalGb: gb(all?.memory?.total),
    diskUsedGb: gb(all?.disk?.used),
    diskTotalGb: gb(all?.disk?.total),
    runningNodes: running,
    totalNodes: total,
    cmlVersion: probe.info?.version ?? previous?.cmlVersion,
    cmlReady: probe.ready,
    consecutiveFailures,
  };
  return Object.fromEntries(Object.entries(snapshot).filter(([, v]) => v !== undefined)) as WorkerMetrics;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

export async function healthSweep(deps: Deps): Promise<HealthSweepResult> {
  const workers: Worker[] = [];
  for (const status of LIVE_WORKER_STATUSES) workers.push(...(await deps.workers.listAllByStatus(status)));
  const result: HealthSweepResult = { checked: workers.length, healthy: [], unhealthy: [], failed: [] };
  if (workers.length === 0) return result;

  const instanceIds = workers.map((w) => w.ec2InstanceId).filter((id): id is string => !!id);
  let cpu = new Map<string, CpuReading>();
  try {
    const readings = await deps.compute.cpuUtilisation(instanceIds, {
      windowMinutes: deps.config.cpuWindowMinutes,
    });
    cpu = new Map(readings.map((r) => [r.instanceId, r]));
  } catch {
    // CloudWatch is best effort: CML's own CPU figure stands in.
  }

  const probes = await mapLimited(workers, 8, (w) => probeWorker(deps, w));
  for (let i = 0; i < workers.length; i++) {
    const worker = workers[i]!;
    const probe = probes[i]!;
    const reading = worker.ec2InstanceId ? cpu.get(worker.ec2InstanceId) : undefined;
    const outcome = await recordProbe(deps, worker.id, probe, reading);
    if (outcome.kind === 'healthy') result.healthy.push(worker.id);
    else if (outcome.kind === 'unhealthy')
      result.unhealthy.push({
        workerId: worker.id,
        consecutiveFailures: outcome.failures,
        error: probe.error,
      });
    else if (outcome.kind === 'failed') {
      const sessions = await loseWorker(deps, worker.id);
      result.failed.push({ workerId: worker.id, sessions });
    }
  }
  return result;
}

type ProbeOutcome =
  | { kind: 'healthy' }
  | { kind: 'unhealthy'; failures: number }
  | { kind: 'failed' }
  | { kind: 'skipped' };

async function recordProbe(
  deps: Deps,
  workerId: string,
  probe: WorkerProbe,
  cpu: CpuReading | undefined,
): Promise<ProbeOutcome> {
  const at = nowOf(deps).toISOString();
  const { value } = await retryOnConflict(
    async (): Promise<ProbeOutcome> => {
      const w = await deps.workers.get(workerId);
      if (!LIVE_WORKER_STATUSES.includes(w.status)) return { kind: 'skipped' };
      const failures = probe.ready ? 0 : (w.metrics?.consecutiveFailures ?? 0) + 1;
      const metrics = metricsOf(probe, cpu, at, failures, w.metrics);
      if (failures >= deps.config.maxConsecutiveFailures) {
        await deps.workers.transition(
          w.id,
          w.status,
          'FAILED',
          BY,
          `${WORKER_LOST}: CML unhealthy for ${failures} consecutive sweeps (${probe.error ?? 'not ready'})`,
          { expectedVersion: w.version, patch: { metrics, serviceStatus: 'UNAVAILABLE' } },
        );
        return { kind: 'failed' };
      }
      const cmlDefinitions = probe.definitions
        ? workerDefinitionsFromCml(probe.definitions.nodeDefinitions, probe.definitions.imageDefinitions, at)
        : undefined;
      await deps.workers.update(
        w.id,
        { metrics, serviceStatus: probe.serviceStatus, ...(cmlDefinitions ? { cmlDefinitions } : {}) },
        w.version,
      );
      return failures === 0 ? { kind: 'healthy' } : { kind: 'unhealthy', failures };
    },
    { maxAttempts: 10 },
  );
  return value;
}

/**
 * A lost worker (already FAILED): its sessions are failed into teardown (WORKER_LOST) and its
 * instance is terminated, so nothing keeps running and billing.
 */
export async function loseWorker(deps: Deps, workerId: string): Promise<string[]> {
  const sessions = await deps.failSessionsOn(workerId, WORKER_LOST);
  const worker = await deps.workers.get(workerId);
  if (worker.ec2InstanceId) await deps.compute.terminateInstance(worker.ec2InstanceId);
  return sessions;
}
