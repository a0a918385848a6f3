/**
 * PEP 792 project status markers. A project always has exactly one; a page that names none
 * means `active`. The PEP defines these four and no rule for others: a marker outside them
 * is unreadable input, not a guess (a future marker may mean anything, quarantine included).
 */
import type { ProjectStatusName } from './types.js';

export const PROJECT_STATUSES: readonly ProjectStatusName[] = ['active', 'archived', 'quarantined', 'deprecated'];

export const ACTIVE: { readonly status: 'active'; readonly reason: null } = { status: 'active', reason: null };

export function isProjectStatusName(value: unknown): value is ProjectStatusName {
  return typeof value === 'string' && (PROJECT_STATUSES as readonly string[]).includes(value);
}
