/**
 * The only static import of cli.ts, so that it is evaluated before the heavy modules load: from
 * here on a SIGTERM is a request to drain (see runtime/shutdown-signal.ts).
 */
import { listenForShutdown } from './runtime/shutdown-signal.js';

export const shutdownSignal: AbortSignal = listenForShutdown();
