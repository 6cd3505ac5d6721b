import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ContentPackageError,
  type ContentStore,
  PACKAGE_FILE,
  parseS3Uri,
  tooLarge,
} from '@lcm/shared/catalogue';
import { seedSampleContent } from './samples.ts';

/**
 * The local stack's `lcm-content` bucket: a folder (LCM_SANDBOX_CONTENT_DIR, default
 * `<repo>/.lcm/content`). A definition whose contentUri is `s3://lcm-content/<key>` syncs from
 * `<folder>/<key>`. Same contract as the S3 store: unreadable → UNREADABLE, too big → TOO_LARGE.
 */

export const LOCAL_CONTENT_BUCKET = 'lcm-content';
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const DEFAULT_LOCAL_CONTENT_DIR = join(REPO_ROOT, '.lcm', 'content');

/** The folder the local stack serves: LCM_SANDBOX_CONTENT_DIR (relative to the repo) or .lcm/content. */
export function localContentDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.LCM_SANDBOX_CONTENT_DIR;
  return configured ? resolve(REPO_ROOT, configured) : DEFAULT_LOCAL_CONTENT_DIR;
}

export interface LocalContentStoreOptions {
  /** Bucket name served (default lcm-content). */
  bucket?: string;
  /** Write the shipped sample packages into the folder when absent (default true). */
  seedSamples?: boolean;
}

export interface LocalContentStore extends ContentStore {
  readonly dir: string;
  readonly bucket: string;
  /** `s3://<bucket>/<key>` of a file in the folder. */
  uriOf(key: string): string;
}

export function createLocalContentStore(dir: string, opts: LocalContentStoreOptions = {}): LocalContentStore {
  const root = resolve(dir);
  const bucket = opts.bucket ?? LOCAL_CONTENT_BUCKET;
  if (opts.seedSamples ?? true) seedSampleContent(root);
  const unreadable = (uri: string, reason: string) =>
    new ContentPackageError('UNREADABLE', PACKAGE_FILE, reason, { uri });

  return {
    dir: root,
    bucket,
    uriOf: (key) => `s3://${bucket}/${key}`,
    async get(uri, getOpts = {}) {
      const location = parseS3Uri(uri);
      if (location.bucket !== bucket) {
        throw unreadable(uri, `no bucket ${location.bucket} in the local stack (it serves ${bucket})`);
      }
      const path = resolve(root, location.key);
      const rel = relative(root, path);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
        throw unreadable(uri, `key ${location.key} is outside the bucket`);
      }
      let size: number;
      try {
        const info = await stat(path);
        if (!info.isFile()) throw unreadable(uri, `no object at ${uri}`);
        size = info.size;
      } catch (e) {
        if (e instanceof ContentPackageError) throw e;
        throw unreadable(uri, `no object at ${uri} (looked for ${path})`);
      }
      const maxBytes = getOpts.maxBytes ?? Number.POSITIVE_INFINITY;
      if (size > maxBytes) throw tooLarge(uri, size, maxBytes);
      return new Uint8Array(await readFile(path));
    },
  };
}
