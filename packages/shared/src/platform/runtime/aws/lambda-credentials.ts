import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The AWS SDK's default credential provider as LCM's Lambda bundles have it: the Lambda runtime
 * puts the function role's credentials in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so of the SDK's default chain (environment, SSO, INI
 * files, credential process, web identity, container, instance metadata) only the first link ever
 * answers there. The bundles alias `@aws-sdk/credential-provider-node` to this module
 * (infra/lib/bundling.ts), which drops the rest of the chain and the STS, SSO and sign-in clients
 * it carries: about 137 KB of every bundle (docs/benchmarks.md). Nothing imports it: tests and
 * `npm start` run the sources with the SDK's full chain.
 */
export const defaultProvider = fromEnv;
