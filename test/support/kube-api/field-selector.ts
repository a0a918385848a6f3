/**
 * The `fieldSelector=` grammar: `field=value`, `field==value`, `field!=value`, joined by
 * commas. Every resource supports metadata.name and metadata.namespace; others per type.
 */
import type { KubeObject } from './objects.js';

export type FieldSelector = (object: KubeObject) => boolean;

type FieldGetter = (object: KubeObject) => string;

const COMMON: Readonly<Record<string, FieldGetter>> = {
  'metadata.name': (object) => object.metadata.name,
  'metadata.namespace': (object) => object.metadata.namespace,
};

/** Throws `field label not supported: X` (a 400) for a field the resource does not index. */
export function parseFieldSelector(selector: string | null, fields: Readonly<Record<string, FieldGetter>>): FieldSelector {
  const terms = (selector ?? '')
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .map((term) => {
      const match = /^([^=!\s]+)\s*(!=|==|=)\s*(.*)$/.exec(term);
      if (!match) throw new Error(`invalid selector: '${term}'; can't understand '${term}'`);
      const [, field = '', op = '=', value = ''] = match;
      const get = COMMON[field] ?? fields[field];
      if (!get) throw new Error(`field label not supported: ${field}`);
      return { get, negate: op === '!=', value };
    });
  return (object) => terms.every(({ get, negate, value }) => (get(object) === value) !== negate);
}
