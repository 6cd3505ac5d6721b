import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client } from '../runtime/aws/s3.ts';
import type { RawEnv } from '../runtime/env.ts';

/**
 * Large content in the content/evidence bucket (issue 11, item 1): topology YAML addressed by its
 * hash, and the uploads a client PUTs through a pre-signed URL. Unlike the evidence store, a read
 * is bounded (`maxBytes`: refused from the object's size, before its body is read) and the bucket
 * can hand out pre-signed URLs. In AWS the evidence bucket (EVIDENCE_BUCKET); locally a directory
 * (EVIDENCE_DIR) whose pre-signed URLs the local stack serves (LCM_LOCAL_BUCKET_URL, signed with
 * LCM_LOCAL_BUCKET_SECRET; `verifyLocalPresignedUrl`).
 */
export interface ContentBlobs {
  /** `s3`, `file`, `memory`; for logs. */
  readonly kind: string;
  /** Writes (or overwrites) one object. */
  put(key: string, body: string, contentType?: string): Promise<void>;
  /** The object's text; undefined when absent; BlobTooLargeError when it has more than `maxBytes`. */
  get(key: string, opts?: { maxBytes?: number }): Promise<string | undefined>;
  /**
   * A URL that PUTs the object without other credentials until `expiresAt`. With `sizeBytes`, only
   * a body of exactly that many bytes is accepted (the Content-Length is signed).
   */
  presignPut(key: string, opts: { expiresInSeconds: number; sizeBytes?: number }): Promise<string>;
  /** A URL that GETs the object without other credentials until it expires. */
  presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string>;
}

/** An object larger than the reader allows; `size` as known (its Content-Length, or "more than"). */
export class BlobTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly size: number | undefined,
    readonly maxBytes: number,
  ) {
    super(`${key} is ${size ?? `more than ${maxBytes}`} bytes; at most ${maxBytes} are read`);
    this.name = 'BlobTooLargeError';
  }
}

function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new RangeError(`invalid object key: ${key}`);
  }
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);

/** The bucket in AWS. */
export class S3ContentBlobs implements ContentBlobs {
  readonly kind = 's3';

  constructor(
    readonly bucket: string,
    private readonly client: S3Client = s3Client(),
  ) {
    if (!bucket) throw new Error('S3ContentBlobs needs a bucket name');
  }

  async put(key: string, body: string, contentType = 'application/yaml; charset=utf-8'): Promise<void> {
    checkKey(key);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<string | undefined> {
    checkKey(key);
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (NOT_FOUND.has((e as { name?: string }).name ?? '')) return undefined;
      throw e;
    }
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    if (out.ContentLength !== undefined && out.ContentLength > max) {
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new BlobTooLargeError(key, out.ContentLength, max);
    }
    if (!out.Body) return '';
    const text = await out.Body.transformToString('utf-8');
    if (Buffer.byteLength(text, 'utf8') > max) throw new BlobTooLargeError(key, undefined, max);
    return text;
  }

  async presignPut(key: string, opts: { expiresInSeconds: number; sizeBytes?: number }): Promise<string> {
    checkKey(key);
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ...(opts.sizeBytes !== undefined ? { ContentLength: opts.sizeBytes } : {}),
    });
    return getSignedUrl(this.client, command, {
      expiresIn: opts.expiresInSeconds,
      ...(opts.sizeBytes !== undefined ? { signableHeaders: new Set(['content-length']) } : {}),
    });
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    checkKey(key);
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: opts.expiresInSeconds,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The local stack: a directory, and URLs it serves itself

/** How a local pre-signed URL is signed: HMAC-SHA256 over method, key, expiry and size. */
const localSignature = (
  secret: string,
  method: 'PUT' | 'GET',
  key: string,
  expires: number,
  size: string,
): string => createHmac('sha256', secret).update(`${method}\n${key}\n${expires}\n${size}`).digest('hex');

export interface LocalPresign {
  /** Where the local stack serves the bucket: `<baseUrl>/<key>?…`. */
  baseUrl: string;
  secret: string;
  clock?: () => Date;
}

const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** A local pre-signed URL (what `FileContentBlobs.presign*` returns). */
export function localPresignedUrl(
  presign: LocalPresign,
  method: 'PUT' | 'GET',
  key: string,
  opts: { expiresInSeconds: number; sizeBytes?: number },
): string {
  checkKey(key);
  const now = (presign.clock ?? (() => new Date()))().getTime();
  const expires = Math.floor(now / 1000) + opts.expiresInSeconds;
  const size = opts.sizeBytes === undefined ? '' : String(opts.sizeBytes);
  const url = new URL(`${presign.baseUrl.replace(/\/$/, '')}/${encodeKey(key)}`);
  url.searchParams.set('expires', String(expires));
  if (size) url.searchParams.set('size', size);
  url.searchParams.set('signature', localSignature(presign.secret, method, key, expires, size));
  return url.href;
}

export type LocalPresignedCheck =
  | { ok: true; key: string; sizeBytes?: number }
  | { ok: false; status: 403; reason: string };

/**
 * Checks a request to a local pre-signed URL: `key` is the path under the bucket's base URL
 * (decoded), `query` its search parameters. Expired or not signed for this method and key → 403.
 */
export function verifyLocalPresignedUrl(
  secret: string,
  method: string,
  key: string,
  query: URLSearchParams,
  now: Date = new Date(),
): LocalPresignedCheck {
  const expires = Number(query.get('expires'));
  const size = query.get('size') ?? '';
  const given = query.get('signature') ?? '';
  if (method !== 'PUT' && method !== 'GET')
    return { ok: false, status: 403, reason: `${method} is not signed` };
  try {
    checkKey(key);
  } catch {
    return { ok: false, status: 403, reason: 'invalid key' };
  }
  const expected = localSignature(secret, method, key, expires, size);
  if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
    return { ok: false, status: 403, reason: 'signature does not match' };
  }
  if (!Number.isFinite(expires) || expires * 1000 < now.getTime()) {
    return { ok: false, status: 403, reason: 'the URL has expired' };
  }
  return size ? { ok: true, key, sizeBytes: Number(size) } : { ok: true, key };
}

/** The bucket of the local stack: files under a directory (EVIDENCE_DIR). */
export class FileContentBlobs implements ContentBlobs {
  readonly kind = 'file';
  readonly root: string;

  constructor(
    root: string,
    private readonly presign?: LocalPresign,
  ) {
    this.root = resolve(root);
  }

  path(key: string): string {
    checkKey(key);
    const p = resolve(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + sep)) throw new RangeError(`invalid object key: ${key}`);
    return p;
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, p);
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<string | undefined> {
    const p = this.path(key);
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    if (size > max) throw new BlobTooLargeError(key, size, max);
    return readFile(p, 'utf8');
  }

  private presigner(): LocalPresign {
    if (!this.presign) {
      throw new Error(
        'pre-signed URLs of the local bucket need LCM_LOCAL_BUCKET_URL and LCM_LOCAL_BUCKET_SECRET',
      );
    }
    return this.presign;
  }

  async presignPut(key: string, opts: { expiresInSeconds: number; sizeBytes?: number }): Promise<string> {
    return localPresignedUrl(this.presigner(), 'PUT', key, opts);
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    return localPresignedUrl(this.presigner(), 'GET', key, opts);
  }
}

/** Objects in memory (unit tests); URLs are `memory://` and serve nothing. */
export class MemoryContentBlobs implements ContentBlobs {
  readonly kind = 'memory';
  readonly objects = new Map<string, string>();

  async put(key: string, body: string): Promise<void> {
    checkKey(key);
    this.objects.set(key, body);
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<string | undefined> {
    const body = this.objects.get(key);
    if (body === undefined) return undefined;
    const size = Buffer.byteLength(body, 'utf8');
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    if (size > max) throw new BlobTooLargeError(key, size, max);
    return body;
  }

  async presignPut(key: string, opts: { expiresInSeconds: number; sizeBytes?: number }): Promise<string> {
    checkKey(key);
    return `memory://blobs/${key}?method=PUT&expiresIn=${opts.expiresInSeconds}`;
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    checkKey(key);
    return `memory://blobs/${key}?method=GET&expiresIn=${opts.expiresInSeconds}`;
  }
}

/** The variables that name the content bucket. */
export const CONTENT_BLOBS_VARIABLES = [
  'EVIDENCE_BUCKET',
  'EVIDENCE_DIR',
  'LCM_LOCAL_BUCKET_URL',
  'LCM_LOCAL_BUCKET_SECRET',
] as const;

/**
 * The content bucket named by the environment: EVIDENCE_BUCKET (AWS) or EVIDENCE_DIR (the local
 * stack, with LCM_LOCAL_BUCKET_URL / LCM_LOCAL_BUCKET_SECRET for its pre-signed URLs). Neither →
 * an error naming the variable (a function without the `evidence-*` need must not store content).
 */
export function createContentBlobs(env: RawEnv): ContentBlobs {
  if (env.EVIDENCE_BUCKET) return new S3ContentBlobs(env.EVIDENCE_BUCKET);
  if (env.EVIDENCE_DIR) {
    const presign =
      env.LCM_LOCAL_BUCKET_URL && env.LCM_LOCAL_BUCKET_SECRET
        ? { baseUrl: env.LCM_LOCAL_BUCKET_URL, secret: env.LCM_LOCAL_BUCKET_SECRET }
        : undefined;
    return new FileContentBlobs(env.EVIDENCE_DIR, presign);
  }
  throw new Error('the content bucket is not configured: set EVIDENCE_BUCKET (or EVIDENCE_DIR locally)');
}

/**
 * The content bucket of this process, from its environment at first use (and again when the
 * variables change: tests and the local stack set them after import).
 */
export function envContentBlobs(env: RawEnv = process.env): () => ContentBlobs {
  let cached: { fingerprint: string; blobs: ContentBlobs } | undefined;
  return () => {
    const fingerprint = CONTENT_BLOBS_VARIABLES.map((v) => env[v] ?? '').join('\n');
    if (cached?.fingerprint !== fingerprint) cached = { fingerprint, blobs: createContentBlobs(env) };
    return cached.blobs;
  };
}
