/**
 * How a command reaches its data. The database itself, opened, migrated and closed around
 * the work; or, while a running service holds the embedded data directory (its lock, see
 * db/data-dir-lock.ts), that service's /api/v1, since a second process on the PGlite files
 * would lose its writes. A command the API does not cover just opens the database, which
 * refuses with `DATA_DIR_LOCKED` naming the holder.
 */
import { migrate, openDatabase, readDataDirLock, type DataDirLockInfo, type Database } from '../db/index.js';
import { PkgstreamError } from '../domain/errors.js';
import { ApiError } from '../http/api-error.js';
import { UsageError, type CommandContext } from './command.js';
import { createServiceClient, ServiceError, type ServiceClient } from './service-client.js';

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

export interface DataWays<T> {
  /** Through the running service that holds the data directory. */
  readonly service: (client: ServiceClient) => Promise<T>;
  readonly database: (database: Database) => Promise<T>;
}

/** The service serving its API on the embedded data directory, if one holds it. */
function servingHolder(context: CommandContext): (DataDirLockInfo & { httpUrl: string }) | null {
  if (context.config.databaseUrl) return null;
  const holder = readDataDirLock(context.config.dataDir);
  return holder?.httpUrl === undefined ? null : { ...holder, httpUrl: holder.httpUrl };
}

/**
 * Runs `service` when a service holds the data directory, else `local`. A "not found" or
 * bad input, of either way, is a usage error; the service refusing us (no or a wrong admin
 * token) is a refusal naming it (exit 2).
 */
export async function viaServiceOr<T>(context: CommandContext, service: (client: ServiceClient) => Promise<T>, local: () => Promise<T>): Promise<T> {
  const holder = servingHolder(context);
  try {
    if (holder === null) return await local();
    context.logger.debug({ pid: holder.pid, url: holder.httpUrl }, 'the data directory is held by a running service: through its API');
    return await service(createServiceClient(holder.httpUrl, context.config.adminToken));
  } catch (error) {
    if (error instanceof ServiceError && (error.status === 401 || error.status === 403) && holder !== null) {
      throw new PkgstreamError('DATA_DIR_LOCKED', `the data directory ${context.config.dataDir} is in use by pkgstream pid ${holder.pid}, whose API refused: ${error.message}`);
    }
    if ((error instanceof ApiError || error instanceof ServiceError) && error.status < 500) throw new UsageError(error.message);
    throw error;
  }
}

/** `viaServiceOr` with the database, opened around `ways.database`, as the local way. */
export function withServiceOrDatabase<T>(context: CommandContext, ways: DataWays<T>): Promise<T> {
  return viaServiceOr(context, ways.service, () => withDatabase(context, ways.database));
}
