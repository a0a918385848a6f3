/**
 * What combined_rate and pypi_day start from: a fresh database holding P projects of the
 * seed's releases on a Warehouse-shaped synthetic index watching every project, its listing
 * serial stored (as the last serial sync left it: the next one reads only what changes), and
 * every request the index sees logged by kind and time.
 */
import { addIndex, saveListingSerial } from '../../src/db/indexes.js';
import { arrivals, type Arrivals } from './arrivals.js';
import { createBenchDatabase, type BenchDatabase } from './database.js';
import { seedReleases } from './seed.js';
import { startSyntheticIndex, type SyntheticIndex } from './synthetic-index.js';
import { SyntheticWarehouse } from './synthetic-warehouse.js';

export interface WarehouseShape {
  readonly prefix: string;
  readonly projects: number;
  readonly versionsPerProject: number;
  /** See SeedShape: absent, every release is due now. */
  readonly dueWithinSeconds?: number;
}

export interface WarehouseBench {
  readonly db: BenchDatabase;
  readonly warehouse: SyntheticWarehouse;
  readonly index: SyntheticIndex;
  readonly indexId: number;
  readonly arrivals: Arrivals;
  stop(): Promise<void>;
}

export async function startWarehouseBench(shape: WarehouseShape): Promise<WarehouseBench> {
  const db = await createBenchDatabase();
  const warehouse = new SyntheticWarehouse(shape.prefix, shape.projects, shape.versionsPerProject);
  const log = arrivals();
  const index = await startSyntheticIndex(shape.versionsPerProject, { warehouse, onArrival: (kind) => log.add(kind) });
  try {
    const { id } = await addIndex(db.pool, { simpleUrl: index.simpleUrl, warehouse: true, watchMode: 'all' });
    await seedReleases(db.pool, { indexId: id, rows: shape.projects * shape.versionsPerProject, versionsPerProject: shape.versionsPerProject, prefix: shape.prefix, ...(shape.dueWithinSeconds === undefined ? {} : { dueWithinSeconds: shape.dueWithinSeconds }) });
    await saveListingSerial(db.pool, id, warehouse.serial);
    return {
      db,
      warehouse,
      index,
      indexId: id,
      arrivals: log,
      async stop() {
        await index.stop();
        await db.close();
      },
    };
  } catch (error) {
    await index.stop();
    await db.close();
    throw error;
  }
}
