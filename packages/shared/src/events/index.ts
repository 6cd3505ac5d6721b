/** Public surface of the `events` context. */
export * from './content-events.ts';
export * from './http-binding.ts';
export * from './ingest.ts';
export * from './outbox.ts';
export * from './outbox-metrics.ts';
export * from './outbox-publisher.ts';
export * from './partners.ts';
export * from './pattern.ts';
export * from './publisher.ts';
export * from './rules.ts';
export * from './schemas.ts';
export * from './signature.ts';
export * from './stream-failures.ts';
export * from './stream-failures-aws.ts';
export * from './streams.ts';
export * from './triggers.ts';
export * from './webhooks.ts';
