/**
 * Escape-by-default HTML: `html` is a tagged template whose every interpolated value is
 * escaped unless it is itself `Html` (a fragment made by `html`); arrays are joined, null,
 * undefined and false render nothing. What the pages show comes from outside (project
 * names, versions, yank reasons, error messages), so nothing is ever concatenated raw.
 */
export class Html {
  constructor(readonly text: string) {}
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(typeof value === 'string' ? value : JSON.stringify(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** A path with a query string; every part percent-encoded (then escaped where interpolated). */
export function href(path: readonly string[], query: Readonly<Record<string, string | undefined>> = {}): string {
  const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const text = search.toString();
  return `/${path.map(encodeURIComponent).join('/')}${text === '' ? '' : `?${text}`}`;
}

/** An ISO time as `2026-01-31 12:00:00 UTC` in a <time> element; a dash for none. */
export function time(iso: string | null): Html {
  if (iso === null) return html`<span class="muted">–</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>`;
}
