/** The event a change of a project's PEP 792 status becomes: about the whole project (no version). */
import type { PackageEvent, PackageIndex, ProjectStatus } from '../domain/types.js';

export function statusChangedEvent(index: PackageIndex, project: string, previous: ProjectStatus, next: ProjectStatus): PackageEvent {
  return {
    kind: 'project-status-changed',
    indexUrl: index.simpleUrl,
    project,
    version: null,
    fields: { old_status: previous.status, new_status: next.status, status_reason: next.reason },
  };
}
