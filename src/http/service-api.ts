/**
 * What the HTTP layer needs from the running service, handed in by the command that wires
 * it (`run`, or a test): the database to read, the store to resolve attention items, and
 * the two actions that process work now (a project check, an attention retry), which the
 * commands build from the same core as `pkgstream check` and `attention retry`.
 */
import type { Registry } from 'prom-client';
import type { PriorityOptions } from '../db/priority.js';
import type { Queryable } from '../db/sql.js';
import type { AttentionItem, PackageStore } from '../domain/ports.js';
import type { PackageEvent, PackageIndex } from '../domain/types.js';
import type { AuthSettings } from './auth.js';

export interface ActionResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly events: readonly PackageEvent[];
}

export interface ServiceActions {
  /** Processes one project now; a dry run writes nothing and returns the events it would produce. */
  check(target: { readonly index: PackageIndex; readonly project: string; readonly dryRun: boolean }): Promise<ActionResult>;
  /** Processes a failed item again (the caller resolves it when ok). */
  retryAttention(item: AttentionItem): Promise<ActionResult>;
}

export interface ServiceApi {
  readonly db: Queryable;
  /** How the service computes due times (the configured recheck interval), to show a release's priority. */
  readonly priority: PriorityOptions;
  readonly store: Pick<PackageStore, 'resolveAttention'>;
  readonly actions: ServiceActions;
  readonly auth: AuthSettings;
  /** The Grafana dashboard the UI links to. */
  readonly grafanaUrl?: string | undefined;
}

export interface HttpContext {
  readonly registry: Registry;
  /** Null while the service is starting (before the database is open). */
  api(): ServiceApi;
}
