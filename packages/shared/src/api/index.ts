/** Public surface of the `api` context. */
export * from './dispatch.ts';
export * from './live.ts';
export * from './live-auth.ts';
export * from './live-store.ts';
export * from './openapi.ts';
export * from './operations.ts';
export * from './requests.ts';
export * from './responses.ts';
export * from './roles.ts';
export * from './views.ts';
