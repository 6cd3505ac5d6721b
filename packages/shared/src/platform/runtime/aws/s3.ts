import { S3Client } from '@aws-sdk/client-s3';
import { awsClient } from './client.ts';

/** The process's S3 client (AWS_ENDPOINT_URL_S3: the sandbox content bucket). */
export const s3Client = /* @__PURE__ */ awsClient('S3', () => new S3Client({}));
