import { ContentPackageError, PACKAGE_FILE } from './errors.ts';

/** Content URIs (`s3://<bucket>/<key>`), without any AWS import so API handlers can check them. */

export interface S3Location {
  bucket: string;
  key: string;
}

/** Bucket names as S3 allows them (3–63 lower-case letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/key` → { bucket, key }; anything else → ContentPackageError('UNREADABLE'). */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m || !BUCKET.test(m[1]!)) {
    const reason = `contentUri ${uri} is not s3://<bucket>/<key>`;
    throw new ContentPackageError('UNREADABLE', PACKAGE_FILE, reason, { uri });
  }
  return { bucket: m[1]!, key: m[2]! };
}

export const isS3Uri = (uri: string): boolean => {
  try {
    parseS3Uri(uri);
    return true;
  } catch {
    return false;
  }
};
