/** `/attention`: the items that failed after their retries, each with Retry and Resolve buttons (POST forms). */
import type { AttentionView } from '../read-model.js';
import { href, html, time, type Html } from './html.js';

function actions(item: AttentionView): Html {
  if (item.resolvedAt !== null) return html`resolved ${time(item.resolvedAt)}`;
  return html`<form class="inline" method="post" action="${href(['attention', String(item.id), 'retry'])}"><button>Retry</button></form>
<form class="inline" method="post" action="${href(['attention', String(item.id), 'resolve'])}"><button>Resolve</button></form>`;
}

export function attentionBody(items: readonly AttentionView[], open: boolean): Html {
  return html`<h1>${open ? 'Needs attention' : 'Resolved items'}</h1>
<p><a href="${open ? '/attention?open=false' : '/attention'}">${open ? 'resolved items' : 'open items'}</a></p>
${items.length === 0 ? html`<p class="muted">${open ? 'nothing needs attention' : 'nothing resolved yet'}</p>` : html`<div class="table"><table>
<thead><tr><th>id</th><th>pipeline</th><th>item</th><th>error</th><th>attempts</th><th>last failed</th><th></th></tr></thead><tbody>
${items.map((item) => html`<tr id="attention-${item.id}"><td>${item.id}</td><td>${item.pipeline}</td><td><code>${item.itemKey}</code></td>
<td><strong>${item.errorCode}</strong><div class="muted">${item.errorMessage}</div></td><td>${item.attempts}</td><td>${time(item.lastFailedAt)}</td><td>${actions(item)}</td></tr>`)}
</tbody></table></div>`}`;
}

export function loginBody(next: string, failed: boolean): Html {
  return html`<h1>Log in</h1>${failed ? html`<p class="error" role="alert">That token does not match.</p>` : ''}
<p>Writes (Retry, Resolve) need the service's <code>PKGSTREAM_ADMIN_TOKEN</code>. It is kept in an HttpOnly cookie for this site only.</p>
<form method="post" action="/login"><input type="hidden" name="next" value="${next}">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required></label> <button>Log in</button></form>`;
}
