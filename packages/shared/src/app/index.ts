/** Public surface of the `app` context. */
export * from './api-env.ts';
export * from './events-env.ts';
export * from './fleet-env.ts';
export * from './fleet-task.ts';
export * from './jobs.ts';
export * from './session-env.ts';
export * from './session-task.ts';
export * from './stores.ts';
