import { type DynamoDbLocal, startDynamoDbLocal } from '@lcm/sandbox/dynamodb-local';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the run's one DynamoDB Local (in memory); read with inject('dynamodbEndpoint'). */
    dynamodbEndpoint: string;
  }
}

/**
 * vitest globalSetup of the `integration` project: one DynamoDB Local per run, in memory, on a
 * free port. Tests isolate themselves by table (test/support/table.ts), not by process.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const db: DynamoDbLocal = await startDynamoDbLocal({});
  try {
    project.provide('dynamodbEndpoint', db.endpoint);
  } catch (e) {
    await db.stop();
    throw e;
  }
  return async () => {
    await db.stop();
  };
}
