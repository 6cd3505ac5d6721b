import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../platform/index.ts';
import { ContentPackageError, PACKAGE_FILE } from './errors.ts';
import { parseS3Uri } from './uri.ts';

export { isS3Uri, parseS3Uri, type S3Location } from './uri.ts';

/**
 * Where content packages come from. A definition's `contentUri` is `s3://<bucket>/<key>`; in AWS
 * the S3 implementation reads it, in the local stack the sandbox serves a folder as the bucket
 * (`createLocalContentStore` in packages/sandbox). Both refuse an object larger than `maxBytes`
 * without reading it whole.
 */
export interface ContentStore {
  /**
   * The object's bytes. A malformed URI, a missing or unreadable object →
   * ContentPackageError('UNREADABLE'); more than `maxBytes` → ContentPackageError('TOO_LARGE').
   */
  get(uri: string, opts?: { maxBytes?: number }): Promise<Uint8Array>;
}

export const tooLarge = (uri: string, size: number | string, maxBytes: number): ContentPackageError =>
  new ContentPackageError(
    'TOO_LARGE',
    PACKAGE_FILE,
    `${uri} is ${size} bytes; a package may have at most ${maxBytes}`,
    { uri, maxBytes },
  );

/** Reads a byte stream, refusing it as soon as it passes `maxBytes`. */
export async function readCapped(
  stream: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  uri: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > maxBytes) throw tooLarge(uri, `more than ${maxBytes}`, maxBytes);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const DENIED = new Set(['AccessDenied', 'Forbidden', 'InvalidObjectState']);

export class S3ContentStore implements ContentStore {
  constructor(private readonly s3: S3Client = s3Client()) {}

  async get(uri: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    let out: GetObjectCommandOutput;
    try {
      out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      const name = (e as Error).name;
      if (NOT_FOUND.has(name)) {
        throw new ContentPackageError('UNREADABLE', PACKAGE_FILE, `no object at ${uri}`, {
          uri,
          error: name,
        });
      }
      if (DENIED.has(name)) {
        throw new ContentPackageError('UNREADABLE', PACKAGE_FILE, `cannot read ${uri} (${name})`, {
          uri,
          error: name,
        });
      }
      const reason = `cannot read ${uri}: ${name}: ${(e as Error).message}`;
      throw new ContentPackageError('UNREADABLE', PACKAGE_FILE, reason, { uri, error: name });
    }
    if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
      // Do not download what will be refused: release the connection.
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw tooLarge(uri, out.ContentLength, maxBytes);
    }
    const body = out.Body as AsyncIterable<Uint8Array> | undefined;
    if (!body || typeof (body as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== 'function') {
      throw new ContentPackageError('UNREADABLE', PACKAGE_FILE, `${uri} has no readable body`, { uri });
    }
    return readCapped(body, maxBytes, uri);
  }
}

/** The content store of a Lambda: S3 through the runtime kit's client (AWS_ENDPOINT_URL_S3 when set). */
export const defaultContentStore = (): ContentStore => new S3ContentStore(s3Client());
