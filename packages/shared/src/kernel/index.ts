/** Public surface of the `kernel` context. */
export * from './capacity.ts';
export * from './enums.ts';
export * from './errors.ts';
export * from './factories.ts';
export * from './pools.ts';
export * from './schemas.ts';
export * from './text.ts';
export * from './transitions.ts';
