/**
 * Is the Kubernetes API reachable, and does it let us see our Jobs? One list of at most one
 * Job in the namespace per check: the request dispatch depends on, with its credentials.
 */
import { BatchV1Api, type KubeConfig } from '@kubernetes/client-node';

export function createKubeProbe(kubeConfig: KubeConfig, namespace: string): { check(): Promise<void> } {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  return {
    async check() {
      await batch.listNamespacedJob({ namespace, limit: 1 });
    },
  };
}
