/** A kubeconfig file for the local API server, as kubectl and client-node read it. */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  readonly server: string;
  readonly token: string;
  readonly namespace: string;
  /**
   * Writes `insecure-skip-tls-verify: true` (default). Meaningless over plain http, but
   * client-node 1.x refuses an http server URL without it; false writes the file kubectl
   * accepts and client-node alone refuses.
   */
  readonly insecureSkipTlsVerify?: boolean;
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = 'pkgstream-test';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: options.server, ...(options.insecureSkipTlsVerify === false ? {} : { 'insecure-skip-tls-verify': true }) } }],
    users: [{ name, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: options.namespace } }],
    'current-context': name,
    preferences: {},
  });
}
