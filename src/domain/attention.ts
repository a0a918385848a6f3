import type { AttentionFailure, AttentionItem } from './ports.js';

/** The open attention item a first failure makes (the store assigns `id`). */
export function newAttentionItem(id: number, failure: AttentionFailure, at: Date = failure.failedAt ?? new Date()): AttentionItem {
  return {
    id,
    pipeline: failure.pipeline,
    itemKey: failure.itemKey,
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
    attempts: failure.attempts ?? 1,
    firstFailedAt: at,
    lastFailedAt: at,
    resolvedAt: null,
    retryRequestedAt: null,
    payload: failure.payload ?? null,
  };
}
