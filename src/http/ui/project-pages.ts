/** `/projects?q=` (search), `/projects/{name}` (a project: releases, digests, history, solver runs), and a release page. */
import type { EventView } from '../../db/events.js';
import type { DigestView, ProjectDetail, ProjectSummary, ReleaseView } from '../../db/project-catalog.js';
import type { ReleaseDetail } from '../read-model.js';
import { badge } from './layout.js';
import { href, html, time, type Html } from './html.js';

export function searchBody(q: string | undefined, items: readonly ProjectSummary[], nextHref: string | null): Html {
  return html`<h1>Projects${q ? html` starting with “${q}”` : ''}</h1>
${items.length === 0 ? html`<p class="muted">no project found</p>` : html`<div class="table"><table><thead><tr><th>project</th><th>index</th><th>releases</th><th>known since</th></tr></thead><tbody>
${items.map((item) => html`<tr><td><a href="${href(['projects', item.project], { index: item.indexUrl })}">${item.project}</a></td><td>${item.indexUrl}</td><td>${item.releases}</td><td>${time(item.addedAt)}</td></tr>`)}
</tbody></table></div>`}
${nextHref ? html`<p><a href="${nextHref}" rel="next">next page</a></p>` : ''}`;
}

function digests(list: readonly DigestView[], all: boolean): Html {
  const shown = all ? list : list.filter((digest) => digest.present);
  if (shown.length === 0) return html`<span class="muted">no digest</span>`;
  return html`${shown.map((digest) => html`<div><span class="muted">${digest.filename}</span>${digest.present ? '' : ' (gone)'}<br><code>${digest.sha256 ?? 'no sha256 given'}</code></div>`)}`;
}

function solverRuns(release: ReleaseView): Html {
  if (release.solverRuns.length === 0) return html`<span class="muted">not solved</span>`;
  return html`${release.solverRuns.map((run) => html`<div>${run.solver}: ${badge(run.state)}</div>`)}`;
}

function releaseRow(detail: ProjectDetail, release: ReleaseView): Html {
  return html`<tr><td><a href="${href(['projects', detail.project, 'releases', release.version], { index: detail.indexUrl })}">${release.version}</a></td>
<td>${badge(release.state)}${release.yankedReason ? html`<div class="muted">${release.yankedReason}</div>` : ''}</td>
<td>${digests(release.digests, false)}</td><td>${time(release.firstSeenAt)}</td><td>${time(release.lastCheckedAt)}</td><td>${time(release.nextDueAt)}</td>
<td>${release.priority ?? html`<span class="muted">due</span>`}</td><td>${solverRuns(release)}</td></tr>`;
}

/** What an event says beyond its kind: the fields of its record other than the envelope's. */
const ENVELOPE = new Set(['component_name', 'service_version', 'version', 'index_url', 'package_name', 'package_version', 'created_at']);

export function timeline(events: readonly EventView[]): Html {
  if (events.length === 0) return html`<p class="muted">no event recorded</p>`;
  return html`<ol class="timeline">${events.map((event) => {
    const fields = Object.entries(event.record).filter(([name]) => !ENVELOPE.has(name));
    return html`<li>${time(event.createdAt)} <strong>${event.kind}</strong> ${event.version ?? ''}${event.solver ? html` (${event.solver})` : ''}
${fields.map(([name, value]) => html`<div class="muted">${name}: <code>${typeof value === 'string' ? value : JSON.stringify(value)}</code></div>`)}</li>`;
  })}</ol>`;
}

export function projectBody(detail: ProjectDetail & { indexes: readonly string[] }, events: readonly EventView[]): Html {
  const others = detail.indexes.filter((url) => url !== detail.indexUrl);
  return html`<h1>${detail.project}</h1><p>on ${detail.indexUrl}${others.length > 0 ? html` · also on ${others.map((url) => html`<a href="${href(['projects', detail.project], { index: url })}">${url}</a> `)}` : ''}</p>
<h2>Releases (${detail.releases.length})</h2>
<div class="table"><table><thead><tr><th>version</th><th>state</th><th>sha256 digests</th><th>first seen</th><th>last checked</th><th>next due</th><th>priority</th><th>solvers</th></tr></thead>
<tbody>${detail.releases.map((release) => releaseRow(detail, release))}</tbody></table></div>
<h2>History</h2>${timeline(events)}`;
}

export function chooseIndexBody(project: string, indexes: readonly string[]): Html {
  return html`<h1>${project}</h1><p>This project is known on several indexes:</p><ul>${indexes.map((url) => html`<li><a href="${href(['projects', project], { index: url })}">${url}</a></li>`)}</ul>`;
}

export function releaseBody(detail: ReleaseDetail): Html {
  const { release } = detail;
  return html`<h1><a href="${href(['projects', detail.project], { index: detail.indexUrl })}">${detail.project}</a> ${release.version}</h1>
<p>${badge(release.state)} on ${detail.indexUrl}${release.yankedReason ? html` · yanked: ${release.yankedReason}` : ''}</p>
<div class="table"><table><tbody>
<tr><th>released</th><td>${time(release.releasedAt)}</td></tr><tr><th>first seen</th><td>${time(release.firstSeenAt)}</td></tr>
<tr><th>last checked</th><td>${time(release.lastCheckedAt)}</td></tr><tr><th>last changed</th><td>${time(release.lastChangedAt)}</td></tr>
<tr><th>next due</th><td>${time(release.nextDueAt)}</td></tr>
<tr><th>priority</th><td>${release.priority ?? 'never checked: due now'} (manual ${release.manualPriority}, static ${release.staticPriority})</td></tr>
<tr><th>sha256 digests</th><td>${digests(release.digests, true)}</td></tr>
<tr><th>solver runs</th><td>${release.solverRuns.length === 0 ? html`<span class="muted">not solved</span>` : release.solverRuns.map((run) => html`<div>${run.solver}: ${badge(run.state)} ${run.jobName ?? ''} attempt ${run.attempts}, scheduled ${time(run.scheduledAt)}, finished ${time(run.finishedAt)}</div>`)}</td></tr>
</tbody></table></div>
<h2>History</h2>${timeline(detail.events)}`;
}
