/**
 * Conditional project pages as a user sees them, against two indexes nobody here tuned for
 * it: the index peer (ETag, If-None-Match) and `python3 -m http.server` (Last-Modified,
 * If-Modified-Since). `once update --all` records the projects; over an unchanged index the
 * next passes send the stored validator for every page and get 304 (no events; counted as
 * `status="304"`); after one project gets a new version, the next pass gets one 200 and
 * records exactly that version. Before, every pass read every page whole (0 conditional).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning } from '../support/cli-service.js';
import { startIndexServer } from '../support/index-server/index.js';
import { sampleSum } from '../support/metrics-text.js';
import { startStaticIndex } from '../support/static-index.js';

const PROJECTS = ['alpha-pkg', 'beta-pkg', 'gamma-pkg'];

/** One page answer the index gave: its status, and whether the request carried a validator (undefined: the index does not log headers). */
interface PageAnswer {
  readonly path: string;
  readonly status: number;
  readonly conditional: boolean | undefined;
}

interface PagePeer {
  readonly simpleUrl: string;
  publish(project: string, version: string): void;
  /** The project-page answers since the previous call. */
  answersSincePrevious(): PageAnswer[];
  stop(): Promise<void>;
}

const isPage = (path: string) => /^\/simple\/[^/]+\/$/.test(path);

async function indexPeer(): Promise<PagePeer> {
  const answered: { path: string; status: number }[] = [];
  const server = await startIndexServer({ onRequest: ({ path, status }) => answered.push({ path, status }) });
  let seen = 0;
  return {
    simpleUrl: `${server.url}/simple`,
    publish: (project, version) => void server.addRelease(project, version),
    answersSincePrevious() {
      const pages = answered.slice(seen).filter(({ path }) => isPage(path));
      seen = answered.length;
      // Each page once per pass: its request is the latest one recorded for its path.
      const sent = (path: string) => [...server.requests].reverse().find((request) => request.path === path)?.headers['if-none-match'];
      return pages.map(({ path, status }) => ({ path, status, conditional: sent(path) !== undefined }));
    },
    stop: () => server.stop(),
  };
}

async function pythonHttpServer(): Promise<PagePeer> {
  const server = await startStaticIndex({ hashes: true });
  let seen = 0;
  return {
    simpleUrl: server.simpleUrl,
    publish: (project, version) => server.addWheel(project, version),
    answersSincePrevious() {
      const pages = server.answers.slice(seen).map(({ request, status }) => ({ path: request.replace(/^GET /, ''), status, conditional: undefined }));
      seen = server.answers.length;
      return pages.filter(({ path }) => isPage(path));
    },
    stop: () => server.stop(),
  };
}

interface Pass {
  readonly rows?: number;
  readonly projects?: number;
  readonly requests?: number;
  readonly events?: number;
}

const passOf = (output: string): Pass | undefined =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Pass & { msg?: string })
    .find((line) => line.msg === 'update pass complete');

afterEach(() => killLeftovers());

describe.each([
  ['the index peer (ETag)', indexPeer],
  ['python3 -m http.server (Last-Modified)', pythonHttpServer],
])('conditional project pages on %s', (_name, startPeer) => {
  let peer: PagePeer;
  let database: CliDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    peer = await startPeer();
    for (const project of PROJECTS) peer.publish(project, '1.0');
    database = await createCliDatabase();
    // Due again a second after each check, so that `run`'s first pass re-checks them all.
    env = { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_RECHECK_INTERVAL: '1' };
    expect((await runCli(['index', 'add', peer.simpleUrl], env)).code).toBe(0);
    await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
    for (const project of PROJECTS) expect((await runCli(['package', 'add', project, '--index', peer.simpleUrl], env)).code).toBe(0);
  });
  afterAll(async () => {
    await database?.close();
    await peer?.stop();
  });

  const updateAll = async (): Promise<Pass> => {
    const result = await runCli(['once', 'update', '--all'], env);
    expect(result.code, result.stderr).toBe(0);
    const pass = passOf(result.stdout + result.stderr);
    expect(pass).toBeDefined();
    return pass!;
  };
  const events = async (): Promise<{ kind: string; project: string; version: string | null }[]> => {
    const listed = await runCli(['events', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    return JSON.parse(listed.stdout) as { kind: string; project: string; version: string | null }[];
  };
  const versionsOf = async (project: string): Promise<string[]> => {
    const shown = await runCli(['package', 'show', project, '--json'], env);
    expect(shown.code, shown.stderr).toBe(0);
    return (JSON.parse(shown.stdout) as { releases: { version: string }[] }).releases.map((release) => release.version).sort();
  };
  const checkTimes = () =>
    database.use(async (pool) =>
      (await pool.query<{ release: string; checked: Date | null; due: Date }>(
        "SELECT project || ' ' || version AS release, last_checked_at AS checked, next_due_at AS due FROM package_version ORDER BY project, version",
      )).rows.map((row) => ({ release: row.release, checked: row.checked?.getTime() ?? null, due: row.due.getTime() })),
    );
  /** Every artifact row with its row version: a rewrite changes xmin even when the values stay. */
  const artifactRows = () =>
    database.use(async (pool) => (await pool.query<Record<string, unknown>>('SELECT a.*, a.xmin::text AS row_version FROM artifact a ORDER BY id')).rows);
  const statuses = (answers: readonly PageAnswer[]) => answers.map((answer) => answer.status);

  it('sends the stored validators, takes a 304 as an unchanged check, and reads a changed page whole', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
    const first = await updateAll();
    const recorded = peer.answersSincePrevious();
    expect(statuses(recorded)).toEqual(PROJECTS.map(() => 200));
    expect(recorded.filter((answer) => answer.conditional === true)).toEqual([]);
    const eventsRecorded = await events();
    expect(eventsRecorded.map((event) => `${event.kind} ${event.project} ${event.version ?? ''}`).sort()).toEqual(PROJECTS.map((project) => `package-released ${project} 1.0`));

    // An unchanged index: every page asked with its validator, every answer a 304, nothing announced;
    // each release's check recorded (check time, next due), no artifact row written.
    const checksBefore = await checkTimes();
    const artifactsBefore = await artifactRows();
    const unchanged = await updateAll();
    const checksAfter = await checkTimes();
    expect(checksAfter.map((row) => row.release)).toEqual(checksBefore.map((row) => row.release));
    checksAfter.forEach((row, i) => {
      // A release recorded by the first pass has not been checked yet (null).
      expect(row.checked).toBeGreaterThan(checksBefore[i]!.checked ?? 0);
      expect(row.due).toBeGreaterThan(checksBefore[i]!.due);
    });
    expect(await artifactRows()).toEqual(artifactsBefore);
    const revalidated = peer.answersSincePrevious();
    expect(unchanged).toMatchObject({ projects: PROJECTS.length, requests: PROJECTS.length, events: 0 });
    expect(revalidated.map((answer) => answer.path).sort()).toEqual(PROJECTS.map((project) => `/simple/${project}/`));
    expect(statuses(revalidated)).toEqual(PROJECTS.map(() => 304));
    expect(revalidated.filter((answer) => answer.conditional === false)).toEqual([]);
    expect(await events()).toEqual(eventsRecorded);

    // The same through `run`, scraped: the 304s are their own status on the requests counter.
    await database.use((pool) => until('every release due', async () => (await pool.query('SELECT 1 FROM package_version WHERE next_due_at > now()')).rowCount === 0, 10_000, 100));
    const running = startRunning(['run'], { ...env, PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'update' });
    const runPass = await running.log((line) => line.msg === 'update pass complete');
    const scrape = await running.metrics();
    expect((await running.terminate()).code).toBe(0);
    const scraped304 = sampleSum(scrape, 'pkgstream_index_requests_total', { route: 'project', status: '304' });
    const scraped2xx = sampleSum(scrape, 'pkgstream_index_requests_total', { route: 'project', status: '2xx' });
    expect(runPass).toMatchObject({ projects: PROJECTS.length, events: 0 });
    expect(statuses(peer.answersSincePrevious())).toEqual(PROJECTS.map(() => 304));
    expect({ scraped304, scraped2xx }).toEqual({ scraped304: PROJECTS.length, scraped2xx: 0 });
    expect(await events()).toEqual(eventsRecorded);

    // One project changes: one page read whole, exactly its new version recorded and announced.
    peer.publish('beta-pkg', '2.0');
    const changed = await updateAll();
    const afterChange = peer.answersSincePrevious();
    expect(afterChange.filter((answer) => answer.status === 200).map((answer) => answer.path)).toEqual(['/simple/beta-pkg/']);
    expect(afterChange.filter((answer) => answer.status === 304)).toHaveLength(PROJECTS.length - 1);
    expect(await versionsOf('beta-pkg')).toEqual(['1.0', '2.0']);
    const newEvents = (await events()).slice(0, -eventsRecorded.length);
    expect(newEvents.map((event) => `${event.kind} ${event.project} ${event.version ?? ''}`)).toEqual(['package-released beta-pkg 2.0']);
    expect(changed).toMatchObject({ projects: PROJECTS.length, requests: PROJECTS.length, events: 1 });
    console.info(
      `[cli/conditional-pages] ${_name}: pass 1 ${JSON.stringify(statuses(recorded))}, pass 2 ${JSON.stringify(statuses(revalidated))} ` +
        `(conditional: ${revalidated.filter((answer) => answer.conditional).length}/${revalidated.length}${revalidated[0]?.conditional === undefined ? ', headers not logged' : ''}), ` +
        `run scrape status="304" ${scraped304} 2xx ${scraped2xx}, after one change ${JSON.stringify(statuses(afterChange))}; first pass ${JSON.stringify(first)}`,
    );
  });

  it('asks for a page whole when its stored state is incomplete (no release recorded), whatever validators are stored', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
    const stored = await database.use(async (pool) => {
      await pool.query("DELETE FROM package_version WHERE project = 'gamma-pkg'");
      const { rows } = await pool.query<{ etag: string | null; modified: string | null }>(
        "SELECT page_etag AS etag, page_last_modified AS modified FROM package_project WHERE project = 'gamma-pkg'",
      );
      return rows[0];
    });
    expect(stored?.etag ?? stored?.modified).toEqual(expect.any(String));
    peer.answersSincePrevious();
    await updateAll();
    const gamma = peer.answersSincePrevious().filter((answer) => answer.path === '/simple/gamma-pkg/');
    // A 200 from an unchanged page: the request carried no validator (python would have said 304).
    expect(gamma.map((answer) => answer.status)).toEqual([200]);
    expect(gamma[0]?.conditional).not.toBe(true);
    expect(await versionsOf('gamma-pkg')).toEqual(['1.0']);

    // `check` shows the real page: it never sends the stored validators.
    const checked = await runCli(['check', 'alpha-pkg', '--index', peer.simpleUrl], env);
    expect(checked.code, checked.stderr).toBe(0);
    const alpha = peer.answersSincePrevious();
    expect(alpha.map((answer) => `${answer.status} ${answer.path}`)).toEqual(['200 /simple/alpha-pkg/']);
    expect(alpha[0]?.conditional).not.toBe(true);
  });
});
