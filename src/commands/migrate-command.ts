import { migrate, openDatabase } from '../db/index.js';
import type { Command } from './command.js';

export const migrateCommand: Command = {
  words: ['migrate'],
  args: '',
  summary: 'apply the database migrations that are not applied yet',
  arity: [0, 0],
  async run({ config, logger, out }) {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
    try {
      const { applied } = await migrate(database.pool, logger);
      out.write(applied.length === 0 ? 'schema up to date\n' : `applied ${applied.join(', ')}\n`);
      return 0;
    } finally {
      await database.close();
    }
  },
};
