import { createHash, randomBytes } from 'node:crypto';
import type { LabletDefinition, TopologyRef } from '../kernel/index.ts';
import { DomainError, ValidationError } from '../kernel/index.ts';
import { BlobTooLargeError, type ContentBlobs } from '../platform/index.ts';

/**
 * Topologies of any real size (issue 11, item 1). A definition's CML topology YAML lives in the
 * content bucket (the evidence bucket in AWS, EVIDENCE_DIR locally), addressed by its content hash:
 * `topologies/sha256/<hex>.yaml`. The definition item holds `topology: { hash, sizeBytes }`, never
 * the YAML (a DynamoDB item is at most 400 KB). Content addressing makes the write idempotent (a
 * retried create writes the same object), lets versions with the same topology share one object,
 * and lets a reader check what it got: a read whose bytes do not hash to the reference is refused.
 *
 * Items written before this held the YAML inline (`topologyYaml`, ≤ 350,000 characters); they are
 * read as they are (`readTopology`) and the next version written moves the YAML to the bucket.
 *
 * Uploads: `POST /v1/uploads` hands out a pre-signed PUT URL for `uploads/<uploadId>`; a
 * definition create/update names `topologyUploadId`, and the upload is read (at most
 * UPLOAD_MAX_BYTES), validated as a topology and stored by hash like inline YAML.
 */

/** Largest topology through a content package or an upload (50 MiB). */
export const UPLOAD_MAX_BYTES = 50 * 1024 * 1024;
/**
 * Largest `topologyYaml` inline in a JSON request or reply (5.5 MiB): the request body must fit
 * Lambda's 6 MB synchronous payload limit, event envelope and JSON escaping included.
 */
export const INLINE_TOPOLOGY_MAX_CHARS = 5_767_168;
/** Largest request body of the operations that take inline topology YAML (6 MiB, Lambda's limit). */
export const TOPOLOGY_BODY_MAX_BYTES = 6 * 1024 * 1024;
/** How long a pre-signed upload URL is valid. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
/** How long a pre-signed topology download URL is valid. */
export const TOPOLOGY_URL_TTL_SECONDS = 15 * 60;

const HASH = /^sha256:([0-9a-f]{64})$/;
const UPLOAD_ID = /^up-[0-9a-f]{32}$/;

/** `sha256:<hex>` of the YAML text (UTF-8). */
export const topologyHash = (yamlText: string): string =>
  `sha256:${createHash('sha256').update(yamlText, 'utf8').digest('hex')}`;

/** The reference of a topology text: its hash and size. */
export const topologyRefOf = (yamlText: string): TopologyRef => ({
  hash: topologyHash(yamlText),
  sizeBytes: Buffer.byteLength(yamlText, 'utf8'),
});

/** The object key of a topology: `topologies/sha256/<hex>.yaml`. */
export function topologyKey(hash: string): string {
  const m = HASH.exec(hash);
  if (!m) throw new ValidationError('topology.hash', `must be sha256:<64 hex digits>, got ${hash}`);
  return `topologies/sha256/${m[1]}.yaml`;
}

/** A new upload id: `up-` and 128 random bits (unguessable: the id is the upload's capability). */
export const newUploadId = (): string => `up-${randomBytes(16).toString('hex')}`;

export const isUploadId = (id: string): boolean => UPLOAD_ID.test(id);

/** The object key of an upload: `uploads/<uploadId>`. */
export function uploadKey(uploadId: string): string {
  if (!isUploadId(uploadId)) {
    throw new ValidationError(
      'topologyUploadId',
      `must be an upload id (up-<32 hex digits>), got ${uploadId}`,
    );
  }
  return `uploads/${uploadId}`;
}

/** Topologies in the content bucket. */
export class TopologyStore {
  constructor(private readonly blobs: () => ContentBlobs) {}

  /** Stores the YAML under its hash (idempotent) and returns the reference. */
  async put(yamlText: string): Promise<TopologyRef> {
    const ref = topologyRefOf(yamlText);
    await this.blobs().put(topologyKey(ref.hash), yamlText, 'application/yaml; charset=utf-8');
    return ref;
  }

  /**
   * The YAML of a reference, checked against its hash. A missing object or one whose bytes do not
   * hash to the reference is an error (the definition cannot be served as stored).
   */
  async get(ref: TopologyRef): Promise<string> {
    const key = topologyKey(ref.hash);
    const text = await this.blobs().get(key, { maxBytes: Math.max(ref.sizeBytes, 0) });
    if (text === undefined) {
      throw new DomainError(
        'UNPROCESSABLE',
        `the topology ${ref.hash} is not in the content bucket (${key})`,
        {
          hash: ref.hash,
        },
      );
    }
    const got = topologyHash(text);
    if (got !== ref.hash) {
      throw new DomainError('UNPROCESSABLE', `the object ${key} hashes to ${got}, not ${ref.hash}`, {
        hash: ref.hash,
      });
    }
    return text;
  }

  /** A pre-signed GET URL of a stored topology (for replies too large to carry it inline). */
  async url(ref: TopologyRef, expiresInSeconds = TOPOLOGY_URL_TTL_SECONDS): Promise<string> {
    return this.blobs().presignGet(topologyKey(ref.hash), { expiresInSeconds });
  }

  /** A pre-signed PUT URL for a new upload (exactly `sizeBytes` when given). */
  async uploadUrl(uploadId: string, opts: { expiresInSeconds: number; sizeBytes?: number }): Promise<string> {
    return this.blobs().presignPut(uploadKey(uploadId), opts);
  }

  /**
   * The text of an upload a definition names: it must exist and hold at most `maxBytes`
   * (ValidationError on `topologyUploadId` otherwise). Validating it as a topology is the caller's.
   */
  async readUpload(uploadId: string, maxBytes = UPLOAD_MAX_BYTES): Promise<string> {
    const key = uploadKey(uploadId);
    let text: string | undefined;
    try {
      text = await this.blobs().get(key, { maxBytes });
    } catch (e) {
      if (e instanceof BlobTooLargeError) {
        throw new ValidationError(
          'topologyUploadId',
          `the upload ${uploadId} has ${e.size ?? `more than ${maxBytes}`} bytes; at most ${maxBytes} are accepted`,
        );
      }
      throw e;
    }
    if (text === undefined) {
      throw new ValidationError(
        'topologyUploadId',
        `no upload ${uploadId}: PUT the topology to the URL of POST /v1/uploads first (it expires)`,
      );
    }
    return text;
  }
}

/**
 * The topology YAML of a definition version: inline (items written before issue 11) or read from
 * the content bucket by hash; undefined when it has none.
 */
export async function readTopology(
  store: Pick<TopologyStore, 'get'>,
  definition: Pick<LabletDefinition, 'topologyYaml' | 'topology'>,
): Promise<string | undefined> {
  if (definition.topology) return store.get(definition.topology);
  return definition.topologyYaml;
}
