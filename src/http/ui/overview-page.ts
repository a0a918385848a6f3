/** `/`: the indexes and their feed health, the pipelines with their current pass, today's changes, open attention items. */
import type { AttentionView } from '../read-model.js';
import type { FeedHealth, PipelineView } from '../metric-readings.js';
import type { IndexOverview } from '../../db/index-overview.js';
import { badge } from './layout.js';
import { href, html, time, type Html } from './html.js';

export interface OverviewData {
  readonly indexes: readonly (IndexOverview & FeedHealth)[];
  readonly pipelines: readonly PipelineView[];
  readonly today: Readonly<Record<string, number>>;
  readonly attention: readonly AttentionView[];
  readonly grafanaUrl?: string | undefined;
}

function indexRow(index: IndexOverview & FeedHealth): Html {
  const errors = index.polls.error ?? 0;
  const polls = Object.values(index.polls).reduce((sum, n) => sum + n, 0);
  return html`<tr><td><a href="${href(['projects'], { index: index.simpleUrl })}">${index.simpleUrl}</a></td>
<td>${index.watchMode}</td><td>${index.enabled ? 'yes' : html`<span class="muted">no</span>`}</td>
<td>${index.projects}</td><td>${index.releases}</td>
<td>${index.feeds.length === 0 ? html`<span class="muted">no checkpoint</span>` : index.feeds.map((feed) => html`<div>${feed.feed}: ${time(feed.updatedAt)}</div>`)}</td>
<td>${polls} polls${errors > 0 ? html`, <span class="error">${errors} failed</span>` : ''}${index.gaps > 0 ? html`, <span class="yanked">${index.gaps} gap(s)</span>` : ''}</td></tr>`;
}

function pipelineRow(pipeline: PipelineView): Html {
  const pass = pipeline.currentPass;
  const progress = pass
    ? html`<progress value="${pass.rowsDone}" max="${Math.max(pass.rowsDue, pass.rowsDone, 1)}"></progress> ${pass.rowsDone} / ${pass.rowsDue} rows${pass.rate === null ? '' : html`, ${pass.rate.toFixed(1)}/s`}${pass.etaSeconds === null ? '' : html`, ${Math.round(pass.etaSeconds)} s left`}`
    : html`<span class="muted">no pass running</span>`;
  return html`<tr><td>${pipeline.name}</td><td>${badge(pipeline.state)}</td><td>${progress}</td><td>${time(pipeline.lastSuccessfulPassAt)}</td></tr>`;
}

export function overviewBody(data: OverviewData): Html {
  const today = Object.entries(data.today);
  return html`<h1>Overview</h1>
${data.grafanaUrl ? html`<p><a href="${data.grafanaUrl}" rel="noopener">Grafana dashboard</a></p>` : ''}
<h2>Indexes</h2><div class="table"><table><thead><tr><th>index</th><th>watch</th><th>enabled</th><th>projects</th><th>releases</th><th>feed checkpoints</th><th>feed health</th></tr></thead>
<tbody>${data.indexes.map(indexRow)}</tbody></table></div>
<h2>Pipelines</h2><div class="table"><table><thead><tr><th>pipeline</th><th>state</th><th>current pass</th><th>last successful pass</th></tr></thead>
<tbody>${data.pipelines.map(pipelineRow)}</tbody></table></div>
<h2>Changes found today</h2>
${today.length === 0 ? html`<p class="muted">none yet</p>` : html`<ul>${today.map(([kind, count]) => html`<li><a href="${href(['events'], { kind, since: '24h' })}">${kind}</a>: ${count}</li>`)}</ul>`}
<h2>Needs attention</h2>
${data.attention.length === 0
    ? html`<p class="muted">nothing needs attention</p>`
    : html`<ul>${data.attention.map((item) => html`<li>${item.pipeline}: <code>${item.itemKey}</code> ${item.errorCode}</li>`)}</ul><p><a href="/attention">the attention queue</a></p>`}`;
}
