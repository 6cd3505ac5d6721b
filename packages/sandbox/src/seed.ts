import type { Stores } from '@lcm/shared/app';
import { type CreateDefinitionInput, createDefinition } from '@lcm/shared/catalogue';
import type { NewWorkerTemplate, WorkerPatch } from '@lcm/shared/fleet';
import type { Device, Worker, WorkerStatus, WorkerTemplate } from '@lcm/shared/kernel';
import {
  LIVE_WORKER_STATUSES,
  NotFoundError,
  newWorkerFromTemplate,
  SERVING_WORKER_STATUSES,
} from '@lcm/shared/kernel';
import {
  type ComputeProvider,
  type InstanceInfo,
  MANAGED_BY,
  TAG_MANAGED_BY,
  TAG_STAGE,
  TAG_TEMPLATE,
  TAG_WORKER_ID,
} from '@lcm/shared/platform';
import { PRICE_DATE, PRICE_REGION, sandboxInstanceType } from './compute/instance-types.ts';

/**
 * The demo data of the local stack (`npm start`): one worker template, two ACTIVE lab
 * definitions with real CML topologies carrying PATty tags (one graded, one not) and
 * `workers` RUNNING workers, each backed by a sandbox EC2 instance whose own CML simulator is
 * the worker's `cmlBaseUrl`. Idempotent: with a persistent state directory a restart creates
 * nothing twice. Templates and definitions that exist are left as they are (the developer may
 * have changed them); a seeded worker that exists and is RUNNING (or DRAINING) gets a fresh
 * instance, because sandbox instances live in the process and die with it; one left half-seeded
 * by an interrupted start is carried on to RUNNING; any other status is left to the fleet's own
 * reconciliation.
 *
 * The workers go PENDING → PROVISIONING → STARTING → RUNNING as the provisioning workflow would
 * take them (launched with the same tags, RUNNING once CML's system_information reports ready),
 * so their history reads like any other worker's.
 */

export const DEMO_TEMPLATE_NAME = 'sandbox-cml';
export const DEMO_GRADED_DEFINITION_ID = 'demo-ospf-graded';
export const DEMO_PRACTICE_DEFINITION_ID = 'demo-console-practice';
/** The hot-start pool demo (issue 15, item 3): two converged labs kept for walk-in bookings. */
export const DEMO_POOLED_DEFINITION_ID = 'demo-pooled';
export const DEMO_POOL_DEPTH = 2;
/** Who the seeded records are attributed to (createdBy, state history). */
export const SEED_ACTOR = 'sandbox-seed';

/** `sandbox-worker-1`, `sandbox-worker-2`, ... */
export const seededWorkerId = (n: number): string => `sandbox-worker-${n}`;

/**
 * A real CML-capable shape (m5zn.metal: bare metal, 48 vCPUs, 192 GiB) at its on-demand list price
 * in PRICE_REGION as of PRICE_DATE (compute/instance-types.ts: recalled figures, to be checked
 * against the AWS price list).
 */
const DEMO_TYPE = sandboxInstanceType('m5zn.metal')!;

export const DEMO_TEMPLATE: NewWorkerTemplate = {
  name: DEMO_TEMPLATE_NAME,
  description: `Sandbox CML host: a simulated EC2 instance whose CML is a local simulator (m5zn.metal, bare metal; $${DEMO_TYPE.usdPerHour}/h on demand, ${PRICE_REGION}, list price as of ${PRICE_DATE})`,
  instanceType: DEMO_TYPE.instanceType,
  virtualisation: 'metal',
  capacity: { cpuCores: DEMO_TYPE.vCpus, memoryGb: DEMO_TYPE.memoryGib, storageGb: 500, maxNodes: 40 },
  amiNamePattern: 'cml-*-sandbox',
  // To the cent ($3.96 of $3.9641).
  costPerHourUsd: Math.round(DEMO_TYPE.usdPerHour * 100) / 100,
  licenseType: 'ENTERPRISE',
  podType: 'CML_ON_AWS',
  bootMinutes: 1,
  portRange: { start: 5000, end: 5999 },
  enabled: true,
};

/** Two IOSv routers on one link, consoles and SSH reached through PATty port forwards. */
const OSPF_TOPOLOGY = `lab:
  title: OSPF basics
  description: Two IOSv routers on one link; bring up OSPF area 0 between them.
  version: 0.3.0
nodes:
  - id: n0
    label: R1
    node_definition: iosv
    x: 0
    y: 0
    tags: [serial:5001, "pat:5022:22"]
    configuration: |-
      hostname R1
      interface GigabitEthernet0/0
       ip address 10.0.12.1 255.255.255.0
    interfaces:
      - {id: i0, label: Loopback0, type: loopback}
      - {id: i1, label: GigabitEthernet0/0, type: physical, slot: 0}
  - id: n1
    label: R2
    node_definition: iosv
    x: 200
    y: 0
    tags: [serial:5002]
    configuration: |-
      hostname R2
      interface GigabitEthernet0/0
       ip address 10.0.12.2 255.255.255.0
    interfaces:
      - {id: i0, label: Loopback0, type: loopback}
      - {id: i1, label: GigabitEthernet0/0, type: physical, slot: 0}
links:
  - {id: l0, n1: n0, i1: i1, n2: n1, i2: i1}
annotations: []
`;

/** A router and a desktop: a serial console and a VNC screen. */
const CONSOLE_TOPOLOGY = `lab:
  title: Console practice
  description: One IOSv router behind a serial console, and a desktop reached over VNC.
  version: 0.3.0
nodes:
  - id: n0
    label: R1
    node_definition: iosv
    x: 0
    y: 0
    tags: [serial:5101]
    interfaces:
      - {id: i0, label: GigabitEthernet0/0, type: physical, slot: 0}
  - id: n1
    label: PC
    node_definition: desktop
    x: 200
    y: 0
    tags: [vnc:5102]
    interfaces:
      - {id: i0, label: eth0, type: physical, slot: 0}
links:
  - {id: l0, n1: n0, i1: i0, n2: n1, i2: i0}
annotations: []
`;

const OSPF_DEVICES: Device[] = [
  { name: 'R1 console', nodeLabel: 'R1', portName: 'R1_serial', protocol: 'telnet' },
  {
    name: 'R1 (ssh)',
    nodeLabel: 'R1',
    portName: 'R1_ssh',
    protocol: 'ssh',
    username: 'cisco',
    password: 'cisco',
  },
  { name: 'R2 console', nodeLabel: 'R2', portName: 'R2_serial', protocol: 'telnet' },
];

const CONSOLE_DEVICES: Device[] = [
  { name: 'R1 console', nodeLabel: 'R1', portName: 'R1_serial', protocol: 'telnet' },
  { name: 'Desktop', nodeLabel: 'PC', portName: 'PC_vnc', protocol: 'vnc' },
];

/**
 * The seeded definitions as the API's create body: the port template and the resource
 * requirements are derived from the topology by the same command POST /v1/definitions runs.
 */
export const DEMO_DEFINITIONS: readonly CreateDefinitionInput[] = [
  {
    id: DEMO_GRADED_DEFINITION_ID,
    name: 'OSPF basics (graded demo)',
    description: 'Two routers, OSPF area 0; graded on the collected device configurations.',
    formQualifiedName: 'demo.ospf.basics.v1',
    topologyYaml: OSPF_TOPOLOGY,
    licenseAffinity: ['ENTERPRISE'],
    podType: 'CML_ON_AWS',
    devices: OSPF_DEVICES,
    gradingRulesRef: 'rules/demo-ospf-basics@1',
    maxDurationMinutes: 30,
    warmPoolDepth: 0,
  },
  {
    id: DEMO_PRACTICE_DEFINITION_ID,
    name: 'Console practice (ungraded demo)',
    description: 'A router console and a desktop screen; nothing is graded.',
    formQualifiedName: 'demo.console.practice.v1',
    topologyYaml: CONSOLE_TOPOLOGY,
    licenseAffinity: [],
    podType: 'CML_ON_AWS',
    devices: CONSOLE_DEVICES,
    maxDurationMinutes: 15,
    warmPoolDepth: 0,
  },
  {
    id: DEMO_POOLED_DEFINITION_ID,
    name: 'Console practice (hot-start pool demo)',
    description:
      'The console practice lab with a hot-start pool: a booking for now claims a converged lab and is READY in seconds.',
    formQualifiedName: 'demo.console.pooled.v1',
    topologyYaml: CONSOLE_TOPOLOGY,
    licenseAffinity: [],
    podType: 'CML_ON_AWS',
    devices: CONSOLE_DEVICES,
    maxDurationMinutes: 15,
    warmPoolDepth: DEMO_POOL_DEPTH,
  },
];

export interface SeedDeps {
  stores: Pick<Stores, 'templates' | 'definitions' | 'workers'>;
  /** The sandbox's EC2 (each instance runs its own CML simulator). */
  compute: Pick<
    ComputeProvider,
    'resolveImage' | 'launchInstance' | 'describeInstance' | 'terminateInstance'
  >;
  /** How many RUNNING workers (LCM_SANDBOX_WORKERS). */
  workers: number;
  /** The stage tagged on the instances (`lcm:stage`), as the fleet's reconciliation scopes them. */
  stage: string;
  /** How long a seeded instance may take until its CML is ready (default 60 s). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export type SeedOutcome = 'created' | 'existing';
export type WorkerSeedOutcome = 'created' | 'resumed' | 'reattached' | 'left';

export interface SeededWorker {
  id: string;
  outcome: WorkerSeedOutcome;
  status: WorkerStatus;
  ec2InstanceId?: string | undefined;
  cmlBaseUrl?: string | undefined;
}

export interface SeedReport {
  templates: Array<{ name: string; outcome: SeedOutcome }>;
  definitions: Array<{ id: string; version: number; outcome: SeedOutcome }>;
  workers: SeededWorker[];
}

/** Template and definitions: quick, and what a session needs besides a worker. */
export async function seedCatalogue(
  deps: Pick<SeedDeps, 'stores'>,
): Promise<Pick<SeedReport, 'templates' | 'definitions'>> {
  const templates: SeedReport['templates'] = [];
  try {
    await deps.stores.templates.get(DEMO_TEMPLATE.name);
    templates.push({ name: DEMO_TEMPLATE.name, outcome: 'existing' });
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    await deps.stores.templates.create(DEMO_TEMPLATE);
    templates.push({ name: DEMO_TEMPLATE.name, outcome: 'created' });
  }

  const definitions: SeedReport['definitions'] = [];
  for (const input of DEMO_DEFINITIONS) {
    const id = input.id!;
    try {
      const existing = await deps.stores.definitions.getLatest(id);
      definitions.push({ id, version: existing.version, outcome: 'existing' });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      const { definition } = await createDefinition({ definitions: deps.stores.definitions }, input, {
        by: SEED_ACTOR,
      });
      definitions.push({ id, version: definition.version, outcome: 'created' });
    }
  }
  return { templates, definitions };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the provisioning workflow tags an instance with (fleet/steps/provisioning.ts). */
function instanceTags(stage: string, worker: Pick<Worker, 'id' | 'templateName'>): Record<string, string> {
  return {
    Name: `lcm-${stage}-${worker.id}`,
    [TAG_WORKER_ID]: worker.id,
    [TAG_STAGE]: stage,
    [TAG_TEMPLATE]: worker.templateName,
    [TAG_MANAGED_BY]: MANAGED_BY,
  };
}

interface ReadyInstance {
  instance: InstanceInfo;
  cmlBaseUrl: string;
  cmlVersion: string | undefined;
}

/** Polls until the instance runs with an IP and a CML endpoint, then until CML says ready. */
async function waitUntilReady(
  compute: SeedDeps['compute'],
  instanceId: string,
  timeoutMs: number,
  onRunning: (instance: InstanceInfo & { cmlBaseUrl: string }) => Promise<void>,
): Promise<ReadyInstance> {
  const deadline = Date.now() + timeoutMs;
  let running: (InstanceInfo & { cmlBaseUrl: string }) | undefined;
  let last = 'not polled yet';
  while (Date.now() < deadline) {
    if (!running) {
      const info = await compute.describeInstance(instanceId);
      last = `instance ${info?.state ?? 'missing'}`;
      if (info?.state === 'running' && info.privateIp && info.cmlBaseUrl) {
        running = { ...info, cmlBaseUrl: info.cmlBaseUrl };
        await onRunning(running);
      }
    }
    if (running) {
      try {
        const res = await fetch(`${running.cmlBaseUrl}/system_information`, {
          signal: AbortSignal.timeout(2000),
        });
        last = `system_information HTTP ${res.status}`;
        if (res.ok) {
          const body = (await res.json()) as { ready?: unknown; version?: unknown };
          if (body.ready === true) {
            return {
              instance: running,
              cmlBaseUrl: running.cmlBaseUrl,
              cmlVersion: typeof body.version === 'string' ? body.version : undefined,
            };
          }
          last = 'system_information: not ready';
        } else {
          await res.arrayBuffer().catch(() => undefined);
        }
      } catch (e) {
        last = `system_information: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    await sleep(200);
  }
  throw new Error(`instance ${instanceId} was not ready with CML within ${timeoutMs} ms (${last})`);
}

/** The status path the seed walks (booting to RUNNING); anything else is not the seed's to touch. */
const PATH: readonly WorkerStatus[] = SERVING_WORKER_STATUSES;

async function seedWorker(deps: SeedDeps, template: WorkerTemplate, id: string): Promise<SeededWorker> {
  const { workers } = deps.stores;
  let worker: Worker;
  let outcome: WorkerSeedOutcome;
  try {
    worker = await workers.get(id);
    outcome = LIVE_WORKER_STATUSES.includes(worker.status) ? 'reattached' : 'resumed';
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    const {
      createdAt: _c,
      updatedAt: _u,
      version: _v,
      stateHistory: _h,
      ...fresh
    } = newWorkerFromTemplate(template, id, new Date().toISOString());
    worker = await workers.create({ ...fresh, desiredStatus: 'RUNNING' });
    outcome = 'created';
  }
  if (outcome !== 'reattached' && !PATH.includes(worker.status)) {
    deps.log?.(`seed: worker ${id} is ${worker.status}; left to the fleet's reconciliation`);
    return { id, outcome: 'left', status: worker.status };
  }

  const image = await deps.compute.resolveImage({
    ...(template.amiId ? { amiId: template.amiId } : {}),
    ...(template.amiNamePattern ? { amiNamePattern: template.amiNamePattern } : {}),
  });
  const launched = await deps.compute.launchInstance({
    clientToken: id,
    imageId: image.imageId,
    instanceType: template.instanceType,
    tags: instanceTags(deps.stage, worker),
  });
  const instancePatch: WorkerPatch = {
    ec2InstanceId: launched.instanceId,
    amiId: image.imageId,
    ...(image.name ? { amiName: image.name } : {}),
    launchedAt: launched.launchTime ?? new Date().toISOString(),
  };
  const step = async (to: WorkerStatus, reason: string, patch: WorkerPatch) => {
    worker = await workers.transition(worker.id, worker.status, to, SEED_ACTOR, reason, {
      patch,
      expectedVersion: worker.version,
    });
  };

  try {
    if (outcome === 'reattached') {
      const ready = await waitUntilReady(
        deps.compute,
        launched.instanceId,
        deps.readyTimeoutMs ?? 60_000,
        async () => {},
      );
      worker = await workers.update(
        id,
        {
          ...instancePatch,
          ipAddress: ready.instance.privateIp ?? null,
          cmlBaseUrl: ready.cmlBaseUrl,
          serviceStatus: 'AVAILABLE',
          idleSince: null,
        },
        worker.version,
      );
      deps.log?.(`seed: worker ${id} (${worker.status}) re-attached to instance ${launched.instanceId}`);
    } else {
      if (worker.status === 'PENDING') {
        await step('PROVISIONING', 'sandbox instance launched', instancePatch);
      }
      const ready = await waitUntilReady(
        deps.compute,
        launched.instanceId,
        deps.readyTimeoutMs ?? 60_000,
        async (running) => {
          const patch = {
            ...instancePatch,
            ipAddress: running.privateIp ?? null,
            cmlBaseUrl: running.cmlBaseUrl,
          };
          if (worker.status === 'PROVISIONING') await step('STARTING', 'instance running', patch);
          else if (worker.status === 'STARTING') worker = await workers.update(id, patch, worker.version);
        },
      );
      await step('RUNNING', 'CML ready', {
        ...instancePatch,
        ipAddress: ready.instance.privateIp ?? null,
        cmlBaseUrl: ready.cmlBaseUrl,
        serviceStatus: 'AVAILABLE',
        license: { type: template.licenseType, status: 'REGISTERED' },
      });
    }
  } catch (e) {
    // No orphaned instance: what was launched for this worker goes with the failure.
    await deps.compute.terminateInstance(launched.instanceId).catch(() => undefined);
    throw e;
  }
  return {
    id,
    outcome,
    status: worker.status,
    ec2InstanceId: worker.ec2InstanceId,
    cmlBaseUrl: worker.cmlBaseUrl,
  };
}

/** The seeded workers, in parallel (each waits for its instance's CML to boot). */
export async function seedWorkers(deps: SeedDeps): Promise<SeededWorker[]> {
  if (!Number.isInteger(deps.workers) || deps.workers < 0) {
    throw new Error(`the number of sandbox workers must be a whole number >= 0, got ${deps.workers}`);
  }
  if (deps.workers === 0) return [];
  const template = await deps.stores.templates.get(DEMO_TEMPLATE_NAME);
  const ids = Array.from({ length: deps.workers }, (_, i) => seededWorkerId(i + 1));
  const settled = await Promise.allSettled(ids.map((id) => seedWorker(deps, template, id)));
  const failed = settled.flatMap((s, i) =>
    s.status === 'rejected' ? [`${ids[i]}: ${errorText(s.reason)}`] : [],
  );
  if (failed.length > 0) throw new Error(`seeding workers failed: ${failed.join('; ')}`);
  return settled.map((s) => (s as PromiseFulfilledResult<SeededWorker>).value);
}

export async function seedDemoData(deps: SeedDeps): Promise<SeedReport> {
  const catalogue = await seedCatalogue(deps);
  return { ...catalogue, workers: await seedWorkers(deps) };
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
