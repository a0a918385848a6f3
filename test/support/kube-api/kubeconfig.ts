/** A kubeconfig file for the local API server, as kubectl and client-node read it. */
import { stringify } from 'yaml';
import { TLS_CERT } from './tls.js';

export interface KubeconfigOptions {
  readonly server: string;
  readonly token: string;
  readonly namespace: string;
  /**
   * For an http server: writes `insecure-skip-tls-verify: true` (default). Meaningless over
   * plain http, but client-node 1.x refuses an http server URL without it; false writes the
   * file kubectl accepts and client-node alone refuses. An https server gets its CA instead.
   */
  readonly insecureSkipTlsVerify?: boolean;
}

function clusterOf(options: KubeconfigOptions): Record<string, unknown> {
  if (options.server.startsWith('https:')) return { server: options.server, 'certificate-authority-data': Buffer.from(TLS_CERT).toString('base64') };
  return { server: options.server, ...(options.insecureSkipTlsVerify === false ? {} : { 'insecure-skip-tls-verify': true }) };
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = 'pkgstream-test';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: clusterOf(options) }],
    users: [{ name, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: options.namespace } }],
    'current-context': name,
    preferences: {},
  });
}
