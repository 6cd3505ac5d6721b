import { randomBytes } from 'node:crypto';
import {
  ComputeError,
  type ComputeErrorCode,
  type ComputeProvider,
  type CpuReading,
  type ImageSpec,
  type InstanceInfo,
  type InstanceState,
  type InstanceTypeInfo,
  type LaunchRequest,
  matchesNamePattern,
  type ResolvedImage,
  TAG_STAGE,
  TAG_WORKER_ID,
} from '@lcm/shared/platform';
import { type CmlSimulator, type CmlSimulatorOptions, startCmlSimulator } from '../simulators/cml.ts';
import { instanceTypeInfoOf, sandboxInstanceType } from './instance-types.ts';

/**
 * The sandbox's EC2: a ComputeProvider that simulates instances in memory, each running instance
 * backed by its own CML simulator (a real HTTP server on a loopback port), so the provisioning
 * workflow polls a real CML API and `npm start` scales for real on one machine.
 *
 * Timing (all from LCM_SANDBOX_BOOT_SECONDS unless given): an instance is `pending` for 30% of
 * the boot time, then `running` with IP 127.0.0.1; its CML controller answers 502 until the
 * whole boot time has passed, then reports ready. Stop and terminate take `transitionMs`
 * (`stopping`/`shutting-down`, then `stopped`/`terminated`); the CML simulator stops with the
 * instance and a started instance boots a fresh one. States are computed from timestamps, so
 * nothing runs in the background except the simulators' servers.
 *
 * Instance types come from a realistic table (instance-types.ts): DescribeInstanceTypes answers
 * from it, RunInstances refuses a type it does not know (InvalidParameterValue) and nested
 * virtualisation on a type that does not offer it (UnsupportedOperation). Tests can make the
 * launches of a subnet and/or type fail with InsufficientInstanceCapacity (`failLaunchesIn`).
 */

export interface SandboxImage {
  imageId: string;
  name: string;
  creationDate: string;
}

export interface SandboxComputeOptions {
  /** Boot time of an instance including CML (default LCM_SANDBOX_BOOT_SECONDS, else 5 s). */
  bootSeconds?: number;
  /** stopping → stopped and shutting-down → terminated (default 500 ms). */
  transitionMs?: number;
  /** Images the sandbox knows; default one CML image. */
  images?: SandboxImage[];
  /**
   * Resolve any `ami-*` id and any name pattern even when no image matches (default true, so the
   * local stack works with whatever the seeded templates name). Tests set false.
   */
  acceptAnyImage?: boolean;
  /** Options of every CML simulator (users, licensing, ...); the boot delay is set here. */
  cml?: Omit<CmlSimulatorOptions, 'controllerBootMs'>;
  /** CloudWatch CPU per instance (default: 3% + 10% per lab on its CML). */
  cpu?: (instanceId: string) => number | undefined;
  now?: () => number;
}

export interface SandboxInstance {
  instanceId: string;
  state: InstanceState;
  imageId: string;
  instanceType: string;
  clientToken: string;
  tags: Record<string, string>;
  subnetId?: string | undefined;
  userData?: string | undefined;
  cmlUrl?: string | undefined;
  /** Launched with `CpuOptions.NestedVirtualization=enabled`. */
  nestedVirtualisation: boolean;
}

/** One RunInstances call as the sandbox saw it (a test asserts where a launch went). */
export interface SandboxLaunchAttempt {
  clientToken: string;
  instanceType: string;
  subnetId: string | undefined;
  nestedVirtualisation: boolean;
  /** The error code it failed with, or `launched`. */
  outcome: ComputeErrorCode | 'launched' | 'replayed';
}

/** Where a capacity fault applies: a subnet, an instance type, or both (absent = any). */
export interface LaunchFaultScope {
  subnetId?: string | undefined;
  instanceType?: string | undefined;
}

interface SimInstance {
  instanceId: string;
  clientToken: string;
  imageId: string;
  instanceType: string;
  tags: Record<string, string>;
  subnetId: string | undefined;
  userData: string | undefined;
  nestedVirtualisation: boolean;
  launchTime: number;
  /** What the instance is doing and since when. */
  phase: 'booting' | 'stopping' | 'stopped' | 'terminating' | 'terminated';
  since: number;
  /** Instance lost outside LCM's control (tests): gone from every listing. */
  vanished: boolean;
  sim: CmlSimulator | undefined;
  simStarting: Promise<CmlSimulator> | undefined;
}

export interface SandboxCompute extends ComputeProvider {
  /** Snapshot of every instance (terminated ones too). */
  instances(): SandboxInstance[];
  /** The CML simulator of a running instance (to inject faults), if it has one. */
  cmlOf(instanceId: string): CmlSimulator | undefined;
  /** The next launches fail with this EC2 error code (e.g. INSUFFICIENT_CAPACITY). */
  failLaunches(code: ComputeErrorCode, times?: number): void;
  /**
   * Launches into this subnet and/or of this type fail with InsufficientInstanceCapacity (`times`
   * times; default until `clearLaunchFaults`), as EC2 does when an AZ runs out of a type.
   */
  failLaunchesIn(scope: LaunchFaultScope, times?: number): void;
  clearLaunchFaults(): void;
  /** Every RunInstances call so far, in order. */
  launchAttempts(): SandboxLaunchAttempt[];
  /** The instance disappears as if terminated outside LCM (its CML stops answering). */
  vanish(instanceId: string): Promise<void>;
  /** Stops every CML simulator; the provider is unusable afterwards. */
  stop(): Promise<void>;
}

const DEFAULT_IMAGES: SandboxImage[] = [
  { imageId: 'ami-0sandboxcml29100', name: 'cml-2.9.1-sandbox', creationDate: '2025-06-01T00:00:00.000Z' },
];

export function createSandboxCompute(opts: SandboxComputeOptions = {}): SandboxCompute {
  const envBoot = Number(process.env.LCM_SANDBOX_BOOT_SECONDS);
  const bootMs = Math.max(0, (opts.bootSeconds ?? (Number.isFinite(envBoot) ? envBoot : 5)) * 1000);
  const pendingMs = Math.round(bootMs * 0.3);
  const transitionMs = opts.transitionMs ?? 500;
  const images = opts.images ?? DEFAULT_IMAGES;
  const acceptAny = opts.acceptAnyImage ?? true;
  const now = opts.now ?? Date.now;
  const byId = new Map<string, SimInstance>();
  const byToken = new Map<string, string>();
  const launchFaults: ComputeErrorCode[] = [];
  const scopedFaults: { scope: LaunchFaultScope; left: number }[] = [];
  const attempts: SandboxLaunchAttempt[] = [];
  let stopped = false;

  const live = () => {
    if (stopped) throw new ComputeError('INVALID_REQUEST', 'the sandbox compute provider is stopped');
  };

  const stateOf = (i: SimInstance): InstanceState => {
    if (i.vanished) return 'terminated';
    const elapsed = now() - i.since;
    switch (i.phase) {
      case 'booting':
        return elapsed < pendingMs ? 'pending' : 'running';
      case 'stopping':
        return elapsed < transitionMs ? 'stopping' : 'stopped';
      case 'stopped':
        return 'stopped';
      case 'terminating':
        return elapsed < transitionMs ? 'shutting-down' : 'terminated';
      case 'terminated':
        return 'terminated';
    }
  };

  const bootSim = (i: SimInstance): void => {
    // The controller answers 502 until the instance's whole boot time has passed.
    const remaining = Math.max(0, i.since + bootMs - now());
    const starting = startCmlSimulator({ ...opts.cml, controllerBootMs: remaining });
    i.simStarting = starting;
    starting.then(
      (sim) => {
        if (i.simStarting !== starting || i.phase !== 'booting' || stopped) {
          void sim.stop();
          return;
        }
        i.sim = sim;
      },
      () => undefined,
    );
  };

  const stopSim = async (i: SimInstance): Promise<void> => {
    const starting = i.simStarting;
    i.simStarting = undefined;
    const sim = i.sim ?? (starting ? await starting.catch(() => undefined) : undefined);
    i.sim = undefined;
    if (sim) await sim.stop();
  };

  const info = (i: SimInstance): InstanceInfo => {
    const state = stateOf(i);
    const running = state === 'running';
    return {
      instanceId: i.instanceId,
      state,
      instanceType: i.instanceType,
      imageId: i.imageId,
      privateIp: running ? '127.0.0.1' : undefined,
      launchTime: new Date(i.launchTime).toISOString(),
      tags: { ...i.tags },
      cmlBaseUrl: running ? i.sim?.url : undefined,
    };
  };

  const get = (instanceId: string): SimInstance | undefined => {
    const i = byId.get(instanceId);
    return i && !i.vanished ? i : undefined;
  };

  const require = (instanceId: string, op: string): SimInstance => {
    const i = get(instanceId);
    if (!i || stateOf(i) === 'terminated') {
      throw new ComputeError('INSTANCE_NOT_FOUND', `${op}: instance ${instanceId} does not exist`, {
        providerCode: 'InvalidInstanceID.NotFound',
      });
    }
    return i;
  };

  const provider: SandboxCompute = {
    kind: 'sandbox',

    async resolveImage(spec: ImageSpec): Promise<ResolvedImage> {
      live();
      if (spec.amiId) {
        const known = images.find((i) => i.imageId === spec.amiId);
        if (known) return { imageId: known.imageId, name: known.name, creationDate: known.creationDate };
        if (acceptAny && spec.amiId.startsWith('ami-')) return { imageId: spec.amiId, name: 'sandbox-image' };
        throw new ComputeError('IMAGE_NOT_FOUND', `AMI ${spec.amiId} does not exist`, {
          providerCode: 'InvalidAMIID.NotFound',
        });
      }
      const pattern = spec.amiNamePattern;
      if (pattern) {
        const newest = images
          .filter((i) => matchesNamePattern(i.name, pattern))
          .sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0];
        if (newest) return { imageId: newest.imageId, name: newest.name, creationDate: newest.creationDate };
        if (acceptAny)
          return { imageId: images[0]?.imageId ?? 'ami-0sandbox', name: pattern.replaceAll('*', 'x') };
      }
      throw new ComputeError('IMAGE_NOT_FOUND', `no available AMI matches ${pattern ?? '(nothing)'}`);
    },

    async launchInstance(req: LaunchRequest): Promise<InstanceInfo> {
      live();
      const nested = req.nestedVirtualisation === true;
      const attempt: SandboxLaunchAttempt = {
        clientToken: req.clientToken,
        instanceType: req.instanceType,
        subnetId: req.subnetId,
        nestedVirtualisation: nested,
        outcome: 'launched',
      };
      attempts.push(attempt);
      const existing = byToken.get(req.clientToken);
      if (existing) {
        attempt.outcome = 'replayed';
        return info(byId.get(existing)!);
      }
      const type = sandboxInstanceType(req.instanceType);
      if (!type) {
        attempt.outcome = 'INVALID_REQUEST';
        throw new ComputeError(
          'INVALID_REQUEST',
          `RunInstances: instance type ${req.instanceType} does not exist`,
          {
            providerCode: 'InvalidParameterValue',
          },
        );
      }
      if (nested && !type.nested) {
        attempt.outcome = 'INVALID_REQUEST';
        throw new ComputeError(
          'INVALID_REQUEST',
          `RunInstances: nested virtualisation is not supported on ${req.instanceType}`,
          { providerCode: 'UnsupportedOperation' },
        );
      }
      const scoped = scopedFaults.find(
        (f) =>
          f.left > 0 &&
          (f.scope.subnetId === undefined || f.scope.subnetId === req.subnetId) &&
          (f.scope.instanceType === undefined || f.scope.instanceType === req.instanceType),
      );
      if (scoped) scoped.left -= 1;
      const fault = scoped ? 'INSUFFICIENT_CAPACITY' : launchFaults.shift();
      if (fault) {
        attempt.outcome = fault;
        throw new ComputeError(fault, `RunInstances: simulated ${fault}`, {
          providerCode: fault === 'INSUFFICIENT_CAPACITY' ? 'InsufficientInstanceCapacity' : fault,
        });
      }
      const instanceId = `i-${randomBytes(8).toString('hex').slice(0, 17)}`;
      const t = now();
      const i: SimInstance = {
        instanceId,
        clientToken: req.clientToken,
        imageId: req.imageId,
        instanceType: req.instanceType,
        tags: { ...req.tags },
        subnetId: req.subnetId,
        userData: req.userData,
        nestedVirtualisation: nested,
        launchTime: t,
        phase: 'booting',
        since: t,
        vanished: false,
        sim: undefined,
        simStarting: undefined,
      };
      byId.set(instanceId, i);
      byToken.set(req.clientToken, instanceId);
      bootSim(i);
      return info(i);
    },

    async describeInstance(instanceId: string): Promise<InstanceInfo | undefined> {
      live();
      const i = get(instanceId);
      if (!i) return undefined;
      // A running instance's CML endpoint is known once its simulator listens.
      if (stateOf(i) === 'running' && !i.sim && i.simStarting) await i.simStarting.catch(() => undefined);
      return info(i);
    },

    async startInstance(instanceId: string): Promise<void> {
      live();
      const i = require(instanceId, 'StartInstances');
      const state = stateOf(i);
      if (state === 'pending' || state === 'running') return;
      if (state !== 'stopped') {
        throw new ComputeError('INCORRECT_STATE', `StartInstances: instance ${instanceId} is ${state}`, {
          providerCode: 'IncorrectInstanceState',
        });
      }
      i.phase = 'booting';
      i.since = now();
      bootSim(i);
    },

    async stopInstance(instanceId: string): Promise<void> {
      live();
      const i = require(instanceId, 'StopInstances');
      const state = stateOf(i);
      if (state === 'stopping' || state === 'stopped') return;
      if (state !== 'running' && state !== 'pending') {
        throw new ComputeError('INCORRECT_STATE', `StopInstances: instance ${instanceId} is ${state}`, {
          providerCode: 'IncorrectInstanceState',
        });
      }
      i.phase = 'stopping';
      i.since = now();
      await stopSim(i);
    },

    async terminateInstance(instanceId: string): Promise<void> {
      live();
      const i = get(instanceId);
      if (!i) return;
      const state = stateOf(i);
      if (state === 'shutting-down' || state === 'terminated') return;
      i.phase = 'terminating';
      i.since = now();
      await stopSim(i);
    },

    async listWorkerInstances(o: { stage?: string | undefined } = {}): Promise<InstanceInfo[]> {
      live();
      return [...byId.values()]
        .filter((i) => !i.vanished && stateOf(i) !== 'terminated' && i.tags[TAG_WORKER_ID] !== undefined)
        .filter((i) => o.stage === undefined || i.tags[TAG_STAGE] === o.stage)
        .map(info);
    },

    async cpuUtilisation(instanceIds: readonly string[]): Promise<CpuReading[]> {
      live();
      const at = new Date(now()).toISOString();
      return instanceIds.map((id) => {
        const i = get(id);
        if (!i || stateOf(i) !== 'running') return { instanceId: id };
        const cpuPercent = opts.cpu ? opts.cpu(id) : 3 + 10 * (i.sim?.labs().length ?? 0);
        return cpuPercent === undefined ? { instanceId: id } : { instanceId: id, cpuPercent, at };
      });
    },

    async describeInstanceType(instanceType: string): Promise<InstanceTypeInfo | undefined> {
      live();
      const type = sandboxInstanceType(instanceType);
      return type ? instanceTypeInfoOf(type) : undefined;
    },

    instances(): SandboxInstance[] {
      return [...byId.values()].map((i) => ({
        instanceId: i.instanceId,
        state: stateOf(i),
        imageId: i.imageId,
        instanceType: i.instanceType,
        clientToken: i.clientToken,
        tags: { ...i.tags },
        subnetId: i.subnetId,
        userData: i.userData,
        cmlUrl: i.sim?.url,
        nestedVirtualisation: i.nestedVirtualisation,
      }));
    },

    cmlOf(instanceId: string): CmlSimulator | undefined {
      return byId.get(instanceId)?.sim;
    },

    failLaunches(code: ComputeErrorCode, times = 1): void {
      for (let n = 0; n < times; n++) launchFaults.push(code);
    },

    failLaunchesIn(scope: LaunchFaultScope, times = Number.POSITIVE_INFINITY): void {
      scopedFaults.push({ scope: { ...scope }, left: times });
    },

    clearLaunchFaults(): void {
      scopedFaults.length = 0;
      launchFaults.length = 0;
    },

    launchAttempts(): SandboxLaunchAttempt[] {
      return attempts.map((a) => ({ ...a }));
    },

    async vanish(instanceId: string): Promise<void> {
      const i = byId.get(instanceId);
      if (!i) return;
      i.vanished = true;
      await stopSim(i);
    },

    async stop(): Promise<void> {
      stopped = true;
      await Promise.allSettled([...byId.values()].map((i) => stopSim(i)));
    },
  };
  return provider;
}
