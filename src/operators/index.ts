export * from './dedupe.js';
export * from './hash-diff.js';
export * from './metered.js';
export * from './pause-gate.js';
export * from './pull-map.js';
export * from './rate-limit.js';
export * from './retry-backoff.js';
export * from './solver-dispatch.js';
