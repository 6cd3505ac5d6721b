import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client } from '../runtime/aws/s3.ts';
import type { EvidenceStore } from './store.ts';

/**
 * The evidence bucket (EVIDENCE_BUCKET): one object per device configuration plus the manifest.
 * Encryption and retention are the bucket's (data stack); objects are written whole, so a
 * retried collection overwrites with the same keys.
 */
export class S3EvidenceStore implements EvidenceStore {
  readonly kind = 's3';

  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = s3Client(),
  ) {
    if (!bucket) throw new Error('S3EvidenceStore needs a bucket name');
  }

  async put(key: string, body: string, contentType = 'text/plain; charset=utf-8'): Promise<{ uri: string }> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
    return { uri: this.uriOf(key) };
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToString('utf-8') : undefined;
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  uriOf(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}
