/** The page shell every UI page shares: navigation, search box, login state, Grafana link, flash message. */
import type { ApiError } from '../api-error.js';
import { html, type Html } from './html.js';

export interface PageOptions {
  readonly title: string;
  readonly body: Html;
  readonly grafanaUrl?: string | undefined;
  readonly loggedIn?: boolean;
  /** A one-line message shown above the content (the outcome of a form). */
  readonly flash?: string | undefined;
  readonly q?: string | undefined;
}

export function page(options: PageOptions): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · pkgstream</title><link rel="stylesheet" href="/ui.css"></head>
<body><header><strong><a href="/">pkgstream</a></strong>
<a href="/projects">Projects</a> <a href="/attention">Attention</a>
${options.grafanaUrl ? html`<a href="${options.grafanaUrl}" rel="noopener">Grafana</a>` : ''}
${options.loggedIn
    ? html`<form class="inline" method="post" action="/logout"><button>Log out</button></form>`
    : html`<a href="/login">Log in</a>`}
<form method="get" action="/projects" role="search"><input name="q" value="${options.q ?? ''}" placeholder="project name" aria-label="project name"><button>Search</button></form>
</header><main>${options.flash ? html`<p class="flash" role="status">${options.flash}</p>` : ''}${options.body}</main></body></html>`;
}

export function errorPage(error: ApiError, grafanaUrl: string | undefined): Html {
  const login = error.status === 401 || error.code === 'forbidden' ? html`<p><a href="/login">Log in</a> with the admin token.</p>` : '';
  return page({ title: `${error.status}`, grafanaUrl, body: html`<h1>${error.status}: ${error.code}</h1><p>${error.message}</p>${login}` });
}

export function badge(state: string): Html {
  return html`<span class="badge ${state}">${state}</span>`;
}
