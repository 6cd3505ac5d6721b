export * from './domain/capacity.ts';
export * from './domain/enums.ts';
export * from './domain/errors.ts';
export * from './domain/schemas.ts';
export * from './domain/transitions.ts';
export * from './persistence/keys.ts';
export * from './persistence/table.ts';
