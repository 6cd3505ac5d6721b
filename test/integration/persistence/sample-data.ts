import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Stores } from '@lcm/shared/app';
import { ENTITY, type EntityName } from '@lcm/shared/platform';
import type { TestTable } from '../../support/table.ts';

/**
 * One small, deterministic data set written through the stores (fixed clock), so that
 * docs/data-model.md can show real items and a test can prove they still match the code.
 */
export const SAMPLE_START = '2030-03-02T07:00:00.000Z';

/** A clock that advances one second per reading. */
export function sampleClock(): () => Date {
  let t = Date.parse(SAMPLE_START);
  return () => {
    const d = new Date(t);
    t += 1000;
    return d;
  };
}

export async function writeSampleData(s: Stores): Promise<void> {
  await s.templates.create({
    name: 'm5zn-metal',
    instanceType: 'm5zn.metal',
    capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    amiNamePattern: 'cml-2.9.*',
    costPerHourUsd: 3.96,
    licenseType: 'ENTERPRISE',
    portRange: { start: 2000, end: 7999 },
  });
  await s.workers.create({
    id: 'w-7f3a',
    templateName: 'm5zn-metal',
    status: 'STARTING',
    license: { type: 'ENTERPRISE', status: 'REGISTERED' },
    ec2InstanceId: 'i-0a1b2c3d4e5f60718',
    ipAddress: '10.0.12.34',
    amiName: 'cml-2.9.1-lcm',
    declaredCapacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    portRange: { start: 2000, end: 7999 },
  });
  await s.workers.transition('w-7f3a', 'STARTING', 'RUNNING', 'worker-provisioning', 'CML ready', {
    patch: { serviceStatus: 'AVAILABLE' },
  });
  const v1 = await s.definitions.create({
    id: 'ccna-ospf',
    name: 'CCNA OSPF',
    status: 'ACTIVE',
    formQualifiedName: 'Exam CCNA v1.1 LAB 2.3',
    resourceRequirements: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 3 },
    licenseAffinity: ['ENTERPRISE'],
    amiRequirement: 'cml-2.9.*',
    portTemplate: [
      { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 },
      { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp', insidePort: 22 },
    ],
    devices: [{ name: 'R1', nodeLabel: 'R1', portName: 'R1_serial', protocol: 'telnet' }],
    maxDurationMinutes: 120,
    createdBy: 'operator@example.com',
  });
  const { id: _id, version: _v, createdAt: _c, ...content } = v1;
  await s.definitions.putNewVersion(v1, {
    ...content,
    resourceRequirements: { ...v1.resourceRequirements, memoryGb: 6 },
  });
  await s.sessions.create({
    id: 's-9c1e',
    definitionId: 'ccna-ospf',
    definitionVersion: 2,
    reservationId: 'res-4711',
    owner: { userId: 'u-42', username: 'learner', email: 'learner@example.com' },
    bookedBy: 'portal-client-1',
    timeslot: { start: '2030-03-02T09:00:00.000Z', end: '2030-03-02T11:00:00.000Z' },
    requirements: { cpuCores: 4, memoryGb: 6, storageGb: 20, nodeCount: 3 },
    licenseAffinity: ['ENTERPRISE'],
    amiRequirement: 'cml-2.9.*',
    portTemplate: v1.portTemplate,
  });
  await s.placement.place({
    session: await s.sessions.getSession('s-9c1e'),
    worker: await s.workers.get('w-7f3a'),
    ports: { R1_serial: 2000, R1_ssh: 2001 },
    by: 'session-lifecycle',
  });
  await s.sessions.putUserSession('s-9c1e', {
    ldsSessionId: 'lds-5521',
    loginUrl: 'https://lds.example.com/session/lds-5521',
    status: 'ACTIVE',
    createdAt: '2030-03-02T08:55:00.000Z',
    updatedAt: '2030-03-02T09:01:00.000Z',
  });
  await s.sessions.putGrading('s-9c1e', {
    gradingSessionId: 'g-880',
    status: 'COMPLETED',
    submittedAt: '2030-03-02T10:40:00.000Z',
    completedAt: '2030-03-02T10:42:00.000Z',
  });
  await s.sessions.putScore('s-9c1e', {
    score: 85,
    maxScore: 100,
    passed: true,
    sections: [
      { name: 'OSPF adjacency', score: 40, maxScore: 50, checks: [{ name: 'R1-R2 FULL', passed: true }] },
    ],
    reportedAt: '2030-03-02T10:42:00.000Z',
  });
  await s.sessions.addObservation({
    sessionId: 's-9c1e',
    definitionId: 'ccna-ospf',
    definitionVersion: 2,
    workerId: 'w-7f3a',
    cmlLabId: 'lab-3f2e',
    observedAt: '2030-03-02T10:35:00.000Z',
    observer: 'session-lifecycle',
    nodes: [
      { label: 'R1', nodeDefinition: 'iosv', state: 'BOOTED', cpus: 1, ramMb: 512, tags: ['serial:2000'] },
    ],
    totals: { cpuCores: 3, memoryGb: 1.5, storageGb: 12, nodeCount: 3 },
    observedPorts: { R1_serial: 2000, R1_ssh: 2001 },
  });
  await s.processedEvents.markProcessed('lds.example.com', 'evt-31337', 7 * 24 * 3600);
  await s.scaling.putDecision(
    {
      id: 'd-0001',
      at: '2030-03-02T07:59:00.000Z',
      kind: 'SCALE_UP',
      templateName: 'm5zn-metal',
      reason: '3 sessions start within 20 min, free capacity for 1',
      inputs: { demandCpu: 12, freeCpu: 4 },
    },
    { ttlSeconds: 90 * 24 * 3600 },
  );
  await s.scaling.putState('fleet', {
    lastScaleUpAt: '2030-03-02T07:59:00.000Z',
    cooldownUntil: '2030-03-02T08:09:00.000Z',
  });
  await s.leftoverLabs.record({
    workerId: 'w-7f3a',
    cmlLabId: 'lab-0b7e',
    sessionId: 's-41d2',
    by: 'operator@example.com',
  });
  const connection = {
    connectionId: 'Xk1fYdP3IAMCJsw=',
    sub: 'portal-client',
    roles: ['lcm.portal' as const],
    tenant: 'portal-client',
    connectedAt: '2030-03-02T07:00:10.000Z',
  };
  await s.live.putConnection(connection);
  await s.live.subscribe(connection, 'session:s-9c1e');
  // What the outbox consumer's on-failure queue described, moved into the table (issue 11, item 5).
  await s.streamFailures.add({
    id: '01J8Z6Q4M0NQ3R5T7V9X1Z3B5D',
    consumer: 'outbox',
    shardId: 'shardId-00000001893456000000-4c7d21aa',
    startSequenceNumber: '4312000000000012345678901',
    endSequenceNumber: '4312000000000012345678901',
    attempts: 11,
    error: 'RetryAttemptsExhausted (function error: Unhandled)',
    failedAt: '2030-03-02T08:14:03.000Z',
    status: 'PENDING',
    recordCount: 1,
    replays: [],
    streamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/lcm-prod/stream/2030-01-01T00:00:00.000',
    messageId: '8c3f0d2e-5b7a-4e61-9a0c-1f2e3d4c5b6a',
  });
  // A hot-start pool's lab of ccna-ospf v2 (issue 15, item 3), placed beside the session and booting.
  const v2 = await s.definitions.getVersion('ccna-ospf', 2);
  const pooled = await s.pools.place(
    {
      id: 'pool-01jd2m4q',
      definitionId: 'ccna-ospf',
      definitionVersion: 2,
      status: 'PLACED',
      requirements: v2.resourceRequirements,
      licenseAffinity: v2.licenseAffinity,
      podType: v2.podType,
      amiRequirement: v2.amiRequirement,
      portTemplate: v2.portTemplate,
      workerId: 'w-7f3a',
      allocatedPorts: { R1_serial: 2002, R1_ssh: 2003 },
      placedAt: '2030-03-02T07:00:10.000Z',
      createdAt: '2030-03-02T07:00:10.000Z',
      updatedAt: '2030-03-02T07:00:10.000Z',
      version: 0,
    },
    await s.workers.get('w-7f3a'),
  );
  await s.pools.advance(pooled, 'BOOTING', {
    cmlLabId: 'lab-77c1',
    bootDeadline: '2030-03-02T07:16:00.000Z',
  });
}

/** One stored item per entity, as DynamoDB returns it, keyed by entity name. */
export async function sampleItems(t: TestTable): Promise<Record<EntityName, Record<string, unknown>>> {
  const out = await t.client.send(new ScanCommand({ TableName: t.tableName }));
  const pick: Partial<Record<EntityName, Record<string, unknown>>> = {};
  for (const item of out.Items ?? []) {
    const entity = item.entity as EntityName;
    // The definition version shown is v2 (the one LATEST copies); the first port lease.
    if (entity === ENTITY.definitionVersion && item.SK !== 'V#00000002') continue;
    if (entity === ENTITY.portLease && item.SK !== 'PORT#02000') continue;
    pick[entity] = sortKeys(item);
  }
  return pick as Record<EntityName, Record<string, unknown>>;
}

/** Keys first (PK, SK, GSIs, entity), then the rest alphabetically: a stable shape for docs. */
function sortKeys(item: Record<string, unknown>): Record<string, unknown> {
  const first = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'entity'];
  const names = [
    ...first.filter((k) => k in item),
    ...Object.keys(item)
      .filter((k) => !first.includes(k))
      .sort(),
  ];
  return Object.fromEntries(names.map((k) => [k, sortDeep(item[k])]));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]),
  );
}
