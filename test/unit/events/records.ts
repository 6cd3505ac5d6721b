import type { ChangeRecord, Item } from '@lcm/shared/events';

/** Stream records of the outbox's entities, images already unmarshalled (outbox tests). */

export const T = '2030-01-01T08:00:00.000Z';

export const session = (over: Item = {}): Item => ({
  PK: 'SESSION#s-1',
  SK: 'SESSION',
  GSI1PK: 'SESSION#STATUS#PENDING',
  entity: 'LabletSession',
  id: 's-1',
  definitionId: 'ccna-ospf',
  definitionVersion: 3,
  reservationId: 'r-1',
  owner: { userId: 'u-1', email: 'learner@example.com' },
  timeslot: { start: '2030-01-01T09:00:00.000Z', end: '2030-01-01T11:00:00.000Z' },
  status: 'PENDING',
  requirements: { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 4 },
  pendingWait: { kind: 'LOGIN', taskToken: 'secret-token', since: T },
  createdAt: T,
  updatedAt: T,
  version: 1,
  ...over,
});

export const worker = (over: Item = {}): Item => ({
  PK: 'WORKER#w-1',
  SK: 'WORKER',
  entity: 'Worker',
  id: 'w-1',
  templateName: 'm5-metal',
  status: 'PENDING',
  createdAt: T,
  updatedAt: T,
  version: 1,
  ...over,
});

export const insert = (item: Item): ChangeRecord => ({
  eventName: 'INSERT',
  keys: { PK: item.PK, SK: item.SK },
  newImage: item,
});
export const modify = (oldImage: Item, newImage: Item): ChangeRecord => ({
  eventName: 'MODIFY',
  keys: { PK: newImage.PK, SK: newImage.SK },
  oldImage,
  newImage,
});
