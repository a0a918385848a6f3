import { attentionView, type AttentionView } from '../http/read-model.js';
import { createMetrics } from '../runtime/metrics.js';
import { openAdapters } from './adapters.js';
import { UsageError, type Command, type CommandContext } from './command.js';
import { retryAttentionItem } from './retry-attention.js';
import { ServiceError, type ServiceClient } from './service-client.js';
import { viaServiceOr, withServiceOrDatabase } from './with-database.js';
import { createPackageStore } from '../sinks/store-sink.js';

const LISTED = 1_000;

function parseId(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`expected an attention id (a whole number), not ${JSON.stringify(value ?? '')}`);
  return Number(value);
}

function row(item: AttentionView): string {
  return [item.id, item.pipeline, item.itemKey, item.errorCode, `attempts=${item.attempts}`, item.lastFailedAt, item.errorMessage.replace(/\s+/g, ' ')].join('\t');
}

const attentionList: Command = {
  words: ['attention', 'list'],
  args: '',
  summary: 'list the items that failed after their retries and wait for a person',
  arity: [0, 0],
  options: {
    pipeline: { type: 'string', help: 'only this pipeline (releases, update, dispatch)' },
    all: { type: 'boolean', help: 'resolved items too' },
  },
  async run(context) {
    const pipeline = context.options.pipeline as string | undefined;
    const all = context.options.all === true;
    const items = await withServiceOrDatabase(context, {
      async service(client) {
        const open = (await client.listAttention({ pipeline, open: true, limit: LISTED })).items;
        return all ? [...open, ...(await client.listAttention({ pipeline, open: false, limit: LISTED })).items] : open;
      },
      async database(database) {
        const found = await createPackageStore(database.pool).listAttention({ pipeline, status: all ? 'all' : 'open', limit: LISTED });
        return found.map(attentionView);
      },
    });
    for (const item of items) context.out.write(`${row(item)}\n`);
    if (items.length === 0) context.out.write('nothing needs attention\n');
    return 0;
  },
};

const attentionResolve: Command = {
  words: ['attention', 'resolve'],
  args: '<id>',
  summary: 'mark an attention item as dealt with',
  arity: [1, 1],
  async run(context) {
    const id = parseId(context.positionals[0]);
    const found = await withServiceOrDatabase(context, {
      service: async (client) => (await client.resolveAttention(id)).resolved,
      database: (database) => createPackageStore(database.pool).resolveAttention(id),
    });
    if (!found) throw new UsageError(`no open attention item ${id}`);
    context.out.write(`attention item ${id} resolved\n`);
    return 0;
  },
};

async function retry(context: CommandContext): Promise<number> {
  const all = context.options.all === true;
  if (all === (context.positionals.length === 1)) throw new UsageError('give one attention id or --all');
  return viaServiceOr(context, (client) => retryThrough(context, client, all), () => retryHere(context, all));
}

/** Retries through the running service: it processes each item and resolves it when done. */
async function retryThrough(context: CommandContext, client: ServiceClient, all: boolean): Promise<number> {
  const ids = all ? (await client.listAttention({ open: true, limit: LISTED })).items.map((item) => item.id) : [parseId(context.positionals[0])];
  let failed = 0;
  for (const id of ids) {
    try {
      context.out.write(`${id}\tresolved\t${(await client.retryAttention(id)).detail}\n`);
    } catch (error) {
      if (!(error instanceof ServiceError && error.code === 'retry_failed')) throw error;
      failed += 1;
      context.out.write(`${id}\tfailed again\t${error.message}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

async function retryHere(context: CommandContext, all: boolean): Promise<number> {
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const adapters = await openAdapters({ config: context.config, logger: context.logger, metrics, dryRun: context.config.dryRun });
  try {
    const items = all
      ? await adapters.store.listAttention({ status: 'open', limit: 10_000 })
      : (await adapters.store.listAttention({ status: 'open', limit: 10_000 })).filter((item) => item.id === parseId(context.positionals[0]));
    if (!all && items.length === 0) throw new UsageError(`no open attention item ${context.positionals[0] ?? ''}`);
    let failed = 0;
    for (const item of items) {
      const result = await retryAttentionItem({ config: context.config, adapters, metrics, logger: context.logger }, item);
      if (result.ok) await adapters.store.resolveAttention(item.id);
      else failed += 1;
      context.out.write(`${item.id}\t${result.ok ? 'resolved' : 'failed again'}\t${result.detail}\n`);
    }
    return failed === 0 ? 0 : 1;
  } finally {
    await adapters.close();
  }
}

const attentionRetry: Command = {
  words: ['attention', 'retry'],
  args: '<id>',
  summary: 'process a failed item again now (or every open one with --all); resolved when it succeeds',
  arity: [0, 1],
  options: { all: { type: 'boolean', help: 'retry every open item' } },
  run: retry,
};

export const attentionCommands: readonly Command[] = [attentionList, attentionRetry, attentionResolve];
