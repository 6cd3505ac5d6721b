import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClient } from './client.ts';

/** The process's Secrets Manager client. */
export const secretsManagerClient = /* @__PURE__ */ awsClient(
  'SECRETS_MANAGER',
  () => new SecretsManagerClient({}),
);
