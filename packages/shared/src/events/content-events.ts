import * as z from 'zod';
import { ENTITY, TABLE } from '../platform/index.ts';
import {
  CLOUDEVENTS_SPEC_VERSION,
  LCM_EVENT_SOURCE,
  type LcmCloudEvent,
  OUTBOUND_EVENT_TYPES,
} from './schemas.ts';

/**
 * CloudEvents of content sync (DESIGN §7, transactional outbox): derived from the table stream,
 * so an event exists exactly when its write landed.
 *
 * - `io.lablet.lcm.definition.version-created.v1`: a version item was inserted — a sync that
 *   found new content creates one; the outbox (events/outbox.ts) already maps every version
 *   INSERT, so nothing here.
 * - `io.lablet.lcm.definition.sync-failed.v1`: the LATEST definition item's sync status became
 *   FAILED (`definitionSyncEvents`). Its id is derived from the definition and the failure's time,
 *   so a redelivered stream record yields the same id.
 */

/** Until events/schemas.ts lists it in OUTBOUND_EVENT_TYPES, the type is spelt here. */
export const DEFINITION_SYNC_FAILED_EVENT_TYPE = 'io.lablet.lcm.definition.sync-failed.v1';
export const DEFINITION_VERSION_CREATED_EVENT_TYPE = OUTBOUND_EVENT_TYPES.definitionVersionCreated;

export interface DefinitionSyncFailedData {
  definitionId: string;
  /** The latest version when the sync failed (unchanged by the failure). */
  version: number;
  contentUri?: string;
  /** SHA-256 of the refused package, when it could be downloaded. */
  contentHash?: string;
  /** `<problem> <file>: <reason>`, as on the definition. */
  diagnostic?: string;
  at: string;
}

export type DefinitionSyncFailedEvent = Omit<LcmCloudEvent<DefinitionSyncFailedData>, 'type'> & {
  type: typeof DEFINITION_SYNC_FAILED_EVENT_TYPE;
};

/** A table change as the stream reports it, images unmarshalled (events/outbox.ts ChangeRecord). */
export interface TableChange {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  oldImage?: Record<string, unknown> | undefined;
  newImage?: Record<string, unknown> | undefined;
}

const SyncImage = z.looseObject({
  status: z.string(),
  at: z.string().optional(),
  contentHash: z.string().optional(),
  diagnostic: z.string().optional(),
});
const LatestImage = z.looseObject({
  id: z.string(),
  version: z.number(),
  contentUri: z.string().optional(),
  createdAt: z.string(),
  sync: SyncImage.optional(),
});

/** The sync-failed event of one table change, if it is a LATEST definition item whose sync just failed. */
export function definitionSyncEvents(change: TableChange): DefinitionSyncFailedEvent[] {
  if (change.eventName === 'REMOVE') return [];
  if (change.newImage?.[TABLE.entityAttribute] !== ENTITY.definitionLatest) return [];
  const image = LatestImage.safeParse(change.newImage);
  if (!image.success) return [];
  const sync = image.data.sync;
  if (sync?.status !== 'FAILED') return [];
  const before = change.oldImage ? LatestImage.safeParse(change.oldImage) : undefined;
  const old = before?.success ? before.data.sync : undefined;
  // The same failure copied onto a new LATEST (a later update) is not a new failure.
  if (old?.status === 'FAILED' && old.at === sync.at) return [];
  const definitionId = image.data.id;
  const at = sync.at ?? image.data.createdAt;
  const data: DefinitionSyncFailedData = {
    definitionId,
    version: image.data.version,
    ...(image.data.contentUri !== undefined ? { contentUri: image.data.contentUri } : {}),
    ...(sync.contentHash !== undefined ? { contentHash: sync.contentHash } : {}),
    ...(sync.diagnostic !== undefined ? { diagnostic: sync.diagnostic } : {}),
    at,
  };
  return [
    {
      specversion: CLOUDEVENTS_SPEC_VERSION,
      id: `definitions/${definitionId}/sync-${at}/sync-failed`,
      source: LCM_EVENT_SOURCE,
      type: DEFINITION_SYNC_FAILED_EVENT_TYPE,
      time: at,
      subject: `definitions/${definitionId}`,
      datacontenttype: 'application/json',
      data,
    },
  ];
}
