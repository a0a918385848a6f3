/**
 * The simple API's content negotiation, as Warehouse's `_select_content_type` does it
 * (WebOb's `acceptable_offers` over text/html, v1+html, v1+json): each offer takes the
 * q-value of the most specific range that matches it, q=0 refuses it, the highest q wins
 * and a tie goes to the server's order (HTML first). No Accept gives text/html. An Accept
 * that allows none of them is `null`, answered 406 (PEP 691 allows 406, 300 or a default;
 * Warehouse sends text/html, a stricter peer shows a client's wrong Accept at once).
 * PEP 691's `latest` aliases stand for v1.
 */
export const PEP691_JSON = 'application/vnd.pypi.simple.v1+json';
export const PEP691_HTML = 'application/vnd.pypi.simple.v1+html';
export const TEXT_HTML = 'text/html';

export type SimpleContentType = typeof TEXT_HTML | typeof PEP691_HTML | typeof PEP691_JSON;

const OFFERS: readonly SimpleContentType[] = [TEXT_HTML, PEP691_HTML, PEP691_JSON];

const ALIASES: Readonly<Record<string, SimpleContentType>> = {
  'application/vnd.pypi.simple.latest+json': PEP691_JSON,
  'application/vnd.pypi.simple.latest+html': PEP691_HTML,
};

interface Range {
  readonly type: string;
  readonly q: number;
}

function parseAccept(accept: string): Range[] {
  return accept.split(',').flatMap((part) => {
    const [rawType = '', ...params] = part.split(';').map((s) => s.trim());
    const type = rawType.toLowerCase();
    if (!type) return [];
    const qParam = params.find((p) => /^q\s*=/i.test(p));
    const q = qParam === undefined ? 1 : Number(qParam.slice(qParam.indexOf('=') + 1));
    return [{ type: ALIASES[type] ?? type, q: Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0 }];
  });
}

/** How specifically `range` matches `offer`: 3 exact, 2 `type/*`, 1 `*\/*`, 0 not at all. */
function specificity(range: string, offer: string): number {
  if (range === offer) return 3;
  if (range === '*/*') return 1;
  if (range.endsWith('/*') && offer.startsWith(range.slice(0, -1))) return 2;
  return 0;
}

export function negotiate(accept: string | undefined): SimpleContentType | null {
  if (accept === undefined || accept.trim() === '') return TEXT_HTML;
  const ranges = parseAccept(accept);
  const acceptable = OFFERS.flatMap((offer, order) => {
    let best: Range | null = null;
    let bestSpecificity = 0;
    for (const range of ranges) {
      const s = specificity(range.type, offer);
      if (s > bestSpecificity || (s === bestSpecificity && s > 0 && best !== null && range.q > best.q)) {
        best = range;
        bestSpecificity = s;
      }
    }
    return best && best.q > 0 ? [{ offer, q: best.q, order }] : [];
  });
  acceptable.sort((a, b) => b.q - a.q || a.order - b.order);
  return acceptable[0]?.offer ?? null;
}

/** The types the simple API offers, for a 406's body. */
export const SIMPLE_OFFERS: readonly string[] = [...OFFERS, ...Object.keys(ALIASES)];
