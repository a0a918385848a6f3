/**
 * The key of a project across indexes (`indexId|project`): the update pass's ledger, the
 * project claims and the claimed scan all name a project by it, so they agree on it.
 */
export const projectKey = (ref: { readonly indexId: number; readonly project: string }): string => `${ref.indexId}|${ref.project}`;
