/**
 * Loads the Kubernetes client configuration: a kubeconfig file, the pod's service account,
 * or none. A plain-http API server URL is used as kubectl uses it (client-node 1.x refuses
 * one unless TLS verification is off, which means nothing without TLS), with a warning.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';

export function loadKubeConfig(config: Config, logger: Logger): KubeConfig | null {
  if (config.kubernetes === 'none') return null;
  const kubeConfig = new KubeConfig();
  if (config.kubernetes === 'in-cluster') kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(config.kubeconfig ?? '');
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster || !cluster.server.startsWith('http:') || cluster.skipTLSVerify) return kubeConfig;
  logger.warn({ server: cluster.server, cluster: cluster.name }, 'the Kubernetes API server URL is plain http: requests and the token travel unencrypted');
  kubeConfig.loadFromOptions({
    clusters: kubeConfig.clusters.map((c) => (c.name === cluster.name ? { ...c, skipTLSVerify: true } : c)),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.getCurrentContext(),
  });
  return kubeConfig;
}
