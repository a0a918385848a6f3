/**
 * The HTTP layer's view of a running service: its database, store and the actions the API
 * and the UI may run now (a project check as `pkgstream check` does, an attention retry as
 * `attention retry` does), built from the same core (check-one.ts, retry-attention.ts).
 */
import type { EventSink } from '../domain/ports.js';
import type { PackageEvent } from '../domain/types.js';
import type { ServiceApi } from '../http/service-api.js';
import { dryRunStore } from '../sinks/dry-run-store.js';
import { checkOne } from './check-one.js';
import type { PipelineContext } from './pipeline-factories.js';
import { retryAttentionItem } from './retry-attention.js';

/** A sink that only keeps what it is given: the events a dry run would publish. */
function collectingSink(): EventSink & { readonly events: PackageEvent[] } {
  const events: PackageEvent[] = [];
  return { events, publish: async (batch) => void events.push(...batch), close: async () => {} };
}

export function serviceApi(context: PipelineContext): ServiceApi {
  const { config, adapters, logger } = context;
  return {
    db: adapters.database.pool,
    store: adapters.store,
    auth: { adminToken: config.adminToken, apiAuth: config.apiAuth },
    grafanaUrl: config.grafanaUrl,
    actions: {
      async check({ index, project, dryRun }) {
        if (!dryRun) return checkOne(context, { index, project }, adapters.events);
        const sink = collectingSink();
        const dry = { ...context, adapters: { ...adapters, store: dryRunStore(adapters.store, logger), events: sink } };
        return checkOne(dry, { index, project }, sink);
      },
      retryAttention: (item) => retryAttentionItem(context, item),
    },
  };
}
