/** Public surface of the `catalogue` context. */
export * from './content/errors.ts';
export * from './content/package.ts';
export * from './content/store.ts';
export * from './content/sync.ts';
export * from './content/uri.ts';
export * from './content/zip.ts';
export * from './definition-store.ts';
export * from './definitions.ts';
export * from './rules/drift.ts';
export * from './rules/node-definitions.ts';
export * from './rules/observations.ts';
export * from './rules/observed-topology.ts';
export * from './rules/pod-type.ts';
export * from './rules/ports.ts';
export * from './rules/topology.ts';
export * from './topology-store.ts';
