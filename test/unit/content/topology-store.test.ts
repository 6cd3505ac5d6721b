import { createHash } from 'node:crypto';
import {
  ContentPackageError,
  DEFAULT_CONTENT_LIMITS,
  extractContentPackage,
  isUploadId,
  newUploadId,
  readTopology,
  TopologyStore,
  topologyHash,
  topologyKey,
  topologyRefOf,
  UPLOAD_MAX_BYTES,
  uploadKey,
} from '@lcm/shared/catalogue';
import { ValidationError } from '@lcm/shared/kernel';
import { localPresignedUrl, MemoryContentBlobs, verifyLocalPresignedUrl } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { buildTopology } from '../../fixtures/topology-builder.ts';
import { TOPOLOGY, zipOf } from './packages.ts';

/** Topologies addressed by content hash in the content bucket (issue 11, item 1). */

const store = () => {
  const blobs = new MemoryContentBlobs();
  return { blobs, topologies: new TopologyStore(() => blobs) };
};

describe('hash addressing', () => {
  it('the reference is the SHA-256 of the UTF-8 text and its byte size; the key is derived from the hash', () => {
    const yaml = 'lab:\n  title: Zürich core\n  version: 0.3.0\nnodes: []\n';
    const hex = createHash('sha256').update(Buffer.from(yaml, 'utf8')).digest('hex');
    expect(topologyHash(yaml)).toBe(`sha256:${hex}`);
    expect(topologyRefOf(yaml)).toEqual({ hash: `sha256:${hex}`, sizeBytes: yaml.length + 1 }); // ü is 2 bytes
    expect(topologyKey(`sha256:${hex}`)).toBe(`topologies/sha256/${hex}.yaml`);
    expect(() => topologyKey('sha256:../../etc/passwd')).toThrow(ValidationError);
    expect(() => topologyKey(`md5:${hex.slice(0, 32)}`)).toThrow(/sha256:<64 hex digits>/);
  });

  it('stores each text once under its hash: the same text twice is one object, another text another', async () => {
    const { blobs, topologies } = store();
    const a = await topologies.put(TOPOLOGY);
    const again = await topologies.put(TOPOLOGY);
    expect(again).toEqual(a);
    expect([...blobs.objects.keys()]).toEqual([topologyKey(a.hash)]);
    const b = await topologies.put(`${TOPOLOGY}# changed\n`);
    expect(b.hash).not.toBe(a.hash);
    expect(blobs.objects.size).toBe(2);
    expect(await topologies.get(a)).toBe(TOPOLOGY);
  });

  it('refuses an object that is missing or does not hash to its reference', async () => {
    const { blobs, topologies } = store();
    const ref = await topologies.put(TOPOLOGY);
    blobs.objects.set(topologyKey(ref.hash), TOPOLOGY.replace('R1', 'R9'));
    await expect(topologies.get(ref)).rejects.toThrow(/hashes to sha256:[0-9a-f]{64}, not/);
    blobs.objects.clear();
    await expect(topologies.get(ref)).rejects.toThrow(/is not in the content bucket/);
  });

  it('reads old items inline and new ones from the bucket', async () => {
    const { topologies } = store();
    const ref = await topologies.put(TOPOLOGY);
    expect(await readTopology(topologies, { topology: ref })).toBe(TOPOLOGY);
    expect(await readTopology(topologies, { topologyYaml: 'inline' })).toBe('inline');
    expect(await readTopology(topologies, {})).toBeUndefined();
  });
});

describe('uploads', () => {
  it('ids are unguessable and checked before they become keys', () => {
    const id = newUploadId();
    expect(isUploadId(id)).toBe(true);
    expect(newUploadId()).not.toBe(id);
    expect(uploadKey(id)).toBe(`uploads/${id}`);
    expect(() => uploadKey('../topologies/x')).toThrow(/topologyUploadId/);
  });

  it('reads an upload within the limit; a missing or larger one is a 400 on topologyUploadId', async () => {
    const { blobs, topologies } = store();
    const id = newUploadId();
    await expect(topologies.readUpload(id)).rejects.toMatchObject({ field: 'topologyUploadId' });
    await blobs.put(uploadKey(id), TOPOLOGY);
    expect(await topologies.readUpload(id)).toBe(TOPOLOGY);
    const tooBig = topologies.readUpload(id, 10);
    await expect(tooBig).rejects.toBeInstanceOf(ValidationError);
    await expect(topologies.readUpload(id, 10)).rejects.toThrow(/at most 10 are accepted/);
  });

  it('local pre-signed URLs: valid for their method, key and size until they expire', () => {
    const at = new Date('2026-12-07T03:00:00Z');
    const presign = { baseUrl: 'http://127.0.0.1:3000/_lcm/bucket', secret: 's3cr3t', clock: () => at };
    const url = new URL(
      localPresignedUrl(presign, 'PUT', 'uploads/up-1', { expiresInSeconds: 60, sizeBytes: 5 }),
    );
    const key = decodeURIComponent(url.pathname.replace('/_lcm/bucket/', ''));
    expect(verifyLocalPresignedUrl('s3cr3t', 'PUT', key, url.searchParams, at)).toEqual({
      ok: true,
      key: 'uploads/up-1',
      sizeBytes: 5,
    });
    expect(verifyLocalPresignedUrl('s3cr3t', 'GET', key, url.searchParams, at).ok).toBe(false);
    expect(verifyLocalPresignedUrl('other', 'PUT', key, url.searchParams, at).ok).toBe(false);
    expect(verifyLocalPresignedUrl('s3cr3t', 'PUT', 'uploads/up-2', url.searchParams, at).ok).toBe(false);
    const later = new Date(at.getTime() + 61_000);
    expect(verifyLocalPresignedUrl('s3cr3t', 'PUT', key, url.searchParams, later)).toMatchObject({
      ok: false,
      reason: 'the URL has expired',
    });
    const resized = new URLSearchParams(url.searchParams);
    resized.set('size', '50');
    expect(verifyLocalPresignedUrl('s3cr3t', 'PUT', key, resized, at).ok).toBe(false);
  });
});

describe('content packages with large topologies', () => {
  it('the topology may exceed the per-entry bound (up to 50 MiB); every other file keeps it', () => {
    // The bound scaled down (16 MiB by default) so the test stays fast; the mechanism is the same.
    const limits = { maxEntryBytes: 4096 };
    const lab = buildTopology({ routers: 4, hosts: 4 });
    expect(lab.bytes).toBeGreaterThan(4096);
    const pkg = extractContentPackage(zipOf({ 'cml.yaml': lab.yaml }), { limits });
    expect(pkg.topology?.yaml).toBe(lab.yaml);
    expect(pkg.resourceRequirements?.nodeCount).toBe(8);
    let refused: unknown;
    try {
      extractContentPackage(zipOf({ 'cml.yaml': TOPOLOGY, 'devices.json': new Uint8Array(8192) }), {
        limits,
      });
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ContentPackageError);
    expect((refused as ContentPackageError).problem).toBe('TOO_LARGE');
    expect((refused as ContentPackageError).file).toBe('devices.json');
    expect(DEFAULT_CONTENT_LIMITS.maxPackageBytes).toBe(UPLOAD_MAX_BYTES);
  });
});
