import { migrate, openDatabase, type Database } from '../db/index.js';
import type { CommandContext } from './command.js';

/** Opens the configured database, brings its schema up to date, runs `work`, closes it. */
export async function withDatabase<T>(context: CommandContext, work: (database: Database) => Promise<T>): Promise<T> {
  const { config, logger } = context;
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
  try {
    await migrate(database.pool, logger);
    return await work(database);
  } finally {
    await database.close();
  }
}
