/**
 * At most `slots` requests in flight per index host, waiters served in arrival order. The
 * polite client takes a slot before the host's token, so a request that is granted a token
 * goes out at once: were it to wait for one of the transport's connections after its grant,
 * the requests granted meanwhile would leave together when connections free up, and the
 * index would see more than the bucket's rate + burst in a second.
 */
export interface HostSlots {
  /** Resolves with the release of the slot taken (call it once, when the request settled). */
  take(host: string): Promise<() => void>;
}

export function hostSlots(slots: number): HostSlots {
  const hosts = new Map<string, { active: number; waiting: (() => void)[] }>();
  const stateOf = (host: string) => {
    let state = hosts.get(host);
    if (!state) hosts.set(host, (state = { active: 0, waiting: [] }));
    return state;
  };
  return {
    async take(host) {
      const state = stateOf(host);
      if (state.active < slots) state.active += 1;
      else await new Promise<void>((resolve) => state.waiting.push(resolve)); // handed over with its slot counted
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = state.waiting.shift();
        if (next) next();
        else state.active -= 1;
      };
    },
  };
}
