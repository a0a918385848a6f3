/**
 * SIGTERM and SIGINT as one AbortSignal for the whole process. cli.ts listens before it
 * loads anything else (src/process-signals.ts), so that a signal during start-up is a
 * request to stop, never the default kill (exit 143). The first signal asks the running
 * command to drain; a second exits at once with 130.
 */
export function listenForShutdown(processRef: NodeJS.Process = process): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      processRef.stderr?.write(`pkgstream: second signal (${signal}): exiting now\n`);
      processRef.exit(130);
      return;
    }
    controller.abort(signal);
  };
  processRef.on('SIGTERM', onSignal);
  processRef.on('SIGINT', onSignal);
  return controller.signal;
}

/** Waits `ms`, or less when `signal` aborts first; resolves true when it was aborted. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
