#!/usr/bin/env node
/**
 * The `pkgstream` executable. Its one static import installs the SIGTERM handler, so a
 * SIGTERM that comes while the commands load (seconds on a slow disk) is a request to
 * drain, not a kill (exit 143); only then are the commands loaded (main.ts).
 */
import './process-signals.js';

await import('./main.js');
