/**
 * A kubeconfig whose API server URL is plain http and that has no
 * `insecure-skip-tls-verify` (kubectl uses such a file as is): pkgstream uses it too, with
 * a one-line warning, instead of client-node's "HTTP protocol is not allowed when
 * skipTLSVerify is not set" on every attempt.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, addProject, recordAttention, recordReleases } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { startKubeApi, type KubeApi } from '../support/kube-api/index.js';

const NAMESPACE = 'plain-http';
let kube: KubeApi;
let index: IndexServer;
let database: CliDatabase;
let itemId: number;

beforeAll(async () => {
  kube = await startKubeApi({ namespace: NAMESPACE });
  index = await startIndexServer();
  index.addRelease('alpha', '1.0');
  database = await createCliDatabase();
  itemId = await database.use(async (pool) => {
    const simpleUrl = `${index.url}/simple`;
    const registered = await addIndex(pool, { simpleUrl, warehouse: true });
    await addProject(pool, { indexId: registered.id, project: 'alpha' });
    await recordReleases(pool, registered.id, 'alpha', [{ version: '1.0', files: [] }]);
    const item = await recordAttention(pool, { pipeline: 'dispatch', itemKey: `${simpleUrl}|alpha|1.0|solver-x`, errorCode: 'JOB_FAILED', errorMessage: 'Job failed', attempts: 3 });
    return item.id;
  });
}, 60_000);

afterAll(async () => {
  await kube?.stop();
  await index?.stop();
  await database?.close();
});

describe('a plain-http kubeconfig without insecure-skip-tls-verify', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('creates the Job over http and warns once that the connection is not encrypted', async () => {
    const kubeconfig = kube.kubeConfigFile({ insecureSkipTlsVerify: false });
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain('insecure-skip-tls-verify');
    expect(kube.url).toMatch(/^http:\/\//);
    const result = await runCli(['attention', 'retry', String(itemId)], { ...database.env, KUBECONFIG: kubeconfig, PKGSTREAM_NAMESPACE: NAMESPACE });
    expect(result.stderr).not.toContain('HTTP protocol is not allowed');
    expect({ code: result.code, stdout: result.stdout }).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(new RegExp(`^${itemId}\\tresolved\\tJob solver-x-[0-9a-f]{16}-a4 created`));
    expect(kube.jobs(NAMESPACE).map((job) => job.metadata.labels?.['pkgstream.dev/solver'])).toEqual(['solver-x']);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('plain http'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, server: kube.url });
    expect(result.stderr).not.toContain('test-token');
  });
});
