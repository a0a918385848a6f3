/**
 * One project (or one release) processed now, outside the schedule: its page read through
 * the same retried fetcher and the process's one rate-limited client the pipelines use, then the update pipeline's
 * check (state changes and new releases). Shared by `check` and `attention retry`.
 */
import { asyncScheduler, lastValueFrom } from 'rxjs';
import { errorCode, errorMessage } from '../domain/errors.js';
import type { PackageEvent, PackageIndex } from '../domain/types.js';
import { createProjectFetcher } from '../pipelines/project-fetcher.js';
import { checkProject } from '../pipelines/update-project.js';
import type { Adapters } from './adapters.js';
import { INDEX_RETRY, type PipelineContext } from './pipeline-factories.js';

export interface CheckOneResult {
  readonly ok: boolean;
  readonly events: readonly PackageEvent[];
  readonly detail: string;
}

export async function findIndex(adapters: Adapters, simpleUrl: string): Promise<PackageIndex | undefined> {
  return (await adapters.store.listIndexes()).find((index) => index.simpleUrl === simpleUrl);
}

export async function checkOne(
  context: PipelineContext,
  target: { readonly index: PackageIndex; readonly project: string; readonly version?: string },
): Promise<CheckOneResult> {
  const { config, adapters } = context;
  const fetcher = createProjectFetcher(adapters.index.forPipeline('check'), { retry: INDEX_RETRY, scheduler: asyncScheduler });
  const outcome = await lastValueFrom(fetcher.fetch({ index: target.index, project: target.project }));
  if (!outcome.ok) {
    const message = errorMessage(outcome.error);
    return { ok: false, events: [], detail: `${errorCode(outcome.error)}: ${message} (after ${outcome.attempts} attempts)` };
  }
  const result = await checkProject(
    { store: adapters.store },
    {
      index: target.index,
      project: target.project,
      page: outcome.value,
      checkedAt: new Date(),
      triggers: new Set(config.releaseTriggers),
      ...(target.version === undefined ? {} : { version: target.version }),
    },
  );
  const found = outcome.value === 'not-found' ? 'project not on the index' : `${result.releases} known release(s) checked, ${result.recorded.length} new`;
  return { ok: true, events: result.events, detail: `${found}, ${result.events.length} event(s)` };
}
