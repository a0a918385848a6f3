/** Housekeeping a server's autovacuum does by itself, and an embedded PGlite does not. */
import type { Queryable } from './sql.js';

export const SCANNED_TABLES = ['package_version', 'artifact', 'solver_run', 'package_project'] as const;

/** Refreshes the planner's statistics of the given tables (default: every scanned table). */
export async function analyzeTables(
  db: Queryable,
  tables: readonly (typeof SCANNED_TABLES)[number][] = SCANNED_TABLES,
): Promise<void> {
  if (tables.length === 0) return;
  await db.query(`ANALYZE ${tables.join(', ')}`);
}
