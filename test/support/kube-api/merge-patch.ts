/** JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as `kubectl patch --type merge|json` sends them. */
import { clone, isRecord, jsonEqual } from './objects.js';
import { textOf } from './text-of.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The parent container and the last token of a JSON pointer; throws when the parent is missing. */
function locate(document: unknown, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  const tokens = pointer.slice(1).split('/').map(unescapeToken);
  const key = tokens.pop() ?? '';
  let parent: unknown = document;
  for (const token of tokens) {
    parent = Array.isArray(parent) ? parent[Number(token)] : isRecord(parent) ? parent[token] : undefined;
    if (parent === undefined) throw new Error(`doc is missing path: ${pointer}`);
  }
  if (!Array.isArray(parent) && !isRecord(parent)) throw new Error(`doc is missing path: ${pointer}`);
  return { parent, key };
}

function read(document: unknown, pointer: string): unknown {
  const { parent, key } = locate(document, pointer);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw new Error(`doc is missing path: ${pointer}`);
  return value;
}

function remove(document: unknown, pointer: string): unknown {
  const value = read(document, pointer);
  const { parent, key } = locate(document, pointer);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}

function add(document: unknown, pointer: string, value: unknown): void {
  const { parent, key } = locate(document, pointer);
  if (!Array.isArray(parent)) parent[key] = clone(value);
  else if (key === '-') parent.push(clone(value));
  else parent.splice(Number(key), 0, clone(value));
}

/** Applies RFC 6902 operations to a copy of `target`; throws on a failed `test` or a missing path. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new Error('a JSON patch must be an array of operations');
  const document = clone(target);
  for (const raw of operations as unknown[]) {
    const op = isRecord(raw) ? raw : {};
    const path = textOf(op.path ?? '');
    switch (op.op) {
      case 'add':
        add(document, path, op.value);
        break;
      case 'remove':
        remove(document, path);
        break;
      case 'replace':
        remove(document, path);
        add(document, path, op.value);
        break;
      case 'move':
        add(document, path, remove(document, String(op.from)));
        break;
      case 'copy':
        add(document, path, read(document, String(op.from)));
        break;
      case 'test':
        if (!jsonEqual(read(document, path), op.value)) throw new Error(`testing value ${path} failed`);
        break;
      default:
        throw new Error(`unexpected kind: ${JSON.stringify(op.op)}`);
    }
  }
  return document;
}
