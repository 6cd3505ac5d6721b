import { tracer } from '../tracer.ts';

/**
 * What the AWS SDK reads from the environment when it builds a client of `service`: region,
 * credentials and endpoint (`AWS_ENDPOINT_URL_<SERVICE>` points a client at a local endpoint).
 */
const sdkEnvOf = (service: string): string =>
  ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL', `AWS_ENDPOINT_URL_${service}`]
    .map((name) => process.env[name] ?? '')
    .join('\u0000');

/**
 * The builder of one AWS SDK client: built on first use (a function that never calls it never
 * constructs the client, and a bundle that never imports its module never contains it), traced
 * through `tracer.captureAWSv3Client`, then reused. Rebuilt only when the SDK's own environment
 * changes, which tests and the local stack do in one process.
 */
export function awsClient<C>(service: string, create: () => C): () => C {
  let cached: { key: string; client: C } | undefined;
  return () => {
    const key = sdkEnvOf(service);
    if (cached?.key !== key) cached = { key, client: tracer.captureAWSv3Client(create()) };
    return cached.client;
  };
}
