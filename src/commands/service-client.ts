/**
 * The API client a command uses when a service already runs on the same data directory:
 * the same reads and writes as over the database, through the running service's
 * `/api/v1` at `baseUrl`. An error answer becomes a ServiceError with the API's code and message.
 */
import type { EventView } from '../db/events.js';
import type { IndexOverview } from '../db/index-overview.js';
import type { ProjectDetail, ProjectSummary } from '../db/project-catalog.js';
import type { AttentionView } from '../http/read-model.js';

export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

type Query = Readonly<Record<string, string | undefined>>;

export interface ServiceClient {
  listIndexes(): Promise<{ items: IndexOverview[] }>;
  listProjects(query: { q?: string; index?: string; cursor?: string }): Promise<{ items: ProjectSummary[]; next: string | null }>;
  addProject(name: string, index: string): Promise<{ project: string; index: string; added: boolean }>;
  showProject(name: string, index?: string): Promise<ProjectDetail & { indexes: string[] }>;
  listEvents(query: { project?: string; kind?: string; since?: string; cursor?: string }): Promise<{ items: EventView[]; next: string | null }>;
  listAttention(query: { pipeline?: string; open?: boolean; limit?: number }): Promise<{ items: AttentionView[] }>;
  retryAttention(id: number): Promise<{ id: number; resolved: boolean; detail: string }>;
  resolveAttention(id: number): Promise<{ id: number; resolved: boolean }>;
  check(name: string, options: { index?: string; dryRun?: boolean }): Promise<{ project: string; index: string; detail: string; events: unknown[] }>;
}

export function createServiceClient(baseUrl: string, token?: string): ServiceClient {
  const call = async <T>(method: 'GET' | 'POST', path: string, query: Query = {}): Promise<T> => {
    const url = new URL(`/api/v1/${path}`, baseUrl);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const response = await fetch(url, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!response.ok) {
      throw new ServiceError(response.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `the service answered ${response.status}`);
    }
    return body as T;
  };
  const name = encodeURIComponent;
  return {
    listIndexes: () => call('GET', 'indexes'),
    listProjects: (query) => call('GET', 'projects', query),
    addProject: (project, index) => call('POST', `projects/${name(project)}`, { index }),
    showProject: (project, index) => call('GET', `projects/${name(project)}`, { index }),
    listEvents: (query) => call('GET', 'events', query),
    listAttention: (query) =>
      call('GET', 'attention', { pipeline: query.pipeline, open: query.open === undefined ? undefined : String(query.open), limit: query.limit === undefined ? undefined : String(query.limit) }),
    retryAttention: (id) => call('POST', `attention/${id}/retry`),
    resolveAttention: (id) => call('POST', `attention/${id}/resolve`),
    check: (project, options) => call('POST', `projects/${name(project)}/check`, { index: options.index, dry_run: options.dryRun === undefined ? undefined : String(options.dryRun) }),
  };
}
