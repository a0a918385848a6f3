/**
 * The label selector grammar of the Kubernetes API (`labelSelector=` query parameter):
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist),
 * requirements joined by commas, all of which must hold.
 */
export type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

export type LabelSelector = (labels: Readonly<Record<string, string>> | undefined) => boolean;

/** Splits on commas that are not inside `( … )`. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function parseRequirement(text: string): Requirement {
  const setMatch = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (setMatch) {
    const [, key = '', op = 'in', list = ''] = setMatch;
    const values = list.split(',').map((value) => value.trim()).filter((value) => value !== '');
    return { op: op === 'in' ? 'in' : 'notin', key, values };
  }
  const neq = /^([^\s!=()]+)\s*!=\s*([^\s!=()]*)$/.exec(text);
  if (neq) return { op: 'neq', key: neq[1] ?? '', value: neq[2] ?? '' };
  const eq = /^([^\s!=()]+)\s*==?\s*([^\s!=()]*)$/.exec(text);
  if (eq) return { op: 'eq', key: eq[1] ?? '', value: eq[2] ?? '' };
  const absent = /^!\s*([^\s!=()]+)$/.exec(text);
  if (absent) return { op: 'absent', key: absent[1] ?? '' };
  if (/^[^\s!=()]+$/.test(text)) return { op: 'exists', key: text };
  throw new Error(`unable to parse requirement: ${JSON.stringify(text)}`);
}

export function parseRequirements(selector: string): Requirement[] {
  return splitRequirements(selector).map(parseRequirement);
}

function matches(requirement: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  switch (requirement.op) {
    case 'eq':
      return has && value === requirement.value;
    case 'neq':
      return !has || value !== requirement.value;
    case 'in':
      return has && value !== undefined && requirement.values.includes(value);
    case 'notin':
      return !has || value === undefined || !requirement.values.includes(value);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Throws on a selector that does not parse (the server answers 400 BadRequest). */
export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  const requirements = selector ? parseRequirements(selector) : [];
  return (labels) => requirements.every((requirement) => matches(requirement, labels ?? {}));
}
