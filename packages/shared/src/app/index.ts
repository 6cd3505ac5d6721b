/** Public surface of the `app` context. */
export * from './api-env.ts';
export * from './env.ts';
export * from './events-env.ts';
export * from './fleet-env.ts';
export * from './fleet-task.ts';
export * from './jobs.ts';
export * from './live-env.ts';
export * from './partner-clients.ts';
export * from './session-env.ts';
export * from './session-task.ts';
export * from './stores.ts';
export * from './triggered.ts';
