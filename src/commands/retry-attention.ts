/**
 * An attention item processed again now: a project of the releases or update pipeline is
 * checked as `check` does; a dispatch item has its solver Job scheduled and recorded.
 */
import type { AttentionItem } from '../domain/ports.js';
import { errorCode, errorMessage } from '../domain/errors.js';
import { checkOne, findIndex, type CheckOneResult } from './check-one.js';
import type { PipelineContext } from './pipeline-factories.js';

async function retryDispatch(context: PipelineContext, item: AttentionItem): Promise<CheckOneResult> {
  const [indexUrl = '', project = '', version = '', solver = ''] = item.itemKey.split('|');
  const { adapters } = context;
  const index = await findIndex(adapters, indexUrl);
  const release = index ? await adapters.store.loadRelease(index.id, project, version) : null;
  if (!release) return { ok: false, events: [], detail: `release ${project}==${version} is not known on ${indexUrl}` };
  try {
    const request = { indexUrl, project, version, solver, attempt: item.attempts + 1, ...(solver === 'reverse' ? { template: 'reverse' as const } : {}) };
    const { jobName, outcome } = await adapters.jobs.schedule(request);
    if (outcome !== 'dry-run') await adapters.store.recordScheduled({ releaseId: release.id, solver, jobName });
    return { ok: true, events: [], detail: `Job ${jobName} ${outcome}` };
  } catch (error) {
    return { ok: false, events: [], detail: `${errorCode(error)}: ${errorMessage(error)}` };
  }
}

async function retryProject(context: PipelineContext, item: AttentionItem): Promise<CheckOneResult> {
  const [indexUrl = '', project = ''] = item.itemKey.split('|');
  const index = await findIndex(context.adapters, indexUrl);
  if (!index) return { ok: false, events: [], detail: `no index registered at ${indexUrl}` };
  return checkOne(context, { index, project });
}

export function retryAttentionItem(context: PipelineContext, item: AttentionItem): Promise<CheckOneResult> {
  return item.pipeline === 'dispatch' ? retryDispatch(context, item) : retryProject(context, item);
}
