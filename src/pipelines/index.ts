export * from './change-events.js';
export * from './dispatch.js';
export * from './new-releases.js';
export * from './project-fetcher.js';
export * from './releases.js';
export * from './update-project.js';
export * from './update.js';
