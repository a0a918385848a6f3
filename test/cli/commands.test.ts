import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, cliDatabaseEnv, runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';

let env: NodeJS.ProcessEnv;
let closeDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (process.env.TEST_DATABASE_URL) {
    const database = await createTestDatabase({ migrate: false });
    closeDatabase = () => database.close();
    env = cliDatabaseEnv(database.url);
  } else {
    env = cliDatabaseEnv(undefined);
  }
});
afterAll(async () => closeDatabase?.());

describe('pkgstream help and usage', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('lists every command and every setting with its env name and default', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const text of ['run', 'migrate', 'index add <simple-url>', 'package add <name>', 'PKGSTREAM_HTTP_PORT', 'default "9464"', 'DATABASE_URL', 'LOG_LEVEL']) {
      expect(stdout).toContain(text);
    }
  });

  it('shows a command its own options', async () => {
    const { code, stdout } = await runCli(['index', 'add', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--warehouse');
    expect(stdout).toContain('--watch');
  });

  it('exits 2 on an unknown command, a wrong argument count or an unknown flag', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['index', 'add'])).code).toBe(2);
    const unknownFlag = await runCli(['index', 'list', '--colour']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain('--colour');
  });

  it('exits 2 with one line per bad setting, naming variable and value', async () => {
    const { code, stderr } = await runCli(['migrate'], { PKGSTREAM_HTTP_PORT: 'abc', LOG_LEVEL: 'loud', PKGSTREAM_SOLVER_CAPACITY: '0' });
    expect(code).toBe(2);
    expect(stderr).toContain('PKGSTREAM_HTTP_PORT="abc"');
    expect(stderr).toContain('LOG_LEVEL="loud"');
    expect(stderr).toContain('PKGSTREAM_SOLVER_CAPACITY="0"');
  });
});

describe('pkgstream database commands', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('migrates once, then finds the schema up to date', async () => {
    const first = await runCli(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied 0001/);
    const second = await runCli(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('schema up to date\n');
  });

  it('has PyPI registered on a fresh database', async () => {
    const { code, stdout } = await runCli(['index', 'list'], env);
    expect(code).toBe(0);
    expect(stdout).toContain('https://pypi.org/simple\tenabled\twatch=seen\tjson=https://pypi.org/pypi\trss=https://pypi.org/rss');
  });

  it('adds, lists, disables and enables an index', async () => {
    const added = await runCli(['index', 'add', 'https://mirror.example.test/simple/', '--watch', 'all'], env);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('index https://mirror.example.test/simple registered (watch all)');
    const warehouse = await runCli(['index', 'add', 'https://warehouse.example.test/simple', '--warehouse', '--disabled'], env);
    expect(warehouse.code).toBe(0);

    let list = (await runCli(['index', 'list'], env)).stdout;
    expect(list).toContain('https://mirror.example.test/simple\tenabled\twatch=all\tjson=-\trss=-');
    expect(list).toContain('https://warehouse.example.test/simple\tdisabled\twatch=seen\tjson=https://warehouse.example.test/pypi\trss=https://warehouse.example.test/rss');

    expect((await runCli(['index', 'disable', 'https://mirror.example.test/simple'], env)).code).toBe(0);
    expect((await runCli(['index', 'enable', 'https://warehouse.example.test/simple'], env)).code).toBe(0);
    list = (await runCli(['index', 'list'], env)).stdout;
    expect(list).toContain('https://mirror.example.test/simple\tdisabled');
    expect(list).toContain('https://warehouse.example.test/simple\tenabled');
  });

  it('refuses a bad index URL, a bad watch mode and an unknown index, exit 2', async () => {
    const badUrl = await runCli(['index', 'add', 'ftp://x/simple'], env);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('not an http(s) URL: "ftp://x/simple"');
    const badWatch = await runCli(['index', 'add', 'https://x.test/simple', '--watch', 'some'], env);
    expect(badWatch.code).toBe(2);
    expect(badWatch.stderr).toContain('--watch must be one of all, seen');
    const unknown = await runCli(['index', 'disable', 'https://nowhere.test/simple'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no index registered at https://nowhere.test/simple');
  });

  it('registers a project as seen under its PEP 503 name, once', async () => {
    const first = await runCli(['package', 'add', 'Flask_SQLAlchemy'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('project flask-sqlalchemy registered on https://pypi.org/simple\n');
    const again = await runCli(['package', 'add', 'flask.sqlalchemy'], env);
    expect(again.stdout).toBe('project flask-sqlalchemy already registered on https://pypi.org/simple\n');
    const badName = await runCli(['package', 'add', 'no spaces allowed'], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('not a valid project name');
    const noIndex = await runCli(['package', 'add', 'requests', '--index', 'https://nowhere.test/simple'], env);
    expect(noIndex.code).toBe(2);
  });
});
