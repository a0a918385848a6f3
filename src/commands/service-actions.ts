/**
 * The HTTP layer's view of a running service: its database, store and the actions the API
 * and the UI may run now (a project check as `pkgstream check` does, an attention retry as
 * `attention retry` does), built from the same core (check-one.ts, retry-attention.ts).
 */
import type { ServiceApi } from '../http/service-api.js';
import { dryRunStore } from '../sinks/dry-run-store.js';
import { configuredPriority } from './adapters.js';
import { checkOne } from './check-one.js';
import type { PipelineContext } from './pipeline-factories.js';
import { retryAttentionItem } from './retry-attention.js';

export function serviceApi(context: PipelineContext): ServiceApi {
  const { config, adapters, logger } = context;
  return {
    db: adapters.database.pool,
    priority: configuredPriority(config),
    store: adapters.store,
    auth: { adminToken: config.adminToken, apiAuth: config.apiAuth },
    grafanaUrl: config.grafanaUrl,
    actions: {
      async check({ index, project, dryRun }) {
        // The real store writes the events to the outbox (the relay publishes them); a dry
        // run's store writes nothing and the result lists what it would have announced.
        if (!dryRun) return checkOne(context, { index, project });
        return checkOne({ ...context, adapters: { ...adapters, store: dryRunStore(adapters.store, logger) } }, { index, project });
      },
      retryAttention: (item) => retryAttentionItem(context, item),
    },
  };
}
