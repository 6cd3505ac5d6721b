import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient, documentClientOf } from '../../dynamodb/client.ts';
import { awsClient } from './client.ts';

/** The process's DynamoDB client (AWS_ENDPOINT_URL_DYNAMODB: DynamoDB Local). */
export const dynamoDbClient: () => DynamoDBClient = /* @__PURE__ */ awsClient('DYNAMODB', () =>
  createDynamoDbClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB, region: process.env.AWS_REGION }),
);

let document: { client: DynamoDBClient; document: DynamoDBDocumentClient } | undefined;

/** The document client over `dynamoDbClient()`: what the stores use. */
export function documentClient(): DynamoDBDocumentClient {
  const client = dynamoDbClient();
  if (document?.client !== client) document = { client, document: documentClientOf(client) };
  return document.document;
}
