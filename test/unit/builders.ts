import type { PlacementCandidate } from '@lcm/shared/fleet';
import type { LabletDefinition, ResourceObservation, WorkerTemplate } from '@lcm/shared/kernel';

/** Small valid entities for unit tests; override what the test is about. */

export const NOW = '2025-06-01T12:00:00.000Z';

export const candidate = (over: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  id: 'w-1',
  status: 'RUNNING',
  license: { type: 'ENTERPRISE', status: 'REGISTERED' },
  podType: 'CML_ON_AWS',
  amiId: 'ami-0123456789abcdef0',
  amiName: 'cml-2.9.1-lcm-2025-05',
  declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
  allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
  portRange: { start: 2000, end: 2009 },
  leasedPortCount: 0,
  ...over,
});

export const template = (over: Partial<WorkerTemplate> = {}): WorkerTemplate => ({
  name: 'm5-metal',
  instanceType: 'm5zn.metal',
  virtualisation: 'metal',
  capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
  amiId: 'ami-0123456789abcdef0',
  costPerHourUsd: 3.96,
  licenseType: 'ENTERPRISE',
  podType: 'CML_ON_AWS',
  bootMinutes: 15,
  portRange: { start: 2000, end: 7999 },
  enabled: true,
  createdAt: NOW,
  updatedAt: NOW,
  version: 1,
  ...over,
});

export const definition = (over: Partial<LabletDefinition> = {}): LabletDefinition => ({
  id: 'ccna-ospf',
  version: 3,
  name: 'CCNA OSPF',
  status: 'ACTIVE',
  resourceRequirements: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 4 },
  licenseAffinity: ['ENTERPRISE'],
  podType: 'CML_ON_AWS',
  amiRequirement: 'cml-2.9.*',
  portTemplate: [
    { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0, templatePort: 4001 },
    { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp', insidePort: 22, templatePort: 5041 },
  ],
  devices: [{ name: 'R1', nodeLabel: 'R1', portName: 'R1_serial', protocol: 'telnet' }],
  maxDurationMinutes: 120,
  warmPoolDepth: 0,
  maxExtensionMinutes: 0,
  createdAt: NOW,
  createdBy: 'operator@example.com',
  ...over,
});

export const observation = (over: Partial<ResourceObservation> = {}): ResourceObservation => ({
  sessionId: 's-1',
  definitionId: 'ccna-ospf',
  definitionVersion: 3,
  observedAt: NOW,
  observer: 'lcm',
  nodes: [],
  totals: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 4 },
  observedPorts: {},
  ...over,
});

/**
 * The cost worked example's fleet totals (docs/cost.md; 08:00–14:00 over hosts a-big and b-small):
 * $22.15 = attributed 14 + unallocated 6 + idle 2 + stopped 0.15. test/unit/cost.test.ts derives them
 * from the rule, test/integration/api/cost.test.ts from the stored histories through the API.
 */
export const COST_WORKED_EXAMPLE_TOTALS = {
  totalUsd: 22.15,
  attributedUsd: 14,
  idleUsd: 2,
  unallocatedUsd: 6,
  overlapUsd: 0,
  stoppedUsd: 0.15,
  runningHours: 7,
  idleHours: 1,
  stoppedHours: 3,
  utilisation: 0.642857,
  idleShare: 0.090293,
  sessions: 3,
  meanCostPerSessionUsd: 4.666667,
} as const;
