import { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { ContentPackageError, parseS3Uri, S3ContentStore } from '@lcm/shared/catalogue';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';

/** The S3 content store, mocked at the SDK boundary (the sandbox bucket: test/integration/content). */

const refusal = async (p: Promise<unknown>): Promise<ContentPackageError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ContentPackageError);
    return e as ContentPackageError;
  }
  throw new Error('expected a refusal');
};

const bodyOf = (bytes: Uint8Array, chunk = 1000) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(Buffer.from(bytes.subarray(i, i + chunk)));
  return Readable.from(parts) as unknown as GetObjectCommandOutput['Body'];
};

const awsError = (name: string) => Object.assign(new Error(`${name} happened`), { name });

describe('parseS3Uri', () => {
  it('splits bucket and key', () => {
    expect(parseS3Uri('s3://lcm-content/labs/a b/x.zip')).toEqual({
      bucket: 'lcm-content',
      key: 'labs/a b/x.zip',
    });
  });
  it.each([
    'https://lcm-content/x.zip',
    's3://lcm-content/',
    's3://Bad_Bucket/x',
    's3:/x/y',
    'lcm-content/x.zip',
  ])('refuses %s', async (uri) => {
    const e = await refusal(Promise.resolve().then(() => parseS3Uri(uri)));
    expect(e.problem).toBe('UNREADABLE');
    expect(e.reason).toContain('is not s3://<bucket>/<key>');
  });
});

describe('S3ContentStore', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const store = new S3ContentStore(new S3Client({ region: 'us-east-1' }));
  const bytes = new Uint8Array(5000).map((_, i) => i % 256);

  it('reads the object the URI names', async () => {
    s3.on(GetObjectCommand, { Bucket: 'lcm-content', Key: 'labs/x.zip' }).resolves({
      ContentLength: bytes.length,
      Body: bodyOf(bytes),
    });
    expect(Buffer.from(await store.get('s3://lcm-content/labs/x.zip', { maxBytes: 10_000 }))).toEqual(
      Buffer.from(bytes),
    );
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'lcm-content',
      Key: 'labs/x.zip',
    });
  });

  it('refuses an object whose ContentLength is over the limit without reading it', async () => {
    const body = bodyOf(bytes) as unknown as Readable;
    s3.on(GetObjectCommand).resolves({ ContentLength: bytes.length, Body: body as never });
    const e = await refusal(store.get('s3://lcm-content/x.zip', { maxBytes: 4096 }));
    expect(e.problem).toBe('TOO_LARGE');
    expect(e.reason).toBe('s3://lcm-content/x.zip is 5000 bytes; a package may have at most 4096');
    expect(body.destroyed).toBe(true);
  });

  it('stops reading a body that grows past the limit (no ContentLength)', async () => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf(bytes) });
    const e = await refusal(store.get('s3://lcm-content/x.zip', { maxBytes: 4096 }));
    expect(e.problem).toBe('TOO_LARGE');
    expect(e.reason).toContain('more than 4096');
  });

  it.each([
    ['NoSuchKey', /no object at s3:\/\/lcm-content\/x.zip/],
    ['AccessDenied', /cannot read s3:\/\/lcm-content\/x.zip \(AccessDenied\)/],
    ['InternalError', /cannot read s3:\/\/lcm-content\/x.zip: InternalError: InternalError happened/],
  ])('%s → UNREADABLE', async (name, reason) => {
    s3.on(GetObjectCommand).rejects(awsError(name));
    const e = await refusal(store.get('s3://lcm-content/x.zip'));
    expect(e.problem).toBe('UNREADABLE');
    expect(e.file).toBe('(package)');
    expect(e.reason).toMatch(reason);
  });
});
