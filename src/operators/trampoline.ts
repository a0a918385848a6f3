/**
 * A re-entrancy guard for an operator's "start what may start now" pass.
 *
 * A call made while the pass runs (a synchronous completion, a sync iterator, a refusal
 * answered at once) asks for one more pass instead of recursing, so the stack stays flat
 * however many items settle synchronously.
 */
export function trampoline(pass: () => void): () => void {
  let running = false;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        pass();
      } while (again);
    } finally {
      running = false;
    }
  };
}
