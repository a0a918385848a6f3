/**
 * The three local peers a whole `pkgstream run` talks to (a package index, a Kafka-protocol
 * broker, a Kubernetes API server) and a CLI database, with the env that points the CLI at
 * them: the database's, KAFKA_BROKERS, KUBECONFIG, and the caller's settings. One set-up for
 * the end-to-end, fault and deployment tests.
 */
import { createCliDatabase, type CliDatabase } from './cli-database.js';
import { startIndexServer, type IndexServer } from './index-server/index.js';
import { startKafkaBroker, type KafkaTestBroker } from './kafka-broker/index.js';
import { startKubeApi, type KubeApi, type KubeApiOptions } from './kube-api/index.js';

export interface ThreePeers {
  readonly index: IndexServer;
  readonly broker: KafkaTestBroker;
  readonly kube: KubeApi;
  readonly database: CliDatabase;
  readonly env: NodeJS.ProcessEnv;
  /** Stops the peers, then closes the database. */
  stop(): Promise<void>;
}

export async function startThreePeers(settings: Readonly<Record<string, string>>, options: { readonly kube?: KubeApiOptions } = {}): Promise<ThreePeers> {
  const [index, broker, kube] = await Promise.all([startIndexServer(), startKafkaBroker(), startKubeApi(options.kube)]);
  const database = await createCliDatabase();
  const env = { ...database.env, KAFKA_BROKERS: broker.brokers, KUBECONFIG: kube.kubeConfigFile(), ...settings };
  return {
    index,
    broker,
    kube,
    database,
    env,
    async stop() {
      await Promise.all([index.stop(), broker.stop(), kube.stop()]);
      await database.close();
    },
  };
}
