/** What a handler answers: a status code, a JSON body and extra headers. */
import type { StatusBody } from './status.js';

export interface Answer {
  readonly code: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export const answer = (code: number, body: unknown, headers?: Record<string, string>): Answer => ({ code, body, ...(headers ? { headers } : {}) });

export const statusAnswer = (status: StatusBody, headers?: Record<string, string>): Answer => answer(status.code, status, headers);
