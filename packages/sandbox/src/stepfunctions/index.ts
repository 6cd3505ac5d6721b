export * from './engine.ts';
export * from './server.ts';
