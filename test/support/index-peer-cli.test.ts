/**
 * The index peer as `npm run peers -- index` starts it, asked over HTTP with fetch as any
 * client would: seeded from a file and a generator, `--log` lines, PEP 691 content
 * negotiation (406 when nothing offered is acceptable), Warehouse's serials rising with a
 * release added through the admin route, PEP 700 fields that describe the served bytes, and
 * a PEP 792 status set while it runs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPeersToExit, startPeerProcess, type PeerProcess } from './peers-process.js';

const V1_JSON = 'application/vnd.pypi.simple.v1+json';
const V1_HTML = 'application/vnd.pypi.simple.v1+html';

interface RootListing {
  meta: { 'api-version': string; '_last-serial': number };
  projects: { name: string; '_last-serial': number }[];
}
interface ProjectPage {
  meta: { 'api-version': string; '_last-serial': number };
  name: string;
  'project-status': { status: string; reason?: string };
  versions: string[];
  files: { filename: string; url: string; hashes: { sha256: string }; size: number; 'upload-time': string; yanked: boolean | string }[];
}

const dir = mkdtempSync(join(tmpdir(), 'pkgstream-index-peer-'));
let peer: PeerProcess;
let url: string;

async function getJson<T>(path: string): Promise<{ body: T; serial: string | null; etag: string | null }> {
  const response = await fetch(`${url}${path}`, { headers: { accept: 'application/vnd.pypi.simple.latest+json' } });
  expect(response.status, path).toBe(200);
  return { body: (await response.json()) as T, serial: response.headers.get('x-pypi-last-serial'), etag: response.headers.get('etag') };
}

async function admin(action: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/_admin/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, action).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const projectSerial = (root: RootListing, name: string) => root.projects.find((p) => p.name === name)?.['_last-serial'];

beforeAll(async () => {
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      projects: [
        { name: 'Demo_Pkg', versions: ['1.0', '1.1'] },
        { name: 'other.lib', releases: [{ version: '0.1', yanked: 'broken build' }] },
        { name: 'hidden', versions: ['0.1'], status: 'quarantined', statusReason: 'malware review' },
      ],
    }),
  );
  peer = await startPeerProcess(['index', '--seed', seed, '--projects', '4', '--versions', '3', '--log']);
  url = String(peer.address.url);
}, 120_000);

afterAll(async () => {
  await peer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run peers -- index', () => {
  it('is seeded from the file and the generator, prints its serial, and logs each request', async () => {
    expect(peer.address).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown, projects: 7, releases: 4 + 12 });
    const { body: root, serial } = await getJson<RootListing>('/simple/');
    // The quarantined project is left out of the listing, as on PyPI.
    expect(root.projects).toHaveLength(6);
    expect(root.projects.map((p) => p.name)).toEqual(expect.arrayContaining(['Demo_Pkg', 'other.lib']));
    expect(root.projects.map((p) => p.name)).not.toContain('hidden');
    expect(root.meta['_last-serial']).toBe(peer.address.serial);
    expect(serial).toBe(String(peer.address.serial));
    expect(await peer.untilStderr(/^index: GET \/simple\/ 200$/)).toBe('index: GET /simple/ 200');
    console.log(`peer ${JSON.stringify(peer.address)}; listing ${root.projects.map((p) => `${p.name}@${p['_last-serial']}`).join(' ')}`);
  });

  it('refuses a seed file with a bad field, and --versions without --projects, in one line', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ projects: [{ name: 'ok', versions: ['1.0'] }, { name: '-bad name-' }] }));
    const refused = await runPeersToExit(['index', '--seed', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim()).toBe(`peers index: seed ${bad}: projects[1].name: a valid project name`);
    const usage = await runPeersToExit(['index', '--versions', '3']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: npm run peers -- .*--seed FILE.*--projects N \[--versions M\]/);
  }, 120_000);
});

describe('PEP 691 content negotiation on the CLI-started peer', () => {
  const cases: [accept: string | null, expected: string | 406][] = [
    ['application/vnd.pypi.simple.latest+json', V1_JSON],
    [V1_JSON, V1_JSON],
    ['application/vnd.pypi.simple.latest+html', V1_HTML],
    ['text/html', 'text/html'],
    [null, 'text/html'],
    ['*/*', 'text/html'],
    // pip's own Accept.
    [`${V1_JSON}, ${V1_HTML}; q=0.1, text/html; q=0.01`, V1_JSON],
    [`text/html;q=0.2, ${V1_JSON};q=0.9`, V1_JSON],
    [`${V1_JSON};q=0.1, ${V1_HTML};q=0.5`, V1_HTML],
    [`*/*;q=0.1, ${V1_JSON};q=0`, 'text/html'],
    ['application/json', 406],
    [`text/html;q=0, ${V1_HTML};q=0, ${V1_JSON};q=0`, 406],
  ];
  for (const path of ['/simple/', '/simple/demo-pkg/']) {
    it.each(cases)(`${path} with Accept %s answers %s`, async (accept, expected) => {
      const response = await fetch(`${url}${path}`, { headers: accept === null ? {} : { accept } });
      const text = await response.text();
      expect(response.headers.get('vary')).toBe('Accept');
      if (expected === 406) {
        expect(response.status).toBe(406);
        expect(text).toContain(V1_JSON);
        return;
      }
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')?.split(';')[0]).toBe(expected);
      if (expected === V1_JSON) expect((JSON.parse(text) as { meta: { 'api-version': string } }).meta['api-version']).toBe('1.4');
      else expect(text).toMatch(path === '/simple/' ? /<a href="\/simple\/demo-pkg\/">Demo_Pkg<\/a>/ : /<a href="[^"]+\/demo_pkg-1\.1\.tar\.gz#sha256=[0-9a-f]{64}"/);
    });
  }
});

describe('Warehouse serials, PEP 700 and PEP 792 on the CLI-started peer', () => {
  it('raises the listing, project and page serials when a release is added, and lists its served bytes', async () => {
    const before = await getJson<RootListing>('/simple/');
    const pageBefore = await getJson<ProjectPage>('/simple/demo-pkg/');
    expect(pageBefore.body.meta['_last-serial']).toBe(projectSerial(before.body, 'Demo_Pkg'));
    expect(pageBefore.serial).toBe(String(pageBefore.body.meta['_last-serial']));

    const added = await admin('release', { project: 'demo-pkg', version: '1.2' });
    const after = await getJson<RootListing>('/simple/');
    const page = await getJson<ProjectPage>('/simple/demo-pkg/');
    const rootSerial = after.body.meta['_last-serial'];
    expect(added.serial).toBe(rootSerial);
    expect(rootSerial).toBeGreaterThan(before.body.meta['_last-serial']);
    expect(projectSerial(after.body, 'Demo_Pkg')).toBe(rootSerial);
    expect(page.body.meta['_last-serial']).toBe(rootSerial);
    expect(page.serial).toBe(String(rootSerial));
    expect(after.serial).toBe(String(rootSerial));
    expect(projectSerial(after.body, 'other.lib')).toBe(projectSerial(before.body, 'other.lib'));
    expect(page.etag).not.toBe(pageBefore.etag);
    const html = await fetch(`${url}/simple/demo-pkg/`, { headers: { accept: 'text/html' } });
    expect(html.headers.get('x-pypi-last-serial')).toBe(String(rootSerial));

    // PEP 700: versions, and per file a size and upload time that describe the bytes served.
    expect(page.body.versions).toEqual(['1.0', '1.1', '1.2']);
    const files = page.body.files.filter((f) => f.filename.startsWith('demo_pkg-1.2'));
    expect(files.map((f) => f.filename).sort()).toEqual(['demo_pkg-1.2-py3-none-any.whl', 'demo_pkg-1.2.tar.gz']);
    for (const file of files) {
      const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer());
      expect(file.hashes.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(file.size).toBe(bytes.length);
      expect(file['upload-time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/);
    }
    console.log(`serial ${before.body.meta['_last-serial']} -> ${rootSerial}; demo-pkg ${pageBefore.body.meta['_last-serial']} -> ${page.body.meta['_last-serial']}; files ${files.map((f) => `${f.filename}:${f.size}B`).join(' ')}`);
  });

  it('sets a PEP 792 status while it runs: archived with a reason, quarantined out of the listing and its files gone, active again', async () => {
    const start = (await getJson<RootListing>('/simple/')).body.meta['_last-serial'];
    await admin('status', { project: 'other.lib', status: 'archived', reason: 'moved to other-lib2' });
    const archived = await getJson<ProjectPage>('/simple/other-lib/');
    expect(archived.body['project-status']).toEqual({ status: 'archived', reason: 'moved to other-lib2' });
    expect(archived.body.meta['_last-serial']).toBeGreaterThan(start);
    expect(archived.body.files[0]?.yanked).toBe('broken build');
    const htmlPage = await (await fetch(`${url}/simple/other-lib/`)).text();
    expect(htmlPage).toContain('<meta name="pypi:project-status" content="archived">');

    const fileUrl = archived.body.files[0]?.url ?? '';
    await admin('status', { project: 'other.lib', status: 'quarantined' });
    const quarantined = await getJson<ProjectPage>('/simple/other-lib/');
    expect(quarantined.body['project-status']).toEqual({ status: 'quarantined' });
    expect(quarantined.body.files).toEqual([]);
    expect((await fetch(fileUrl)).status).toBe(404);
    expect((await getJson<RootListing>('/simple/')).body.projects.map((p) => p.name)).not.toContain('other.lib');

    await admin('status', { project: 'other.lib', status: 'active' });
    const active = await getJson<ProjectPage>('/simple/other-lib/');
    expect(active.body['project-status']).toEqual({ status: 'active' });
    expect(active.body.files).toHaveLength(2);
    expect(active.body.meta['_last-serial']).toBe(start + 3);
  });
});
