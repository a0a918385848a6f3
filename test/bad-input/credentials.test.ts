/**
 * No output ever shows a password (issue 12 item 29): a URL's credentials are redacted in
 * every message of the built command, whichever way it meets them: a malformed
 * DATABASE_URL (the configuration error), a PostgreSQL URL whose server is down (the
 * start-up failure of `migrate`, the retry lines and the /readyz body of `run`), an index
 * URL with user info (refused by `index add`) and a Grafana URL of the wrong scheme.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../deploy/support-live.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { killLeftovers, startRunning } from '../support/cli-service.js';

const PASSWORD = 's3cret';

afterEach(killLeftovers);

let scratch: string;
let downPort: number;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pkgstream-credentials-'));
  downPort = await freePort();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const dataDir = (name: string) => join(scratch, name);

describe('cli: a URL password is never printed', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('a DATABASE_URL of another database: the configuration error keeps the user, hides the password', async () => {
    const result = await runCli(['migrate'], { PKGSTREAM_DATA_DIR: dataDir('mysql'), DATABASE_URL: `mysql://postgres:${PASSWORD}@127.0.0.1/rely` });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL="mysql://postgres:***@127.0.0.1/rely": must be a URL (postgres: or postgresql:)');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('a DATABASE_URL that does not parse: redacted by pattern', async () => {
    const result = await runCli(['migrate'], { PKGSTREAM_DATA_DIR: dataDir('unparsable'), DATABASE_URL: `postgres://postgres:${PASSWORD}@[not-a-host/rely` });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL="postgres://postgres:***@[not-a-host/rely"');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('`migrate` against a PostgreSQL server that is down: fails naming the refusal, not the password', async () => {
    const result = await runCli(['migrate'], { PKGSTREAM_DATA_DIR: dataDir('migrate-down'), DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:${downPort}/rely`, LOG_LEVEL: 'debug' });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`migrate failed: connect ECONNREFUSED 127.0.0.1:${downPort}`);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('`run` retrying a PostgreSQL server that is down: its log lines and /readyz name the database, not the password', async () => {
    const service = startRunning(['run'], { DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:${downPort}/rely`, PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'debug' });
    const retry = await service.log((line) => typeof line.msg === 'string' && line.msg.includes('is not reachable'));
    expect(retry.msg).toContain(`postgres 127.0.0.1:${downPort}/rely as postgres`);
    const readiness = await service.readyz();
    expect(readiness.status).toBe(503);
    expect(await service.terminate()).toEqual({ code: 0, signal: null });
    expect(JSON.stringify(readiness.body)).not.toContain(PASSWORD);
    expect(service.stderr()).not.toContain(PASSWORD);
  });

  it('an index URL with user info: `index add` refuses it without echoing it', async () => {
    const result = await runCli(['index', 'add', `https://bob:${PASSWORD}@index.example.test/simple`], { PKGSTREAM_DATA_DIR: dataDir('index') });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('index URLs must not carry credentials');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('a Grafana URL of the wrong scheme with a password: the configuration error hides it', async () => {
    const result = await runCli(['migrate'], { PKGSTREAM_DATA_DIR: dataDir('grafana'), PKGSTREAM_GRAFANA_URL: `ftp://admin:${PASSWORD}@grafana.example.test/d/x` });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('PKGSTREAM_GRAFANA_URL="ftp://admin:***@grafana.example.test/d/x"');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
