export * from './definitions.ts';
export * from './engine.ts';
export * from './server.ts';
