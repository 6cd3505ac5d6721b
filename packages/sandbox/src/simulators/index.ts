export * from './cml.ts';
export * from './common.ts';
export * from './grading.ts';
export * from './lds.ts';
