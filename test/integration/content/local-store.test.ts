import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalContentStore, localContentDir } from '@lcm/sandbox/content/local-store';
import { SAMPLE_PACKAGES, samplePackageBytes, seedSampleContent } from '@lcm/sandbox/content/samples';
import { ContentPackageError } from '@lcm/shared/catalogue';
import { afterAll, describe, expect, it } from 'vitest';

/** The local stack's `lcm-content` bucket: a folder, seeded with the shipped sample packages. */

const refusal = async (p: Promise<unknown>): Promise<ContentPackageError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ContentPackageError);
    return e as ContentPackageError;
  }
  throw new Error('expected a refusal');
};

describe('the sandbox bucket (createLocalContentStore)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-content-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('seeds the sample packages once and never overwrites an edited one', () => {
    const first = join(dir, 'seed');
    expect(seedSampleContent(first)).toEqual(SAMPLE_PACKAGES.map((s) => s.file));
    for (const s of SAMPLE_PACKAGES) {
      expect(Buffer.from(readFileSync(join(first, s.file)))).toEqual(Buffer.from(samplePackageBytes(s.file)));
    }
    writeFileSync(join(first, 'cml-patty-lab.zip'), 'edited');
    expect(seedSampleContent(first)).toEqual([]);
    expect(readFileSync(join(first, 'cml-patty-lab.zip'), 'utf8')).toBe('edited');
  });

  it('serves <folder>/<key> as s3://lcm-content/<key>', async () => {
    const store = createLocalContentStore(join(dir, 'bucket'));
    expect(store.uriOf('pav1-ospf-lab.zip')).toBe('s3://lcm-content/pav1-ospf-lab.zip');
    const bytes = await store.get('s3://lcm-content/pav1-ospf-lab.zip');
    expect(Buffer.from(bytes)).toEqual(Buffer.from(samplePackageBytes('pav1-ospf-lab.zip')));
    writeFileSync(join(store.dir, 'mine.zip'), 'not a zip');
    expect(Buffer.from(await store.get('s3://lcm-content/mine.zip')).toString()).toBe('not a zip');
  });

  it.each([
    ['s3://other-bucket/cml-patty-lab.zip', /no bucket other-bucket in the local stack/],
    ['s3://lcm-content/missing.zip', /no object at s3:\/\/lcm-content\/missing.zip/],
    ['s3://lcm-content/../escape.zip', /outside the bucket/],
    ['s3://lcm-content/a/../../escape.zip', /outside the bucket/],
  ])('%s → UNREADABLE', async (uri, reason) => {
    const store = createLocalContentStore(join(dir, 'bucket'));
    const e = await refusal(store.get(uri));
    expect(e.problem).toBe('UNREADABLE');
    expect(e.reason).toMatch(reason);
  });

  it('refuses a file over the limit without reading it', async () => {
    const store = createLocalContentStore(join(dir, 'bucket'));
    const size = statSync(join(store.dir, 'cml-patty-lab.zip')).size;
    const e = await refusal(store.get('s3://lcm-content/cml-patty-lab.zip', { maxBytes: 100 }));
    expect(e.problem).toBe('TOO_LARGE');
    expect(e.reason).toBe(
      `s3://lcm-content/cml-patty-lab.zip is ${size} bytes; a package may have at most 100`,
    );
  });

  it('defaults to .lcm/content, or LCM_SANDBOX_CONTENT_DIR relative to the repository', () => {
    expect(localContentDir({})).toMatch(/[/\\]\.lcm[/\\]content$/);
    expect(localContentDir({ LCM_SANDBOX_CONTENT_DIR: '/tmp/x' })).toBe('/tmp/x');
    expect(localContentDir({ LCM_SANDBOX_CONTENT_DIR: 'var/content' })).toMatch(/[/\\]var[/\\]content$/);
  });
});
