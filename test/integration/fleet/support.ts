import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Stores } from '@lcm/shared/app';
import type { FleetDeps } from '@lcm/shared/fleet';
import { DEFAULT_SCALING_CONFIG, fleetConfig } from '@lcm/shared/fleet';
import type { LabletSession, Worker } from '@lcm/shared/kernel';
import {
  type CmlApi,
  createCmlClient,
  Ec2Compute,
  RecordingFleetWorkflows,
  RecordingWorkflowEngine,
  staticCredentials,
} from '@lcm/shared/platform';
import { sessionFailerFor } from '@lcm/shared/sessions';

/** Fleet dependencies over the stores of a test table: real Ec2Compute on mocked SDK clients, CML over HTTP. */
export function lifecycleDeps(
  stores: Stores,
  over: Partial<FleetDeps> = {},
): FleetDeps & { workflows: RecordingFleetWorkflows; engine: RecordingWorkflowEngine } {
  // The session workflow engine through which a lost worker's sessions are failed.
  const engine = new RecordingWorkflowEngine();
  const clients = new Map<string, CmlApi>();
  const cml = (w: { id: string; cmlBaseUrl: string }) => {
    let c = clients.get(w.cmlBaseUrl);
    if (!c) {
      c = createCmlClient({
        baseUrl: w.cmlBaseUrl,
        credentials: staticCredentials({ username: 'admin', password: 'admin-password' }),
        timeoutMs: 2000,
        retry: { attempts: 1 },
      });
      clients.set(w.cmlBaseUrl, c);
    }
    return c;
  };
  return {
    workers: stores.workers,
    templates: stores.templates,
    sessions: stores.sessions,
    definitions: stores.definitions,
    leases: stores.leases,
    leftoverLabs: stores.leftoverLabs,
    compute: new Ec2Compute({
      ec2: new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      cloudwatch: new CloudWatchClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
    }),
    cml,
    licenseToken: async () => undefined,
    workflows: new RecordingFleetWorkflows(),
    engine,
    failSessionsOn: sessionFailerFor({ sessions: stores.sessions, definitions: stores.definitions, engine }),
    scaling: stores.scaling,
    scalingConfig: { ...DEFAULT_SCALING_CONFIG },
    config: fleetConfig({ stage: 'itest', maxConsecutiveFailures: 3, missingInstanceGraceSeconds: 300 }),
    ...over,
  } as FleetDeps & { workflows: RecordingFleetWorkflows; engine: RecordingWorkflowEngine };
}

let n = 0;

export async function runningWorker(stores: Stores, over: Partial<Worker> = {}): Promise<Worker> {
  return stores.workers.create({
    id: `w-it-${++n}`,
    templateName: 'cml',
    status: 'RUNNING',
    serviceStatus: 'AVAILABLE',
    license: { type: 'ENTERPRISE', status: 'REGISTERED' },
    declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
    portRange: { start: 2000, end: 2099 },
    ...over,
  });
}

/** A session placed on the worker (SCHEDULED; capacity and one port leased). */
export async function placedSession(stores: Stores, worker: Worker, port = 2000): Promise<LabletSession> {
  const id = `s-it-${++n}`;
  const now = Date.now();
  const session = await stores.sessions.create({
    id,
    definitionId: 'ospf',
    definitionVersion: 1,
    reservationId: `r-${id}`,
    owner: { userId: 'u-1' },
    timeslot: { start: new Date(now).toISOString(), end: new Date(now + 3_600_000).toISOString() },
    requirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
    licenseAffinity: [],
    portTemplate: [{ name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 }],
  });
  const current = await stores.workers.get(worker.id);
  return stores.placement.place({ session, worker: current, ports: { R1_serial: port }, by: 'test' });
}
