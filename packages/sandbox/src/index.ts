export * from './dynamodb-local.ts';
export * from './http-gateway.ts';
export * from './lambda-runtime.ts';
export * from './local-auth.ts';
export * from './local-stack.ts';
export * from './seed.ts';
