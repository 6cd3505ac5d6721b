import type { LabletDefinition } from '../../kernel/index.ts';
import {
  ConflictError,
  type DefinitionChanges,
  nextDefinitionVersion,
  VersionConflictError,
} from '../../kernel/index.ts';
import { nowIso, retryOnConflict } from '../../platform/index.ts';
import type { DefinitionStore, DefinitionSync } from '../definition-store.ts';
import { ContentPackageError, isContentPackageError, PACKAGE_FILE } from './errors.ts';
import {
  type ContentLimits,
  DEFAULT_CONTENT_LIMITS,
  type ExtractedContent,
  extractContentPackage,
  sha256Of,
} from './package.ts';
import type { ContentStore } from './store.ts';

/**
 * Content sync (DESIGN §8 "content sync"): a definition with a `contentUri` takes its lab content
 * from a package. The request and the work are split so the API answers at once:
 *
 * 1. `requestContentSync` (POST /v1/definitions/{id}/sync, or creating a definition with a
 *    contentUri) sets the definition's sync status to PENDING. Nothing else changes.
 * 2. The table stream sees a LATEST definition item with sync PENDING and runs `runContentSync`
 *    (functions/streams/triggers.ts → functions/tasks/content-sync.ts). It claims the request
 *    (PENDING → SYNCING, conditioned on the request it saw, so a redelivered record is a no-op),
 *    downloads the package, hashes it (SHA-256), and:
 *    - same hash as the current version → SUCCEEDED, recorded as a no-op, no new version;
 *    - a valid package with a new hash → a new version (topology, port template, estimated
 *      resources, pod type, devices, grading-rules reference, LDS content id) whose sync is
 *      SUCCEEDED;
 *    - anything wrong with the package → FAILED with a diagnostic naming the file and the
 *      problem, and nothing else changes.
 *
 * Events: the new version item and the FAILED sync status are what the outbox turns into
 * CloudEvents (events/content-events.ts).
 */

export interface ContentSyncDeps {
  definitions: Pick<DefinitionStore, 'getLatest' | 'setSync' | 'putNewVersion' | 'topologies'>;
  content: ContentStore;
  clock?: () => Date;
  limits?: Partial<ContentLimits>;
  /** A SYNCING claim older than this may be taken over by a new request (default 15 minutes). */
  staleSyncMs?: number;
}

/** `createdBy` of the versions a sync creates. */
export const CONTENT_SYNC_AUTHOR = 'content-sync';
export const DEFAULT_STALE_SYNC_MS = 15 * 60_000;

// ---------------------------------------------------------------------------------------------
// Request

export interface SyncRequestResult {
  /** `already-requested`: a sync is PENDING or running (not stale); nothing was changed. */
  outcome: 'requested' | 'already-requested';
  definition: LabletDefinition;
}

/**
 * Asks for a sync of the definition's content. No contentUri or an archived definition → 409.
 * Repeating while a sync is pending or running changes nothing (safe to retry).
 */
export async function requestContentSync(
  deps: Pick<ContentSyncDeps, 'definitions' | 'clock' | 'staleSyncMs'>,
  id: string,
): Promise<SyncRequestResult> {
  const staleMs = deps.staleSyncMs ?? DEFAULT_STALE_SYNC_MS;
  const { value } = await retryOnConflict(
    async () => {
      const latest = await deps.definitions.getLatest(id);
      if (!latest.contentUri) {
        throw new ConflictError(`definition ${id} has no contentUri to sync from`, { definitionId: id });
      }
      if (latest.status === 'ARCHIVED') {
        throw new ConflictError(`definition ${id} is archived; an archived definition does not change`, {
          definitionId: id,
          status: latest.status,
        });
      }
      const now = nowIso(deps);
      const current = latest.sync;
      const running =
        current?.status === 'PENDING' ||
        (current?.status === 'SYNCING' &&
          current.at !== undefined &&
          Date.parse(now) - Date.parse(current.at) < staleMs);
      if (running) return { outcome: 'already-requested' as const, definition: latest };
      const definition = await deps.definitions.setSync(id, { status: 'PENDING', at: now }, latest.version, {
        expectedSync: current ? { status: current.status, at: current.at } : { status: 'NONE' },
      });
      return { outcome: 'requested' as const, definition };
    },
    { maxAttempts: 5 },
  );
  return value;
}

// ---------------------------------------------------------------------------------------------
// Run

export type SyncRunResult =
  /** Nothing to do: no pending request (already handled, or claimed by another run). */
  | { outcome: 'skipped'; reason: string; definition: LabletDefinition }
  | { outcome: 'unchanged'; contentHash: string; definition: LabletDefinition }
  | { outcome: 'created'; contentHash: string; previousVersion: number; definition: LabletDefinition }
  | { outcome: 'failed'; diagnostic: string; definition: LabletDefinition };

/** The fields of a definition version a package determines. */
export function changesFromPackage(pkg: ExtractedContent): DefinitionChanges {
  const changes: DefinitionChanges = { contentHash: pkg.contentHash, podType: pkg.podType };
  if (pkg.topology) {
    changes.topologyYaml = pkg.topology.yaml;
    if (pkg.portTemplate) changes.portTemplate = pkg.portTemplate;
    if (pkg.resourceRequirements) changes.resourceRequirements = pkg.resourceRequirements;
  } else {
    // Not a CML lab: no CML topology (or ports from one) may linger from an earlier version.
    changes.topologyYaml = undefined;
    changes.topology = undefined;
    changes.portTemplate = [];
  }
  if (pkg.devices) changes.devices = pkg.devices.devices;
  if (pkg.gradingRulesRef) changes.gradingRulesRef = pkg.gradingRulesRef;
  if (pkg.formQualifiedName) changes.formQualifiedName = pkg.formQualifiedName;
  return changes;
}

/**
 * Performs the pending sync of a definition (the stream-triggered task). Every outcome after the
 * claim is recorded on the definition; a package problem is an outcome (`failed`), not an error.
 */
export async function runContentSync(deps: ContentSyncDeps, id: string): Promise<SyncRunResult> {
  const latest = await deps.definitions.getLatest(id);
  const pending = latest.sync;
  if (pending?.status !== 'PENDING') {
    return { outcome: 'skipped', reason: `sync is ${pending?.status ?? 'NONE'}`, definition: latest };
  }
  const claimedAt = nowIso(deps);
  let claimed: LabletDefinition;
  try {
    claimed = await deps.definitions.setSync(id, { status: 'SYNCING', at: claimedAt }, latest.version, {
      expectedSync: { status: 'PENDING', at: pending.at },
    });
  } catch (e) {
    if (e instanceof VersionConflictError) {
      return {
        outcome: 'skipped',
        reason: 'the request was claimed or changed concurrently',
        definition: latest,
      };
    }
    throw e;
  }

  const uri = claimed.contentUri;
  /** The definition, if it is still the one this run claimed (not re-requested or re-pointed since). */
  const stillOurs = async (): Promise<LabletDefinition | undefined> => {
    const now = await deps.definitions.getLatest(id);
    return now.sync?.status === 'SYNCING' && now.sync.at === claimedAt && now.contentUri === uri
      ? now
      : undefined;
  };
  /** Records the final sync state unless the claim was superseded; returns the definition. */
  const finish = async (sync: DefinitionSync): Promise<LabletDefinition> => {
    const { value } = await retryOnConflict(
      async () => {
        const current = await stillOurs();
        if (!current) return deps.definitions.getLatest(id);
        return deps.definitions.setSync(id, sync, current.version, {
          expectedSync: { status: 'SYNCING', at: claimedAt },
        });
      },
      { maxAttempts: 5 },
    );
    return value;
  };
  const fail = async (error: ContentPackageError, contentHash?: string): Promise<SyncRunResult> => {
    const diagnostic = error.diagnostic;
    const definition = await finish({
      status: 'FAILED',
      at: nowIso(deps),
      ...(contentHash ? { contentHash } : {}),
      diagnostic,
    });
    return { outcome: 'failed', diagnostic, definition };
  };

  if (!uri)
    return fail(new ContentPackageError('UNREADABLE', PACKAGE_FILE, 'the definition has no contentUri'));
  const limits = { ...DEFAULT_CONTENT_LIMITS, ...deps.limits };
  let contentHash: string | undefined;
  try {
    const bytes = await deps.content.get(uri, { maxBytes: limits.maxPackageBytes });
    contentHash = sha256Of(bytes);
    if (contentHash === claimed.contentHash) {
      const definition = await finish({
        status: 'SUCCEEDED',
        at: nowIso(deps),
        contentHash,
        diagnostic: `unchanged: version ${claimed.version} already has this content`,
      });
      return { outcome: 'unchanged', contentHash, definition };
    }
    const pkg = extractContentPackage(bytes, { sourceUri: uri, limits });
    const hash = contentHash;
    // The package's topology goes to the content bucket by its hash; the version holds the reference.
    const changes = changesFromPackage(pkg);
    if (changes.topologyYaml !== undefined) {
      changes.topology = await deps.definitions.topologies.put(changes.topologyYaml);
      changes.topologyYaml = undefined;
    }
    let superseded: LabletDefinition | undefined;
    const { value: created } = await retryOnConflict(
      async () => {
        const prev = await stillOurs();
        if (!prev) {
          superseded = await deps.definitions.getLatest(id);
          return undefined;
        }
        if (prev.status === 'ARCHIVED') {
          throw new ContentPackageError(
            'REJECTED',
            PACKAGE_FILE,
            'the definition was archived during the sync',
          );
        }
        const at = nowIso(deps);
        const sync: DefinitionSync = { status: 'SUCCEEDED', at, contentHash: hash };
        const next = nextDefinitionVersion(prev, { ...changes, sync }, CONTENT_SYNC_AUTHOR, at);
        // The superseded version's sync state is closed in the same transaction (not left SYNCING).
        const previousSync: DefinitionSync = {
          ...sync,
          diagnostic: `new content: superseded by version ${prev.version + 1}`,
        };
        const definition = await deps.definitions.putNewVersion(prev, next, { previousSync });
        return { previousVersion: prev.version, definition };
      },
      { maxAttempts: 5 },
    );
    if (!created) {
      return {
        outcome: 'skipped',
        reason: 'the sync was re-requested or the contentUri changed while it ran',
        definition: superseded!,
      };
    }
    return { outcome: 'created', contentHash: hash, ...created };
  } catch (e) {
    if (isContentPackageError(e)) return fail(e, contentHash);
    // Anything else (a bug, the table) is recorded too, so the definition does not stay SYNCING.
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const result = await fail(new ContentPackageError('INTERNAL', PACKAGE_FILE, reason), contentHash);
    throw Object.assign(e instanceof Error ? e : new Error(reason), { syncResult: result });
  }
}
