/** Reading request bodies (JSON or YAML, as the API server accepts) and writing answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { decodeSelfSubjectAccessReview } from './protobuf.js';
import { failure, type StatusBody } from './status.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: StatusBody, headers: Record<string, string> = {}): void {
  sendJson(res, status.code, status, headers);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Thrown for a body the server cannot decode; carries the Status to answer with. */
export class BadBody extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message);
  }
}

const YAML_TYPES = new Set(['application/yaml', 'application/apply-patch+yaml']);
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', '']);

/** The media type of the body, without parameters. */
export function contentTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The decoded body: YAML for YAML media types, JSON otherwise (protobuf only for access reviews); 415 for anything else. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const type = contentTypeOf(req);
  const raw = await readBytes(req);
  if (type === PROTOBUF) {
    try {
      return decodeSelfSubjectAccessReview(raw);
    } catch (error) {
      throw new BadBody(failure(415, `the body of the request was in an unknown format: ${(error as Error).message}`));
    }
  }
  const text = raw.toString('utf8');
  if (!YAML_TYPES.has(type) && !JSON_TYPES.has(type)) {
    throw new BadBody(failure(415, `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`));
  }
  try {
    return YAML_TYPES.has(type) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    throw new BadBody(failure(400, `the request body could not be decoded as ${YAML_TYPES.has(type) ? 'YAML' : 'JSON'}: ${(error as Error).message}`));
  }
}
