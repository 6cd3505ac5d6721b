/**
 * The runtime kit: what every Lambda handler is made of. Powertools (`logger`, `metrics`,
 * `tracer`), one lazily built and traced client per AWS service, the environment as zod schemas
 * (`readEnv`, `envText`, ...), the cached dependency builder (`cachedDeps`, `lazy`), the clock
 * (`now`) and the workflow step wrapper (`stepHandler`). See docs/architecture.md, "Runtime kit".
 */
export * from './aws/apigw-management.ts';
export * from './aws/client.ts';
export * from './aws/cloudwatch.ts';
export * from './aws/dynamodb.ts';
export * from './aws/dynamodb-streams.ts';
export * from './aws/ec2.ts';
export * from './aws/eventbridge.ts';
export * from './aws/lambda.ts';
export * from './aws/s3.ts';
export * from './aws/secrets-manager.ts';
export * from './aws/sfn.ts';
export * from './aws/sqs.ts';
export * from './business-metrics.ts';
export * from './cached-check.ts';
export * from './clock.ts';
export * from './deps.ts';
export * from './env.ts';
export * from './log.ts';
export * from './metric-buffer.ts';
export * from './metric-names.ts';
export * from './powertools.ts';
export * from './step.ts';
export * from './tracing.ts';
