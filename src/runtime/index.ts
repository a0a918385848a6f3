export * from './logger.js';
export * from './metrics.js';
export * from './supervisor.js';
export * from './version.js';
