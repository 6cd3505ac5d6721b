import { createDocumentClient } from '../platform/index.ts';
import { createStores, type Stores } from './stores.ts';

/**
 * What API handlers share per cold start: the stores on the table named by TABLE_NAME
 * (endpoint from AWS_ENDPOINT_URL_DYNAMODB when set, e.g. DynamoDB Local). Built lazily so a
 * test can set the environment before the first request.
 */
let cached: { key: string; stores: Stores } | undefined;

export function apiStores(): Stores {
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  const key = `${tableName}@${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''}`;
  if (cached?.key !== key) {
    cached = { key, stores: createStores({ client: createDocumentClient(), tableName }) };
  }
  return cached.stores;
}
