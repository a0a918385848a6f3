import type { AttentionItem } from '../domain/ports.js';
import { createMetrics } from '../runtime/metrics.js';
import { openAdapters } from './adapters.js';
import { UsageError, type Command, type CommandContext } from './command.js';
import { retryAttentionItem } from './retry-attention.js';
import { withDatabase } from './with-database.js';
import { createPackageStore } from '../sinks/store-sink.js';

function parseId(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`expected an attention id (a whole number), not ${JSON.stringify(value ?? '')}`);
  return Number(value);
}

function row(item: AttentionItem): string {
  return [item.id, item.pipeline, item.itemKey, item.errorCode, `attempts=${item.attempts}`, item.lastFailedAt.toISOString(), item.errorMessage.replace(/\s+/g, ' ')].join('\t');
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
    const items = await withDatabase(context, (database) =>
      createPackageStore(database.pool).listAttention({
        pipeline: context.options.pipeline as string | undefined,
        status: context.options.all === true ? 'all' : 'open',
        limit: 1_000,
      }),
    );
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
    const found = await withDatabase(context, (database) => createPackageStore(database.pool).resolveAttention(id));
    if (!found) throw new UsageError(`no open attention item ${id}`);
    context.out.write(`attention item ${id} resolved\n`);
    return 0;
  },
};

async function retry(context: CommandContext): Promise<number> {
  const all = context.options.all === true;
  if (all === (context.positionals.length === 1)) throw new UsageError('give one attention id or --all');
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
