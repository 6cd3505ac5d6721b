import type { BootRecord, LaunchFailure, Worker, WorkerStatus, WorkerTemplate } from '../../kernel/index.ts';
import { BOOTING_WORKER_STATUSES, NotFoundError, WORKER_LAUNCH_RECORDS_KEPT } from '../../kernel/index.ts';
import {
  type ComputeError,
  type InstanceInfo,
  isComputeError,
  MANAGED_BY,
  nowOf,
  recordMetric,
  retryOnConflict,
  TAG_MANAGED_BY,
  TAG_STAGE,
  TAG_TEMPLATE,
  TAG_WORKER_ID,
  workerIdOf,
} from '../../platform/index.ts';
import { type CmlFactory, cmlBaseUrlOf, cmlReadyBoundSeconds, type FleetDeps } from '../deps.ts';
import {
  candidateToken,
  fallbackTemplates,
  launchCandidates,
  subnetOrder,
} from '../rules/launch-fallback.ts';
import type { WorkerPatch } from '../stores/worker-store.ts';
import { startIndex, workflowForWorker } from '../workflow-dispatch.ts';
import { asFleetError, fleetError } from './errors.ts';

/**
 * The steps of the worker-provisioning workflow (statemachines/worker-provisioning.asl.json),
 * one function per Task state, each safe to repeat (Step Functions retries them):
 *
 * LAUNCH: resolveImage → launchInstance (RunInstances, ClientToken = worker id; PENDING →
 *   PROVISIONING) → checkInstance until running with an IP (→ STARTING) → checkCml until
 *   `system_information.ready` (bounded by boot minutes + margin) → registerLicense → markRunning.
 * START (a STOPPED worker started by the scaler or the API, already STARTING): startInstance
 *   (StartInstances) → checkInstance → checkCml → registerLicense → markRunning.
 * Any failure: failProvisioning → FAILED, and every instance of the worker is terminated; a
 *   worker whose termination was requested meanwhile (SHUTTING_DOWN) goes to TERMINATED instead.
 */

const BY = 'worker-provisioning';

export type ProvisioningPath = 'LAUNCH' | 'START' | 'DONE';

/** The state every provisioning step receives (the execution's running JSON). */
export interface ProvisioningState {
  workerId: string;
  /** When the workflow began: the deadlines of the polls count from here. */
  since: string;
  path: ProvisioningPath;
  pollSeconds: number;
}

type Deps<K extends keyof FleetDeps> = Pick<FleetDeps, K | 'config' | 'clock'>;

async function templateOf(deps: Pick<FleetDeps, 'templates'>, worker: Worker): Promise<WorkerTemplate> {
  return deps.templates.get(worker.templateName);
}

function expectStatus(worker: Worker, allowed: readonly WorkerStatus[], step: string): void {
  if (!allowed.includes(worker.status)) {
    throw fleetError(
      'Fleet.WorkerChanged',
      `${step}: worker ${worker.id} is ${worker.status}, expected ${allowed.join(' or ')}`,
    );
  }
}

const elapsedSeconds = (since: string, now: Date): number => (now.getTime() - Date.parse(since)) / 1000;

// ---------------------------------------------------------------------------------------------

export async function prepareProvisioning(
  deps: Deps<'workers'>,
  input: { workerId: string },
): Promise<ProvisioningState> {
  const worker = await deps.workers.get(input.workerId);
  const wf = workflowForWorker(worker);
  return {
    workerId: worker.id,
    since: nowOf(deps).toISOString(),
    path: wf?.kind === 'provisioning' ? wf.path : 'DONE',
    pollSeconds: deps.config.pollSeconds,
  };
}

export interface ResolvedImageOutput {
  imageId: string;
  /** null when EC2 does not say (always present: the state machine selects it). */
  name: string | null;
}

/** The template's AMI: its explicit id, or the newest image matching its name pattern. */
export async function resolveImage(
  deps: Deps<'workers' | 'templates' | 'compute'>,
  input: { workerId: string },
): Promise<ResolvedImageOutput> {
  const worker = await deps.workers.get(input.workerId);
  const template = await templateOf(deps, worker);
  if (!template.amiId && !template.amiNamePattern) {
    throw fleetError(
      'Fleet.ImageNotFound',
      `template ${template.name} names neither amiId nor amiNamePattern`,
    );
  }
  const image = await deps.compute.resolveImage({
    amiId: template.amiId,
    amiNamePattern: template.amiNamePattern,
  });
  return { imageId: image.imageId, name: image.name ?? null };
}

/** The subnet of a worker: stable per worker id, spread over the configured subnets. */
export function subnetFor(workerId: string, subnetIds: readonly string[]): string | undefined {
  if (subnetIds.length === 0) return undefined;
  let h = 0;
  for (const c of workerId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return subnetIds[h % subnetIds.length];
}

export function workerTags(deps: Pick<FleetDeps, 'config'>, worker: Worker): Record<string, string> {
  return {
    ...deps.config.extraTags,
    Name: `lcm-${deps.config.stage}-${worker.id}`,
    [TAG_WORKER_ID]: worker.id,
    [TAG_STAGE]: deps.config.stage,
    [TAG_TEMPLATE]: worker.templateName,
    [TAG_MANAGED_BY]: MANAGED_BY,
  };
}

const renderUserData = (text: string, vars: Record<string, string>): string =>
  text.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);

/**
 * A RunInstances failure that another AZ or another instance type may not have: EC2 out of
 * capacity (InsufficientInstanceCapacity, InsufficientHostCapacity, ...), or the type not offered
 * in the subnet's AZ (`Unsupported`).
 */
export const isCapacityFailure = (e: unknown): e is ComputeError =>
  isComputeError(e) && (e.code === 'INSUFFICIENT_CAPACITY' || e.providerCode === 'Unsupported');

/**
 * RunInstances and PENDING → PROVISIONING with the instance id (issue 10, item 5 for the failover):
 *
 * - an instance already recorded on the worker (a repeated step) is the answer;
 * - otherwise the launch tries the worker's template in its own subnet, then in the next subnets
 *   of the configured list, then the next-cheapest enabled template that fits
 *   (rules/launch-fallback.ts) in each subnet, moving on only when EC2 has no capacity. Each failed
 *   attempt is kept on the worker (`launchFailures`) and counted (WorkerLaunchCapacityFailures); a
 *   worker launched from another template takes that template's name, capacity and ports. When
 *   every candidate is out of capacity the step fails with Fleet.InsufficientCapacity (the ASL
 *   retries it later); any other error fails at once.
 * - a `nested` template launches with nested virtualisation enabled.
 *
 * Each candidate has its own deterministic ClientToken (the worker id for the first), so a step
 * retried after a crash between RunInstances and the write gets the same instance back from EC2
 * when it reaches the same candidate. If capacity changed in between and an earlier candidate
 * launches instead, the other instance is tagged with the worker but not recorded on it: the
 * reconciliation terminates it (an orphan, reconcile.ts).
 *
 * If the worker changed meanwhile (e.g. terminated through the API), the instance just launched is
 * terminated before the error is raised: nothing is orphaned.
 */
export async function launchInstance(
  deps: Deps<'workers' | 'templates' | 'compute'>,
  input: { workerId: string; image: { imageId: string; name?: string | null | undefined } },
): Promise<{ instanceId: string }> {
  const worker = await deps.workers.get(input.workerId);
  // Launched already (a repeated step, or a second execution of the same launch): that instance.
  if ((worker.status === 'PROVISIONING' || worker.status === 'STARTING') && worker.ec2InstanceId) {
    return { instanceId: worker.ec2InstanceId };
  }
  expectStatus(worker, ['PENDING', 'PROVISIONING'], 'launchInstance');
  const own = await templateOf(deps, worker);
  const cfg = deps.config;

  const subnets = subnetOrder(subnetFor(worker.id, cfg.subnetIds), cfg.subnetIds);
  // The other templates are read only once the worker's own is out of capacity everywhere.
  let plan = launchCandidates(own, [], subnets);
  let widened = cfg.launchTemplatesTried <= 1;
  const failures: LaunchFailure[] = [];
  const images = new Map<string, { imageId: string; name?: string | null | undefined }>([
    [own.name, input.image],
  ]);
  for (let i = 0; i < plan.length; i++) {
    const candidate = plan[i]!;
    const template = candidate.template;
    let image = images.get(template.name);
    if (!image) {
      try {
        const resolved = await deps.compute.resolveImage({
          amiId: template.amiId,
          amiNamePattern: template.amiNamePattern,
        });
        image = { imageId: resolved.imageId, name: resolved.name ?? null };
        images.set(template.name, image);
      } catch {
        // A fallback whose image cannot be resolved is skipped; the worker's own was resolved.
        continue;
      }
    }
    let instance: InstanceInfo;
    try {
      instance = await deps.compute.launchInstance({
        clientToken: candidateToken(worker.id, candidate.index),
        imageId: image.imageId,
        instanceType: template.instanceType,
        subnetId: candidate.subnetId,
        securityGroupIds: cfg.securityGroupIds,
        instanceProfile: cfg.instanceProfile,
        keyName: cfg.keyName,
        userData: cfg.userData
          ? renderUserData(cfg.userData, {
              workerId: worker.id,
              stage: cfg.stage,
              templateName: template.name,
            })
          : undefined,
        tags: workerTags(deps, { ...worker, templateName: template.name }),
        nestedVirtualisation: template.virtualisation === 'nested',
      });
    } catch (e) {
      if (!isCapacityFailure(e)) {
        await noteLaunchFailures(deps, worker.id, failures);
        throw e;
      }
      failures.push({
        at: nowOf(deps).toISOString(),
        templateName: template.name,
        instanceType: template.instanceType,
        ...(candidate.subnetId ? { subnetId: candidate.subnetId } : {}),
        error: e.providerCode ?? e.code,
        message: e.message.slice(0, 500),
      });
      recordMetric('launchCapacityFailures', 1, { template: template.name });
      if (i === plan.length - 1 && !widened) {
        widened = true;
        const fallbacks = fallbackTemplates(worker, await allTemplates(deps));
        plan = launchCandidates(own, fallbacks, subnets, cfg.launchTemplatesTried);
      }
      continue;
    }
    await recordLaunch(deps, worker, instance, image, template, failures, candidate.subnetId);
    return { instanceId: instance.instanceId };
  }
  await noteLaunchFailures(deps, worker.id, failures);
  const last = failures.at(-1);
  throw fleetError(
    'Fleet.InsufficientCapacity',
    `no capacity for worker ${worker.id} after ${failures.length} attempt(s) over ${subnets.length} subnet(s) and ${new Set(failures.map((f) => f.templateName)).size} template(s)${last ? `: ${last.error}: ${last.message ?? ''}` : ''}`,
  );
}

async function allTemplates(deps: Pick<FleetDeps, 'templates'>): Promise<WorkerTemplate[]> {
  const out: WorkerTemplate[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.templates.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return out;
}

const keepNewest = <T>(items: readonly T[]): T[] => items.slice(-WORKER_LAUNCH_RECORDS_KEPT);

/** Keeps the failed attempts on the worker (its launch history) when nothing was launched. */
async function noteLaunchFailures(
  deps: Deps<'workers'>,
  workerId: string,
  failures: readonly LaunchFailure[],
): Promise<void> {
  if (failures.length === 0) return;
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(workerId);
      if (w.status !== 'PENDING' && w.status !== 'PROVISIONING') return;
      await deps.workers.update(
        w.id,
        { launchFailures: keepNewest([...(w.launchFailures ?? []), ...failures]) },
        w.version,
      );
    },
    { maxAttempts: 5 },
  );
}

/** PENDING → PROVISIONING with the instance (and the template it was launched from). */
async function recordLaunch(
  deps: Deps<'workers' | 'compute'>,
  worker: Worker,
  instance: InstanceInfo,
  image: { imageId: string; name?: string | null | undefined },
  template: WorkerTemplate,
  failures: readonly LaunchFailure[],
  where: string | undefined,
): Promise<void> {
  const now = nowOf(deps).toISOString();
  const switched = template.name !== worker.templateName;
  const reason =
    `launched ${instance.instanceId} (${template.instanceType}${where ? ` in ${where}` : ''})` +
    (failures.length > 0 ? ` after ${failures.length} capacity failure(s)` : '') +
    (switched ? `, template ${worker.templateName} → ${template.name}` : '');
  try {
    await retryOnConflict(
      async () => {
        const w = await deps.workers.get(worker.id);
        const patch: WorkerPatch = {
          ec2InstanceId: instance.instanceId,
          amiId: image.imageId,
          ...(image.name ? { amiName: image.name } : {}),
          launchedAt: now,
          ...(failures.length > 0
            ? { launchFailures: keepNewest([...(w.launchFailures ?? []), ...failures]) }
            : {}),
          ...(switched
            ? {
                templateName: template.name,
                declaredCapacity: { ...template.capacity },
                portRange: { ...template.portRange },
              }
            : {}),
        };
        if (w.status === 'PENDING') {
          await deps.workers.transition(w.id, 'PENDING', 'PROVISIONING', BY, reason, {
            expectedVersion: w.version,
            patch,
          });
        } else if (w.status === 'PROVISIONING' && !w.ec2InstanceId) {
          await deps.workers.update(w.id, patch, w.version);
        } else {
          expectStatus(w, ['PROVISIONING'], 'launchInstance');
        }
      },
      { maxAttempts: 5 },
    );
  } catch (e) {
    await deps.compute.terminateInstance(instance.instanceId);
    throw e;
  }
}

/** START path: StartInstances for a STARTING worker that has an instance (stopped). */
export async function startInstance(
  deps: Deps<'workers' | 'compute'>,
  input: { workerId: string },
): Promise<{ instanceId: string }> {
  const worker = await deps.workers.get(input.workerId);
  expectStatus(worker, ['STARTING'], 'startInstance');
  const instanceId = worker.ec2InstanceId;
  if (!instanceId) throw fleetError('Fleet.InstanceLost', `worker ${worker.id} has no instance to start`);
  const instance = await deps.compute.describeInstance(instanceId);
  if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw fleetError('Fleet.InstanceLost', `instance ${instanceId} of worker ${worker.id} no longer exists`);
  }
  if (instance.state === 'stopping') {
    throw fleetError('Fleet.Transient', `instance ${instanceId} is still stopping`);
  }
  if (instance.state === 'stopped') await deps.compute.startInstance(instanceId);
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      expectStatus(w, ['STARTING'], 'startInstance');
      await deps.workers.update(
        w.id,
        { launchedAt: nowOf(deps).toISOString(), serviceStatus: 'UNAVAILABLE' },
        w.version,
      );
    },
    { maxAttempts: 5 },
  );
  return { instanceId };
}

export interface CheckOutput {
  ready: boolean;
  /** What was seen (instance state, or CML's answer); always present. */
  state: string;
}

/**
 * Polls the instance: running with an IP → records ipAddress and cmlBaseUrl (PROVISIONING →
 * STARTING on the launch path) and answers ready; pending → not ready until the bound; an
 * instance that stopped or vanished → InstanceLost.
 */
export async function checkInstance(
  deps: Deps<'workers' | 'compute'>,
  input: { workerId: string; since: string; path?: ProvisioningPath },
): Promise<CheckOutput> {
  const worker = await deps.workers.get(input.workerId);
  expectStatus(worker, ['PROVISIONING', 'STARTING'], 'checkInstance');
  const instanceId = worker.ec2InstanceId;
  if (!instanceId) throw fleetError('Fleet.InstanceLost', `worker ${worker.id} has no instance`);
  const now = nowOf(deps);
  const overdue = elapsedSeconds(input.since, now) > deps.config.instanceRunningTimeoutSeconds;
  const instance = await deps.compute.describeInstance(instanceId);
  const ip = instance?.privateIp ?? instance?.publicIp;
  if (instance?.state === 'running' && ip) {
    await recordAddress(deps, worker.id, instance);
    return { ready: true, state: instance.state };
  }
  const starting =
    input.path === 'START' && (instance?.state === 'stopped' || instance?.state === 'stopping');
  if (instance && instance.state !== 'pending' && instance.state !== 'running' && !starting) {
    throw fleetError(
      'Fleet.InstanceLost',
      `instance ${instanceId} of worker ${worker.id} is ${instance.state}`,
    );
  }
  if (overdue) {
    throw fleetError(
      'Fleet.InstanceNotRunning',
      `instance ${instanceId} of worker ${worker.id} is not running with an IP after ${deps.config.instanceRunningTimeoutSeconds} s (${instance?.state ?? 'not found'})`,
    );
  }
  return { ready: false, state: instance?.state ?? 'unknown' };
}

async function recordAddress(deps: Deps<'workers'>, workerId: string, instance: InstanceInfo): Promise<void> {
  const ipAddress = instance.privateIp ?? instance.publicIp;
  const cmlBaseUrl = cmlBaseUrlOf(deps.config, instance);
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(workerId);
      const patch: WorkerPatch = { ipAddress, cmlBaseUrl };
      if (w.status === 'PROVISIONING') {
        await deps.workers.transition(
          w.id,
          'PROVISIONING',
          'STARTING',
          BY,
          `instance running at ${ipAddress}`,
          {
            expectedVersion: w.version,
            patch: { ...patch, serviceStatus: 'STARTING' },
          },
        );
        return;
      }
      expectStatus(w, ['STARTING'], 'checkInstance');
      if (w.ipAddress !== ipAddress || w.cmlBaseUrl !== cmlBaseUrl || w.serviceStatus !== 'STARTING') {
        await deps.workers.update(w.id, { ...patch, serviceStatus: 'STARTING' }, w.version);
      }
    },
    { maxAttempts: 5 },
  );
}

/**
 * Polls CML `system_information` (no auth): ready → done; 502 / no answer / not ready → not
 * ready until boot minutes + margin have passed since the workflow began, then CmlNotReady.
 */
export async function checkCml(
  deps: Deps<'workers' | 'templates'> & { cml: CmlFactory },
  input: { workerId: string; since: string },
): Promise<CheckOutput & { version: string | null }> {
  const worker = await deps.workers.get(input.workerId);
  expectStatus(worker, ['STARTING'], 'checkCml');
  if (!worker.cmlBaseUrl) throw fleetError('Fleet.InstanceLost', `worker ${worker.id} has no CML address`);
  const template = await templateOf(deps, worker);
  const bound = cmlReadyBoundSeconds(deps.config, template);
  let state: string;
  try {
    const info = await deps.cml({ id: worker.id, cmlBaseUrl: worker.cmlBaseUrl }).systemInformation();
    if (info.ready) return { ready: true, state: 'ready', version: info.version ?? null };
    state = info.controllerUp ? 'controller up, not ready' : 'controller starting (502)';
  } catch (e) {
    state = `unreachable: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (elapsedSeconds(input.since, nowOf(deps)) > bound) {
    throw fleetError(
      'Fleet.CmlNotReady',
      `CML on worker ${worker.id} not ready after ${bound} s (template ${template.name}: ${template.bootMinutes} min boot + margin): ${state}`,
    );
  }
  return { ready: false, state, version: null };
}

/**
 * Licensing as the template asks: EVALUATION needs nothing; any other license type needs CML
 * registered (Smart Licensing): already COMPLETED → REGISTERED; otherwise the configured token
 * is registered and, until CML reports COMPLETED, the step fails with LicensePending (the ASL
 * retries it). No token configured for a template that needs one → LicenseFailed.
 */
export async function registerLicense(
  deps: Deps<'workers' | 'templates' | 'licenseToken'> & { cml: CmlFactory },
  input: { workerId: string; version?: string | null | undefined },
): Promise<{ license: Worker['license'] }> {
  const worker = await deps.workers.get(input.workerId);
  expectStatus(worker, ['STARTING'], 'registerLicense');
  const template = await templateOf(deps, worker);
  let status: Worker['license']['status'];
  if (template.licenseType === 'EVALUATION') {
    status = 'EVALUATION';
  } else {
    const cml = deps.cml({ id: worker.id, cmlBaseUrl: worker.cmlBaseUrl ?? '' });
    const before = await cml.licensing().catch((e) => {
      throw asFleetError(e);
    });
    if (before.registration?.status === 'COMPLETED') {
      status = 'REGISTERED';
    } else {
      const token = await deps.licenseToken();
      if (!token) {
        throw fleetError(
          'Fleet.LicenseFailed',
          `template ${template.name} needs a ${template.licenseType} license; CML on ${worker.id} is not registered and no license token is configured`,
        );
      }
      try {
        await cml.registerLicense(token);
      } catch (e) {
        const err = asFleetError(e);
        if (err.name === 'Fleet.Transient') throw err;
        throw fleetError(
          'Fleet.LicenseFailed',
          `license registration on ${worker.id} failed: ${err.message}`,
          e,
        );
      }
      const after = await cml.licensing();
      if (after.registration?.status !== 'COMPLETED') {
        throw fleetError(
          'Fleet.LicensePending',
          `license registration on ${worker.id} is ${after.registration?.status ?? 'unknown'}`,
        );
      }
      status = 'REGISTERED';
    }
  }
  const license = { type: template.licenseType, status };
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      expectStatus(w, ['STARTING'], 'registerLicense');
      const metrics = input.version
        ? { ...(w.metrics ?? { collectedAt: nowOf(deps).toISOString() }), cmlVersion: input.version }
        : w.metrics;
      await deps.workers.update(w.id, { license, ...(metrics ? { metrics } : {}) }, w.version);
    },
    { maxAttempts: 5 },
  );
  return { license };
}

/**
 * STARTING → RUNNING: placement may use it from now on; idle from now for the scale-down. The boot
 * (launchedAt → now: RunInstances or StartInstances to CML ready) is appended to `worker.boots`,
 * what the scaler's look-ahead learns boot durations from (rules/boot-durations.ts).
 */
export async function markRunning(
  deps: Deps<'workers'>,
  input: { workerId: string },
): Promise<{ status: 'RUNNING' }> {
  await retryOnConflict(
    async () => {
      const w = await deps.workers.get(input.workerId);
      if (w.status === 'RUNNING') return;
      expectStatus(w, ['STARTING'], 'markRunning');
      const now = nowOf(deps).toISOString();
      const boot = bootOf(w, now);
      await deps.workers.transition(
        w.id,
        'STARTING',
        'RUNNING',
        BY,
        boot ? `CML ready after ${Math.round(boot.seconds)} s` : 'CML ready',
        {
          expectedVersion: w.version,
          patch: {
            serviceStatus: 'AVAILABLE',
            idleSince: now,
            lastActivityAt: now,
            ...(boot ? { boots: [...(w.boots ?? []), boot].slice(-WORKER_LAUNCH_RECORDS_KEPT) } : {}),
          },
        },
      );
    },
    { maxAttempts: 5 },
  );
  return { status: 'RUNNING' };
}

/** The boot that ends now: from the worker's launchedAt (set by the launch or the start). */
function bootOf(w: Worker, readyAt: string): BootRecord | undefined {
  if (!w.launchedAt) return undefined;
  const seconds = (Date.parse(readyAt) - Date.parse(w.launchedAt)) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  return {
    kind: startIndex(w) === undefined ? 'LAUNCH' : 'START',
    templateName: w.templateName,
    launchedAt: w.launchedAt,
    readyAt,
    seconds,
  };
}

export interface StepError {
  Error?: string;
  Cause?: string;
}

export interface FailOutput {
  outcome: 'FAILED' | 'CANCELLED' | 'NONE';
  status: WorkerStatus;
  error: string;
  cause: string;
  terminatedInstances: string[];
}

/** Every instance of the worker: the recorded one and any tagged with its id (a launch whose id was never recorded). */
async function instancesOf(deps: Pick<FleetDeps, 'compute' | 'config'>, worker: Worker): Promise<string[]> {
  const ids = new Set<string>();
  if (worker.ec2InstanceId) ids.add(worker.ec2InstanceId);
  const tagged = await deps.compute.listWorkerInstances({ stage: deps.config.stage });
  for (const i of tagged) if (workerIdOf(i) === worker.id) ids.add(i.instanceId);
  return [...ids];
}

const FAILABLE: ReadonlySet<WorkerStatus> = new Set(BOOTING_WORKER_STATUSES);

/**
 * The Catch of every provisioning step: terminates every instance of the worker, then marks it
 * FAILED with the error as reason (or, if its termination was requested meanwhile, TERMINATED).
 */
export async function failProvisioning(
  deps: Deps<'workers' | 'compute'>,
  input: { workerId: string; error?: StepError | undefined },
): Promise<FailOutput> {
  const error = input.error?.Error ?? 'Fleet.Unknown';
  const cause = (input.error?.Cause ?? 'provisioning failed').slice(0, 1500);
  let worker: Worker;
  try {
    worker = await deps.workers.get(input.workerId);
  } catch (e) {
    if (e instanceof NotFoundError) {
      return { outcome: 'NONE', status: 'TERMINATED', error, cause, terminatedInstances: [] };
    }
    throw e;
  }
  if (worker.status === 'RUNNING') {
    return { outcome: 'NONE', status: worker.status, error, cause, terminatedInstances: [] };
  }
  const instances = await instancesOf(deps, worker);
  for (const id of instances) await deps.compute.terminateInstance(id);

  const { value } = await retryOnConflict(
    async () => {
      const w = await deps.workers.get(worker.id);
      if (w.status === 'SHUTTING_DOWN') {
        const t = await deps.workers.transition(
          w.id,
          'SHUTTING_DOWN',
          'TERMINATED',
          BY,
          'terminated while provisioning',
          {
            expectedVersion: w.version,
            patch: { serviceStatus: 'UNAVAILABLE' },
          },
        );
        return { outcome: 'CANCELLED' as const, status: t.status };
      }
      if (FAILABLE.has(w.status)) {
        const f = await deps.workers.transition(w.id, w.status, 'FAILED', BY, `${error}: ${cause}`, {
          expectedVersion: w.version,
          patch: { serviceStatus: 'UNAVAILABLE' },
        });
        return { outcome: 'FAILED' as const, status: f.status };
      }
      return {
        outcome: w.status === 'TERMINATED' ? ('CANCELLED' as const) : ('FAILED' as const),
        status: w.status,
      };
    },
    { maxAttempts: 10 },
  );
  return { ...value, error, cause, terminatedInstances: instances };
}
