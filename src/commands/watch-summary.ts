/**
 * What `run` watches, said in its first log lines: one line per enabled index (how it is
 * watched, how many projects it knows), and when nothing can produce a release yet (a
 * fresh database: pypi.org watching its seen projects, of which there are none) how to
 * add projects, so that a first `npm start` that finds nothing says why.
 */
import { listIndexOverviews } from '../db/index-overview.js';
import type { Queryable } from '../db/sql.js';
import type { Logger } from '../runtime/logger.js';

export async function logWatched(db: Queryable, logger: Logger): Promise<void> {
  const indexes = (await listIndexOverviews(db)).filter((index) => index.enabled);
  for (const index of indexes) {
    const how = index.watchMode === 'all' ? 'every project' : `the ${index.projects} project(s) it has seen`;
    const feeds = index.rssUrl === null ? 'no feeds: its known projects are re-read when due' : 'feeds polled';
    logger.info({ index: index.simpleUrl, watchMode: index.watchMode, projects: index.projects }, `watching ${index.simpleUrl}: ${how} (${feeds})`);
  }
  if (!indexes.some((index) => index.watchMode === 'all' || index.projects > 0)) {
    const where = indexes.length === 0 ? 'no index is enabled' : 'no project is known yet';
    logger.warn(
      { indexes: indexes.map((index) => index.simpleUrl) },
      `nothing to watch: ${where}. Add a project with \`pkgstream package add <name> [--index <simple-url>]\`, or watch every project of an index with \`pkgstream index add <simple-url> [--warehouse] --watch all\``,
    );
  }
}
