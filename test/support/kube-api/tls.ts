/**
 * The peer's TLS identity: a self-signed certificate for 127.0.0.1 and localhost (valid to
 * 2126; a test fixture, trusted by nothing but the kubeconfigs this peer writes). kubectl
 * (client-go) sends a bearer token only over TLS, so the token check needs https.
 */
import { readFileSync } from 'node:fs';

export const TLS_CERT = readFileSync(new URL('./tls-cert.pem', import.meta.url), 'utf8');
export const TLS_KEY = readFileSync(new URL('./tls-key.pem', import.meta.url), 'utf8');
