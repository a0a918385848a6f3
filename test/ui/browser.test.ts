/**
 * The web UI in Debian's chromium (playwright-core, never a downloaded browser), against the
 * HTTP layer wired with the real store on the test database and the local index peer.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttention } from '../../src/db/attention.js';
import { REPO_ROOT, runsWith } from '../support/tools.js';
import { ADMIN_TOKEN, startTestService, type TestService } from '../http/support/service.js';

const OUTPUT = join(REPO_ROOT, 'test/output/ui');
// Already PEP 503 canonical (lowercase, no '-', '_' or '.'), so the page finds it by this name.
const EVIL = '<script>pwned=1</script>';

describe.skipIf(!runsWith('chromium'))('web UI in chromium', () => {
  let service: TestService;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    service = await startTestService();
    service.index.addRelease('demo-pkg', '1.0');
    service.index.addRelease('demo-pkg', '1.1');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await fetch(`${service.base}/api/v1/projects/demo-pkg/check`, { method: 'POST', headers: auth })).status).toBe(404);
    await service.database.pool.query("INSERT INTO package_project (index_id, project) SELECT id, 'demo-pkg' FROM package_index WHERE simple_url = $1", [service.simpleUrl]);
    expect((await fetch(`${service.base}/api/v1/projects/demo-pkg/check`, { method: 'POST', headers: auth })).status).toBe(200);
    // A name from outside holding markup: stored as it came, shown as text.
    await service.database.pool.query('INSERT INTO package_project (index_id, project) SELECT id, $2 FROM package_index WHERE simple_url = $1', [service.simpleUrl, EVIL]);
    profile = mkdtempSync(join(tmpdir(), 'pkgstream-chromium-'));
    // A fresh profile (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the overview with the index, the pipelines and today’s changes', async () => {
    service.metrics.pipelineUp.set({ pipeline: 'update' }, 1);
    service.metrics.scanRowsDue.set({ pipeline: 'update' }, 200);
    service.metrics.scanRowsDone.set({ pipeline: 'update' }, 50);
    await page.goto(`${service.base}/`);
    await expect(page.title()).resolves.toBe('Overview · pkgstream');
    expect(await page.locator('main').innerText()).toContain(service.simpleUrl);
    expect(await page.locator('progress').first().getAttribute('value')).toBe('50');
    expect(await page.locator('main').innerText()).toContain('package-released: 2');
    await page.screenshot({ path: join(OUTPUT, 'overview.png'), fullPage: true });
  });

  it('searches a project, opens its page and sees a digest, then the history after a hash change', async () => {
    await page.goto(`${service.base}/`);
    await page.fill('input[name=q]', 'Demo_');
    await page.click('header button:has-text("Search")');
    await page.click('a:has-text("demo-pkg")');
    expect(page.url()).toContain('/projects/demo-pkg');
    const detail = (await (await fetch(`${service.base}/api/v1/projects/demo-pkg`)).json()) as { releases: { version: string; digests: { filename: string; sha256: string }[] }[] };
    const digest = detail.releases.find((release) => release.version === '1.0')!.digests[0]!;
    expect(await page.locator('main').innerText()).toContain(digest.sha256);

    // The index now serves another file under the same name: an update check finds it.
    const changed = 'a'.repeat(64);
    service.index.setSha('demo-pkg', '1.0', digest.filename, changed);
    expect((await fetch(`${service.base}/api/v1/projects/demo-pkg/check`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    await page.reload();
    const text = await page.locator('main').innerText();
    expect(text).toContain(changed);
    expect(text).toContain('hash-changed');
    expect(text).toMatch(/hash-mismatch 1\.0/);
    await page.screenshot({ path: join(OUTPUT, 'project.png'), fullPage: true });
    await page.click('a:has-text("1.0")');
    expect(await page.locator('main').innerText()).toContain('missing_from_source');
  });

  it('logs in through the form, presses Retry on an attention item and sees it resolved', async () => {
    const item = await recordAttention(service.database.pool, { pipeline: 'update', itemKey: `${service.simpleUrl}|demo-pkg`, errorCode: 'INDEX_HTTP_5XX', errorMessage: '503 after 5 attempts', attempts: 5 });
    await page.goto(`${service.base}/attention`);
    await page.click(`#attention-${item.id} button:has-text("Retry")`);
    expect(await page.locator('main').innerText()).toContain('401');
    await page.click('main a:has-text("Log in")');
    await page.fill('input[name=token]', 'wrong-token-wrong-token');
    await page.click('main button:has-text("Log in")');
    expect(await page.locator('main').innerText()).toContain('does not match');
    await page.fill('input[name=token]', ADMIN_TOKEN);
    await page.click('main button:has-text("Log in")');
    const cookie = (await browser.cookies()).find((c) => c.name === 'pkgstream_token');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.goto(`${service.base}/attention`);
    await page.click(`#attention-${item.id} button:has-text("Retry")`);
    expect(await page.locator('[role=status]').innerText()).toContain(`item ${item.id} resolved`);
    expect(await page.locator(`#attention-${item.id}`).count()).toBe(0);
    const open = (await (await fetch(`${service.base}/api/v1/attention`)).json()) as { items: unknown[] };
    expect(open.items).toEqual([]);
  });

  it('refuses a form posted from another site even with the cookie', async () => {
    const item = await recordAttention(service.database.pool, { pipeline: 'update', itemKey: `${service.simpleUrl}|other`, errorCode: 'X', errorMessage: 'x', attempts: 1 });
    const response = await fetch(`${service.base}/attention/${item.id}/resolve`, { method: 'POST', headers: { cookie: `pkgstream_token=${ADMIN_TOKEN}`, origin: 'https://evil.test' }, redirect: 'manual' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('cross_site');
  });

  it('shows a project name holding <script> as text, and no script runs', async () => {
    await page.goto(`${service.base}/projects?q=`);
    expect(await page.locator('main').innerText()).toContain(EVIL);
    await page.click(`main a:has-text("pwned")`);
    expect(await page.locator('h1').innerText()).toBe(EVIL);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('main script').count()).toBe(0);
  });
});
