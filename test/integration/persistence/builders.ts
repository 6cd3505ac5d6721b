import type { NewDefinition } from '@lcm/shared/catalogue';
import type { NewWorker, NewWorkerTemplate } from '@lcm/shared/fleet';
import type { NewSession } from '@lcm/shared/sessions';

/** Small valid entities for the persistence tests; override what the test is about. */

export const T0 = '2030-01-01T08:00:00.000Z';

/** ISO instant `minutes` after T0. */
export const at = (minutes: number): string => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

/** A clock that advances 1 ms per reading, so timestamps are distinct and ordered. */
export function steppingClock(start = T0): () => Date {
  let t = Date.parse(start);
  return () => new Date(t++);
}

export const newTemplate = (over: Partial<NewWorkerTemplate> = {}): NewWorkerTemplate => ({
  name: 'm5-metal',
  instanceType: 'm5zn.metal',
  capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
  amiId: 'ami-0123456789abcdef0',
  costPerHourUsd: 3.96,
  licenseType: 'ENTERPRISE',
  ...over,
});

export const newWorker = (over: Partial<NewWorker> = {}): NewWorker => ({
  id: 'w-1',
  templateName: 'm5-metal',
  status: 'RUNNING',
  license: { type: 'ENTERPRISE', status: 'REGISTERED' },
  declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
  portRange: { start: 2000, end: 2099 },
  ...over,
});

export const newDefinition = (over: Partial<NewDefinition> = {}): NewDefinition => ({
  id: 'ccna-ospf',
  name: 'CCNA OSPF',
  status: 'ACTIVE',
  resourceRequirements: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 4 },
  licenseAffinity: ['ENTERPRISE'],
  portTemplate: [
    { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 },
    { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp', insidePort: 22 },
  ],
  maxDurationMinutes: 120,
  createdBy: 'operator@example.com',
  ...over,
});

export const newSession = (over: Partial<NewSession> = {}): NewSession => ({
  id: 's-1',
  definitionId: 'ccna-ospf',
  definitionVersion: 1,
  reservationId: 'r-1',
  owner: { userId: 'u-1', username: 'learner', email: 'learner@example.com' },
  timeslot: { start: at(60), end: at(180) },
  requirements: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 4 },
  licenseAffinity: ['ENTERPRISE'],
  portTemplate: [
    { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 },
    { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp', insidePort: 22 },
  ],
  ...over,
});

/** Collects every page of a paginated listing, checking that pages are never over-full. */
export async function allPages<T>(
  list: (cursor: string | undefined) => Promise<{ items: T[]; cursor?: string | undefined }>,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(cursor);
    if (page.items.length > limit) throw new Error(`page of ${page.items.length} > limit ${limit}`);
    items.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}
