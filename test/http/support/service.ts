/**
 * The HTTP layer wired as `run` wires it, with the real store on the test database, the real
 * index client talking to the local index peer, Jobs only logged, and events written to the
 * event table: what the API tests and the browser tests talk to over a real socket.
 */
import { addIndex } from '../../../src/db/indexes.js';
import type { Adapters } from '../../../src/commands/adapters.js';
import { serviceApi } from '../../../src/commands/service-actions.js';
import { startHttpServer, type HttpServer } from '../../../src/http/server.js';
import { loadConfig } from '../../../src/runtime/config.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { createMetrics, type Metrics } from '../../../src/runtime/metrics.js';
import { Readiness } from '../../../src/runtime/readiness.js';
import { packageVersion } from '../../../src/runtime/version.js';
import { createKubeJobScheduler } from '../../../src/sinks/job-sink.js';
import { createPackageStore } from '../../../src/sinks/store-sink.js';
import { createIndexClient } from '../../../src/sources/index-client/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { startIndexServer, type IndexServer } from '../../support/index-server/index.js';
import { politeIndexClient } from '../../../src/sources/index-client/polite-client.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestService {
  readonly base: string;
  readonly simpleUrl: string;
  readonly index: IndexServer;
  readonly database: TestDatabase;
  readonly metrics: Metrics;
  readonly http: HttpServer;
  stop(): Promise<void>;
}

export async function startTestService(env: NodeJS.ProcessEnv = { PKGSTREAM_ADMIN_TOKEN: ADMIN_TOKEN }): Promise<TestService> {
  const logger = silentLogger();
  const index = await startIndexServer();
  const database = await createTestDatabase();
  const simpleUrl = `${index.url}/simple`;
  await addIndex(database.pool, { simpleUrl, warehouse: true, watchMode: 'seen' });
  const config = loadConfig({ ...env, PKGSTREAM_RATE_LIMIT: '1000', PKGSTREAM_RATE_BURST: '100' });
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const client = createIndexClient({ version: packageVersion(), metrics, logger });
  const jobs = createKubeJobScheduler({ kubeConfig: null, namespace: 'pkgstream', templatePath: null, reverseTemplatePath: null, dryRun: true, logger, metrics });
  const adapters: Adapters = {
    database: database.database,
    // The real store writes every event to the `event` table (the history the API shows);
    // nothing publishes them here.
    store: createPackageStore(database.pool),
    index: politeIndexClient(client, { rate: config.rateLimit, burst: config.rateBurst, metrics }),
    relay: null,
    jobs,
    close: async () => {
      await jobs.close();
      await client.close();
    },
  };
  const http = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness: new Readiness(), logger });
  http.serveApi(serviceApi({ config, adapters, metrics, logger }));
  return {
    base: http.url,
    simpleUrl,
    index,
    database,
    metrics,
    http,
    async stop() {
      await http.close();
      await adapters.close();
      await database.close();
      await index.stop();
    },
  };
}
