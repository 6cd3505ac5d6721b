import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { awsClient } from './client.ts';

/** The process's DynamoDB Streams client (reading failed stream records back to replay them). */
export const dynamoDbStreamsClient = /* @__PURE__ */ awsClient(
  'DYNAMODB_STREAMS',
  () => new DynamoDBStreamsClient({}),
);
