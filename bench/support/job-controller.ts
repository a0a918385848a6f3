/**
 * The bench's Job controller: watches the local Kubernetes API's Jobs over HTTP (the same
 * chunked watch stream a kubelet-side controller would read) and marks each new Job
 * succeeded `jobMs` after it appeared. Also samples the API server's active Job count:
 * at every new Job (the moment it can be highest) and every `sampleMs`.
 */
import { request } from 'node:http';
import type { KubeApi } from '../../test/support/kube-api/index.js';

export interface JobController {
  /** Jobs seen created. */
  readonly created: () => number;
  /** The most active Jobs at any sample (an upper bound of what the API server held). */
  readonly maxActive: () => number;
  /** Samples of the active count taken every `sampleMs` since start, in order. */
  readonly samples: () => readonly { readonly at: number; readonly active: number }[];
  /** performance.now() when the n-th Job (1-based) was seen. */
  readonly createdAt: (n: number) => number | undefined;
  stop(): void;
}

export function startJobController(kube: KubeApi, namespace: string, jobMs: number, sampleMs = 5): JobController {
  const seen = new Set<string>();
  const createdTimes: number[] = [];
  const samples: { at: number; active: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let maxActive = 0;
  let finished = 0;
  const sample = (): number => {
    const active = kube.requestCount('create') - finished;
    maxActive = Math.max(maxActive, active);
    return active;
  };
  const sampler = setInterval(() => samples.push({ at: performance.now(), active: sample() }), sampleMs);

  const req = request(`${kube.url}/apis/batch/v1/namespaces/${namespace}/jobs?watch=true`, { headers: { authorization: 'Bearer test-token' } });
  req.on('response', (res) => {
    let buffered = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
        const name = event.object.metadata?.name;
        if (event.type !== 'ADDED' || name === undefined || seen.has(name)) continue;
        seen.add(name);
        createdTimes.push(performance.now());
        sample();
        const timer = setTimeout(() => {
          timers.delete(timer);
          kube.succeedJob(namespace, name);
          finished += 1;
        }, jobMs);
        timers.add(timer);
      }
    });
  });
  req.on('error', () => undefined); // the API server stops at the end of the case
  req.end();

  return {
    created: () => seen.size,
    maxActive: () => maxActive,
    samples: () => samples,
    createdAt: (n) => createdTimes[n - 1],
    stop() {
      clearInterval(sampler);
      for (const timer of timers) clearTimeout(timer);
      req.destroy();
    },
  };
}
