export * from './errors.js';
export * from './types.js';
export type * from './ports.js';
export * from './pep503.js';
export * from './pep440.js';
export * from './filename.js';
export * from './attention.js';
export * from './retry-after.js';
export * from './event-record.js';
