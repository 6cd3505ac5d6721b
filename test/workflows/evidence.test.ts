import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  createEvidenceStore,
  evidenceKeys,
  FileEvidenceStore,
  MemoryEvidenceStore,
  S3EvidenceStore,
  safeSegment,
} from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';

/** The evidence store: the S3 bucket (SDK mocked at its boundary), a directory, memory. */

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

describe('S3EvidenceStore', () => {
  it('puts objects whole under the session keys and names them by s3:// URI', async () => {
    s3.on(PutObjectCommand).resolves({});
    const store = new S3EvidenceStore('evidence-bucket', new S3Client({ region: 'us-east-1' }));
    const key = evidenceKeys.deviceConfig('S1', 'R1');
    expect(key).toBe('sessions/S1/configs/R1.txt');
    expect(await store.put(key, 'hostname R1')).toEqual({
      uri: 's3://evidence-bucket/sessions/S1/configs/R1.txt',
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'evidence-bucket',
      Key: key,
      Body: 'hostname R1',
      ContentType: 'text/plain; charset=utf-8',
    });
  });

  it('reads an object back, undefined when there is none; lists across pages', async () => {
    const store = new S3EvidenceStore('evidence-bucket', new S3Client({ region: 'us-east-1' }));
    s3.on(GetObjectCommand, { Key: 'a' }).resolves({
      // The SDK's streaming body, reduced to what the store reads.
      Body: { transformToString: async () => '{"ok":true}' } as never,
    });
    s3.on(GetObjectCommand, { Key: 'missing' }).rejects(new NoSuchKey({ message: 'nope', $metadata: {} }));
    expect(await store.get('a')).toBe('{"ok":true}');
    expect(await store.get('missing')).toBeUndefined();
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'sessions/S1/b' }], IsTruncated: true, NextContinuationToken: 'n' })
      .resolvesOnce({ Contents: [{ Key: 'sessions/S1/a' }], IsTruncated: false });
    expect(await store.list('sessions/S1/')).toEqual(['sessions/S1/a', 'sessions/S1/b']);
    expect(s3.commandCalls(ListObjectsV2Command)[1]?.args[0].input.ContinuationToken).toBe('n');
  });

  it('is what EVIDENCE_BUCKET selects; EVIDENCE_DIR selects a directory', () => {
    expect(createEvidenceStore({ EVIDENCE_BUCKET: 'b' }).kind).toBe('s3');
    expect(createEvidenceStore({ EVIDENCE_DIR: '/tmp/x' }).kind).toBe('file');
    expect(() => createEvidenceStore({})).toThrow(/EVIDENCE_BUCKET/);
  });
});

describe('FileEvidenceStore and MemoryEvidenceStore', () => {
  it('write, overwrite, read and list under a directory, with file:// URIs; keys cannot escape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lcm-evidence-'));
    try {
      const store = new FileEvidenceStore(dir);
      const { uri } = await store.put(evidenceKeys.manifest('S1'), '{"v":1}');
      await store.put(evidenceKeys.manifest('S1'), '{"v":2}');
      await store.put(evidenceKeys.deviceConfig('S1', 'R/1'), 'cfg');
      expect(fileURLToPath(uri)).toBe(join(dir, 'sessions', 'S1', 'manifest.json'));
      expect(await store.get(evidenceKeys.manifest('S1'))).toBe('{"v":2}');
      expect(await store.get('sessions/S2/manifest.json')).toBeUndefined();
      expect(await store.list('sessions/S1/')).toEqual([
        'sessions/S1/configs/R_1.txt',
        'sessions/S1/manifest.json',
      ]);
      await expect(store.put('../escape.txt', 'x')).rejects.toThrow(/invalid evidence key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('memory store keeps objects by key', async () => {
    const store = new MemoryEvidenceStore();
    const { uri } = await store.put('sessions/S1/manifest.json', '{}');
    expect(MemoryEvidenceStore.keyOf(uri)).toBe('sessions/S1/manifest.json');
    expect(await store.get('sessions/S1/manifest.json')).toBe('{}');
    expect(safeSegment('..')).toBe('_..');
  });
});
